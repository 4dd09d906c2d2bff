// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * libgwake: the library's version (include/gwake/gwake.h).
 *
 * The string is compiled into the library, so a program linked against an
 * older libgwake.so.1 learns which one it actually runs with; the
 * GWAKE_VERSION macro only says which headers it was compiled against.
 */
#include <gwake/gwake.h>

/*
 * Included after gwake.h on purpose: both define GWAKE_WAKE_MANY_MAX, and
 * with -Werror a difference between the two values stops the build here.
 */
#include <linux/gwake.h>

const char *gwake_version(void)
{
	return GWAKE_VERSION;
}
