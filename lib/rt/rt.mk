# SPDX-License-Identifier: GPL-2.0
# The G-M-P runtime: part of libgwake (lib/lib.mk includes this file).
# liburcu is used through its header-only LGPL API (_LGPL_SOURCE, set in
# lib/rt/sched.h): no extra library to link, static builds included.
RT_SRCS := $(sort $(wildcard lib/rt/*.c lib/rt/*.S))
LIBGWAKE_LDLIBS += -ldl

# Frame pointers in the runtime's own code, whatever CFLAGS say: grt_dump()
# and the deadlock report walk the rbp chain of a parked G from the context
# its switch saved, and every parked G's innermost frames are the runtime's
# (grt__mcall, grt__park, grt_chan_recv, ...). With them the walk reaches
# at least the user function that called into the runtime; the rest of the
# user's code needs -fno-omit-frame-pointer too for whole backtraces.
RT_OBJS := $(addsuffix .o,$(basename $(RT_SRCS)))
$(addprefix $(O)/,$(RT_OBJS)) $(addprefix $(O)/pic/,$(RT_OBJS)): \
	override CFLAGS += -fno-omit-frame-pointer
