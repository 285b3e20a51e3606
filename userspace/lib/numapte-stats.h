/*
 * numapte-stats - read the kernel counters that numaPTE experiments look at.
 *
 * Shared by tlbbench and the guest tests. Every reader takes one snapshot;
 * callers subtract two snapshots themselves. All functions returning int
 * return 0 on success and -1 with errno set on failure (ENOENT when the
 * file, row or field does not exist on this kernel).
 */
#ifndef NUMAPTE_STATS_H
#define NUMAPTE_STATS_H

#include <stddef.h>

/* One row of /proc/interrupts, e.g. "TLB", as per-CPU counts. */
struct nps_irq_row {
	unsigned int ncpus;		/* length of count[]: highest CPU in the header + 1 */
	unsigned long long *count;	/* count[cpu]; CPUs absent from the header stay 0 */
};

/* Reads the row labelled @name (without the colon) of /proc/interrupts. */
int nps_irq_row_read(const char *name, struct nps_irq_row *row);
void nps_irq_row_free(struct nps_irq_row *row);

/* All "name value" pairs of /proc/vmstat, in file order. */
struct nps_counter {
	char *name;
	unsigned long long value;
};

struct nps_vmstat {
	size_t n;
	struct nps_counter *c;
};

int nps_vmstat_read(struct nps_vmstat *vs);
/* Value of counter @name, or NULL if this kernel does not have it. */
const unsigned long long *nps_vmstat_find(const struct nps_vmstat *vs, const char *name);
void nps_vmstat_free(struct nps_vmstat *vs);

/* Reads a "Field:  N kB" line of /proc/self/status, e.g. "VmPTE". */
int nps_status_kb(const char *field, long long *kb);

/*
 * Reads the first line of a small text file such as /proc/sys/vm/numapte
 * into @buf (NUL-terminated, trailing whitespace removed). Only reads.
 */
int nps_read_line(const char *path, char *buf, size_t len);

#endif
