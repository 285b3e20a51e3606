/* SPDX-License-Identifier: GPL-2.0 */
/*
 * libnuma reports problems through these weak hooks; ours keep them on
 * stderr as TAP comments so that they cannot break the TAP stream.
 * Include once per test program, after <numa.h>.
 */
#ifndef LIBNUMA_TAP_H
#define LIBNUMA_TAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void numa_warn(int num, char *fmt, ...)
{
	va_list ap;

	(void)num;
	fputs("# libnuma: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (fmt[0] && fmt[strlen(fmt) - 1] != '\n')
		fputc('\n', stderr);
}

void numa_error(char *where)
{
	fprintf(stderr, "# libnuma: error in %s: %s\n", where, strerror(errno));
}

#endif /* LIBNUMA_TAP_H */
