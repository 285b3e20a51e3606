// SPDX-License-Identifier: GPL-2.0
/*
 * numapte-run - run a command with a numaPTE policy, as numactl does with a
 * memory policy.
 *
 *   numapte-run --always|--never|--default [--] command [args...]
 *   numapte-run --show
 *
 * The policy is set with prctl(PR_SET_NUMAPTE) on this process, which then
 * executes the command: the kernel keeps the policy across execve() and
 * hands it down to the command's children.  --show prints this process's
 * policy (the one it inherited).
 *
 * Exit status: the command's; 1 if the kernel refused the policy (no
 * numaPTE), 2 on bad usage, 126/127 if the command could not be run.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "numapte-prctl.h"

static const char *const policy_names[] = {
	[PR_NUMAPTE_DEFAULT] = "default",
	[PR_NUMAPTE_ALWAYS] = "always",
	[PR_NUMAPTE_NEVER] = "never",
};

static void usage(FILE *f)
{
	fprintf(f,
"usage: numapte-run --always|--never|--default [--] command [args...]\n"
"       numapte-run --show\n"
"\n"
"  --always    replicate the command's page tables per NUMA node even\n"
"              while vm.numapte is 0 (on demand then)\n"
"  --never     never replicate them\n"
"  --default   follow vm.numapte\n"
"  --show      print the policy this process inherited\n"
"  --help      this text\n"
"\n"
"The policy is kept across exec and inherited by the command's children.\n"
"Exit status: the command's; 1 if the kernel has no numaPTE, 2 bad usage,\n"
"126/127 if the command cannot be run.\n");
}

static void __attribute__((noreturn)) bad_usage(const char *msg)
{
	fprintf(stderr, "numapte-run: %s\n", msg);
	usage(stderr);
	exit(2);
}

static int show(void)
{
	int p = prctl(PR_GET_NUMAPTE, 0, 0, 0, 0);

	if (p < 0 || p > PR_NUMAPTE_NEVER) {
		fprintf(stderr, "numapte-run: PR_GET_NUMAPTE: %s (kernel without numaPTE?)\n",
			p < 0 ? strerror(errno) : "unknown policy");
		return 1;
	}
	printf("policy: %s\n", policy_names[p]);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "always", no_argument, NULL, 'a' },
		{ "never", no_argument, NULL, 'n' },
		{ "default", no_argument, NULL, 'd' },
		{ "show", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int policy = -1, do_show = 0, c;

	opterr = 0;
	/* "+": stop at the command, whose own options are not ours. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
		case 'n':
		case 'd':
			if (policy >= 0)
				bad_usage("give one of --always, --never, --default");
			policy = c == 'a' ? PR_NUMAPTE_ALWAYS :
				 c == 'n' ? PR_NUMAPTE_NEVER : PR_NUMAPTE_DEFAULT;
			break;
		case 's':
			do_show = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "numapte-run: invalid option '%s'\n",
				argv[optind - 1]);
			usage(stderr);
			return 2;
		}
	}
	if (do_show) {
		if (policy >= 0 || optind < argc)
			bad_usage("--show takes no policy and no command");
		return show();
	}
	if (policy < 0)
		bad_usage("no policy given");
	if (optind >= argc)
		bad_usage("no command given");
	if (prctl(PR_SET_NUMAPTE, policy, 0, 0, 0)) {
		fprintf(stderr, "numapte-run: PR_SET_NUMAPTE %s: %s (kernel without numaPTE?)\n",
			policy_names[policy], strerror(errno));
		return 1;
	}
	execvp(argv[optind], argv + optind);
	fprintf(stderr, "numapte-run: %s: %s\n", argv[optind], strerror(errno));
	return errno == ENOENT ? 127 : 126;
}
