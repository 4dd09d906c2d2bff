// SPDX-License-Identifier: GPL-2.0
/*
 * gwake: per-thread wake words behind /dev/gwake.
 *
 * Module init and exit only; the ABI is include/uapi/linux/gwake.h, the
 * design and the locking rules are at the top of gwake.h.
 *
 * Order: the registration table and its exit hooks come up first, so no
 * registration can exist without its thread-exit probe; then the netlink
 * family, which only reports; the device comes last. Nothing can fail
 * after misc_register(): from that moment a thread may open the device and
 * register, and a module whose init fails is freed at once, open files or
 * not (try_module_get() succeeds while init still runs). Exit goes in
 * reverse. The module cannot be unloaded while a file of the device is
 * open or a netlink dump is running (both hold a module reference), so at
 * exit every registration has been removed and only its RCU-deferred free
 * may still be pending; gwake_reg_exit() waits. Statistics (stats.c) are
 * static per-CPU data and need no setup.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "gwake.h"

/*
 * For the selftests only (selftests/module_test.c): the init step of this
 * number fails with -ENOMEM instead of running, after the steps before it
 * came up, so that each unwinding path is exercised: 1 the registration
 * table, 2 the netlink family, 3 the device. 0, the default, fails none.
 * Not visible in sysfs: it means nothing once the module is loaded.
 */
static unsigned int fail_init;
module_param(fail_init, uint, 0);
MODULE_PARM_DESC(fail_init, "testing only: make init step N (1 reg, 2 genl, 3 dev) fail");

static int __init gwake_init_step(unsigned int step, int (*init)(void))
{
	if (fail_init == step) {
		pr_info("gwake: init step %u fails on request (fail_init)\n", step);
		return -ENOMEM;
	}
	return init();
}

static int __init gwake_init(void)
{
	int ret;

	ret = gwake_init_step(1, gwake_reg_init);
	if (ret)
		return ret;
	ret = gwake_init_step(2, gwake_genl_init);
	if (ret)
		goto err_reg;
	ret = gwake_init_step(3, gwake_dev_init);
	if (ret)
		goto err_genl;
	return 0;

err_genl:
	gwake_genl_exit();
err_reg:
	gwake_reg_exit();
	return ret;
}

static void __exit gwake_exit(void)
{
	gwake_dev_exit();
	gwake_genl_exit();
	gwake_reg_exit();
}

module_init(gwake_init);
module_exit(gwake_exit);

MODULE_DESCRIPTION("gwake: per-thread wake words (GetG/BlockG/WakeG) for userspace runtimes");
MODULE_AUTHOR("The gwake developers");
MODULE_LICENSE("GPL");
