// SPDX-License-Identifier: GPL-2.0
/*
 * gwake: per-thread wake words behind /dev/gwake.
 *
 * Module init and exit only; the ABI is include/uapi/linux/gwake.h, the
 * design and the locking rules are at the top of gwake.h.
 *
 * Order: the registration table and its exit hooks come up before the
 * device, so no registration can exist without its thread-exit probe, and
 * go down after it. The netlink family, which only reports on the other
 * two, comes up last and goes down first. The module cannot be unloaded
 * while a file of the device is open or a netlink dump is running (both
 * hold a module reference), so at exit every registration has been
 * removed and only its RCU-deferred free may still be pending;
 * gwake_reg_exit() waits. Statistics (stats.c) are static per-CPU data
 * and need no setup.
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
	if (ret)
		goto err_reg;
	ret = gwake_genl_init();
	if (ret)
		goto err_dev;
	return 0;

err_dev:
	gwake_dev_exit();
err_reg:
	gwake_reg_exit();
	return ret;
}

static void __exit gwake_exit(void)
{
	gwake_genl_exit();
	gwake_dev_exit();
	gwake_reg_exit();
}

module_init(gwake_init);
module_exit(gwake_exit);

MODULE_DESCRIPTION("gwake: per-thread wake words (GetG/BlockG/WakeG) for userspace runtimes");
MODULE_AUTHOR("The gwake developers");
MODULE_LICENSE("GPL");
