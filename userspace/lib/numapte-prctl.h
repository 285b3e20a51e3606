/* SPDX-License-Identifier: GPL-2.0 */
/*
 * PR_SET_NUMAPTE / PR_GET_NUMAPTE, as patches/0015 adds them to
 * include/uapi/linux/prctl.h; the host's libc headers do not have them.
 */
#ifndef NUMAPTE_PRCTL_H
#define NUMAPTE_PRCTL_H

#include <sys/prctl.h>

#ifndef PR_SET_NUMAPTE
#define PR_SET_NUMAPTE		0x4e505453	/* "NPTS" */
#define PR_GET_NUMAPTE		0x4e505447	/* "NPTG" */
#define PR_NUMAPTE_DEFAULT	0	/* follow vm.numapte */
#define PR_NUMAPTE_ALWAYS	1	/* replicate even if vm.numapte is 0 */
#define PR_NUMAPTE_NEVER	2	/* never replicate */
#endif

#endif
