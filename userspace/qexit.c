/*
 * qexit - power off a QEMU guest with a chosen exit status.
 *
 * Usage: qexit VALUE
 *
 * VALUE (decimal or 0x-prefixed hex, 0..0x7fffffff) is written with a 32-bit
 * outl to I/O port 0xf4. With QEMU started with
 *   -device isa-debug-exit,iobase=0xf4,iosize=0x04
 * QEMU then exits with status (VALUE << 1) | 1, which lets a guest test
 * report pass/fail to the host. Exit status: 2 on a bad argument or when
 * ioperm() fails (not root, not x86), 1 if the write returned because no
 * such device exists.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4
#define MAX_VALUE 0x7fffffffUL

/* Parses decimal or 0x hex without sign, spaces or octal; -1 if invalid. */
static long parse_value(const char *s)
{
	int base = 10;
	char *end;
	unsigned long v;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!isxdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoul(s, &end, base);
	if (errno || *end != '\0' || v > MAX_VALUE)
		return -1;
	return (long)v;
}

int main(int argc, char **argv)
{
	long value;

	if (argc != 2) {
		fprintf(stderr, "usage: qexit VALUE   (VALUE: 0..0x7fffffff, decimal or 0x hex)\n");
		return 2;
	}
	value = parse_value(argv[1]);
	if (value < 0) {
		fprintf(stderr, "qexit: invalid VALUE '%s' (want 0..0x7fffffff, decimal or 0x hex)\n",
			argv[1]);
		return 2;
	}
	if (ioperm(DEBUG_EXIT_PORT, 4, 1) < 0) {
		fprintf(stderr, "qexit: ioperm(0x%x): %s\n", DEBUG_EXIT_PORT, strerror(errno));
		return 2;
	}
	outl((unsigned int)value, DEBUG_EXIT_PORT);
	fprintf(stderr, "qexit: still running after writing to port 0x%x: "
		"no isa-debug-exit device at that port?\n", DEBUG_EXIT_PORT);
	return 1;
}
