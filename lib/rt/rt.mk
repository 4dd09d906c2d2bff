# SPDX-License-Identifier: GPL-2.0
# The G-M-P runtime: part of libgwake (lib/lib.mk includes this file).
# liburcu is used through its header-only LGPL API (_LGPL_SOURCE, set in
# lib/rt/sched.h): no extra library to link, static builds included.
RT_SRCS := $(sort $(wildcard lib/rt/*.c lib/rt/*.S))
LIBGWAKE_LDLIBS += -ldl
