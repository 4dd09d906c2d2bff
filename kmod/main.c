// SPDX-License-Identifier: GPL-2.0
/*
 * gwake: per-thread wake words behind /dev/gwake.
 *
 * Module init and exit only; the ABI is include/uapi/linux/gwake.h, the
 * design and the locking rules are at the top of gwake.h.
 *
 * Order: the registration table and its exit hooks come up before the
 * device, so no registration can exist without its thread-exit probe, and
 * go down after it. The module cannot be unloaded while a file of the
 * device is open, so at exit every registration has been removed and only
 * its RCU-deferred free may still be pending; gwake_reg_exit() waits.
 */
#include <linux/init.h>
#include <linux/module.h>

#include "gwake.h"

static int __init gwake_init(void)
{
	int ret;

	ret = gwake_reg_init();
	if (ret)
		return ret;
	ret = gwake_dev_init();
	if (ret) {
		gwake_reg_exit();
		return ret;
	}
	return 0;
}

static void __exit gwake_exit(void)
{
	gwake_dev_exit();
	gwake_reg_exit();
}

module_init(gwake_init);
module_exit(gwake_exit);

MODULE_DESCRIPTION("gwake: per-thread wake words (GetG/BlockG/WakeG) for userspace runtimes");
MODULE_AUTHOR("The gwake developers");
MODULE_LICENSE("GPL");
