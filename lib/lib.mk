# SPDX-License-Identifier: GPL-2.0
# libgwake (placeholder: filled in by the library work).
LIBGWAKE_A := $(O)/lib/libgwake.a
