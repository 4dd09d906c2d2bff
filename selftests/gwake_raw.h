/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw /dev/gwake ioctls for the selftests that bypass libgwake (ioctl_test,
 * genl_test): one wrapper per command, each filling its struct with the
 * flags and reserved fields a well-behaved caller sends, and returning what
 * the ioctl returned or -errno. Tests of bad input build their structs
 * themselves and call gw_ioctl().
 */
#ifndef GWAKE_SELFTESTS_GWAKE_RAW_H
#define GWAKE_SELFTESTS_GWAKE_RAW_H

#include <errno.h>
#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/gwake.h>

static inline long gw_ioctl(int fd, unsigned long cmd, const void *arg)
{
	long ret = ioctl(fd, cmd, arg);

	return ret < 0 ? -errno : ret;
}

static inline long gw_register(int fd, __u64 *handle)
{
	struct gwake_register reg = { .flags = 0, .handle = 0 };
	long ret = gw_ioctl(fd, GWAKE_IOC_REGISTER, &reg);

	if (!ret)
		*handle = reg.handle;
	return ret;
}

static inline long gw_unregister(int fd)
{
	struct gwake_unregister unreg = { .flags = 0 };

	return gw_ioctl(fd, GWAKE_IOC_UNREGISTER, &unreg);
}

static inline long gw_wake(int fd, __u64 handle)
{
	struct gwake_wake wake = { .flags = 0, .handle = handle };

	return gw_ioctl(fd, GWAKE_IOC_WAKE, &wake);
}

/* Blocks until an absolute CLOCK_MONOTONIC deadline (1: already past). */
static inline long gw_block_until(int fd, __u64 deadline_ns)
{
	struct gwake_block blk = { .flags = GWAKE_BLOCK_TIMEOUT, .timeout_ns = deadline_ns };

	return gw_ioctl(fd, GWAKE_IOC_BLOCK, &blk);
}

static inline long gw_block(int fd)
{
	struct gwake_block blk = { .flags = 0, .timeout_ns = 0 };

	return gw_ioctl(fd, GWAKE_IOC_BLOCK, &blk);
}

/* Wakes handle, then blocks until the deadline, as gw_block_until(). */
static inline long gw_swap_until(int fd, __u64 handle, __u64 deadline_ns)
{
	struct gwake_swap sw = {
		.flags = GWAKE_BLOCK_TIMEOUT, .handle = handle, .timeout_ns = deadline_ns,
	};

	return gw_ioctl(fd, GWAKE_IOC_SWAP, &sw);
}

static inline long gw_wake_many(int fd, const __u64 *handles, __u32 count)
{
	struct gwake_wake_many wm = {
		.flags = 0,
		.handles = (__u64)(uintptr_t)handles,
		.count = count,
		.reserved = 0,
	};

	return gw_ioctl(fd, GWAKE_IOC_WAKE_MANY, &wm);
}

#endif /* GWAKE_SELFTESTS_GWAKE_RAW_H */
