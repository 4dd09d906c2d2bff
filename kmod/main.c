// SPDX-License-Identifier: GPL-2.0
/*
 * gwake: per-thread wake words behind /dev/gwake.
 *
 * Module init and exit only; the ABI is include/uapi/linux/gwake.h, the
 * design and the locking rules are at the top of gwake.h.
 *
 * Order, and why. A module whose init fails is freed at once, whatever
 * references userspace took meanwhile (try_module_get() succeeds while
 * init runs), so once userspace can hold on to something of the module,
 * no later step may fail:
 *
 *  1. the registration table and its exit hooks, so that no registration
 *     can exist without its thread-exit probe;
 *  2. the device, which refuses every open until the module is live
 *     (gwake_dev_open()): a thread cannot get a file, let alone register,
 *     before init has succeeded. misc_open() calls our open under
 *     misc_mtx, which misc_deregister() takes, so after an unwinding
 *     misc_deregister() no open is inside the module; only the refused
 *     open's fops_put() may still run, a few instructions later;
 *  3. the netlink family, last: the genl core lets any user start a dump
 *     of the family's policy (CTRL_CMD_GETPOLICY) that holds a module
 *     reference and pointers into the family for as long as the user
 *     does not read it, and genl_unregister_family() does not wait for
 *     it. Nothing fails after genl_register_family().
 *
 * Exit goes in reverse. The module cannot be unloaded while a file of the
 * device is open or a netlink dump is running (both hold a module
 * reference), so at exit every registration has been removed and only its
 * RCU-deferred free may still be pending; gwake_reg_exit() waits.
 * Statistics (stats.c) are static per-CPU data and need no setup.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/moduleparam.h>

#include "gwake.h"

/*
 * For the selftests only (selftests/module_test.c): the init step of this
 * number fails with -ENOMEM instead of running, after the steps before it
 * came up, so that each unwinding path is exercised: 1 the registration
 * table, 2 the device, 3 the netlink family. 0, the default, fails none.
 * Not visible in sysfs: it means nothing once the module is loaded.
 */
static unsigned int fail_init;
module_param(fail_init, uint, 0);
MODULE_PARM_DESC(fail_init, "testing only: make init step N (1 reg, 2 dev, 3 genl) fail");

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
	ret = gwake_init_step(2, gwake_dev_init);
	if (ret)
		goto err_reg;
	ret = gwake_init_step(3, gwake_genl_init);
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
/* The project's version, from include/gwake/gwake.h (see kmod/Kbuild). */
MODULE_VERSION(GWAKE_KMOD_VERSION);
