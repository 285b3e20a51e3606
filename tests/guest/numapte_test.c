// SPDX-License-Identifier: GPL-2.0
/*
 * numapte_test - functional tests of numaPTE's page-table replicas.
 *
 * Every test runs three times, with vm.numapte=0 (off), 1 (on demand) and
 * 2 (eager), set by the fixture and restored after, and touches memory from
 * threads pinned to a CPU of each node in turn, so that the process is
 * replicated (on demand, eager) and each node walks its own replica.  Off,
 * the data tests (madv_free, writeback, fork_cow, mremap_pmd, thp, migrate)
 * check the same on an unreplicated process and the tests of replication
 * itself skip:
 *
 *  sysctl          0, 1 and 2 are accepted; 3, -1 and "x" get EINVAL and
 *                  leave the value unchanged;
 *  one_node        a process whose threads stay on one node is not
 *                  replicated and has no replica pages;
 *  fill            pages written on node 0 read back right on every node;
 *                  the process is replicated, replica pages exist on every
 *                  node that read, numapte_fault/page_alloc rose;
 *  madv_free       data written from a remote node after MADV_FREE
 *                  survives MADV_PAGEOUT (a dirty bit lost in a replica
 *                  would let reclaim discard it);
 *  writeback       a shared file mapping on ext2 written from a remote
 *                  node, msync()ed (which cleans the ptes), written again
 *                  from a remote node and unmapped: after dropping the page
 *                  cache the file holds the second write (a lost dirty bit
 *                  would leave the page clean and the first write on disk);
 *  fork_cow        a child writing from every node gets private copies;
 *                  the parent, reading from every node, keeps its data;
 *  mremap_pmd      a 4 MiB PMD-aligned move (whole PTE tables) reads back
 *                  right on every node at the new address and faults at
 *                  the old one;
 *  thp             THP fault, split by a partial mprotect, MADV_COLLAPSE:
 *                  the data reads back right on every node after each;
 *  migrate         move_pages() bounces pages between nodes while readers
 *                  on every node verify them;
 *  exit_no_leak    processes replicated over every node and exited leave
 *                  replica pages and nr_page_table_pages where they were;
 *  toggle          vm.numapte flipped off and on under threads writing and
 *                  verifying on every node: no wrong value, replicas freed
 *                  when off;
 *  policy          a page table filled by node 0 alone gets a replica on
 *                  node 0 only (on demand) or on every node the process
 *                  ran on (eager);
 *  flush_counters  mprotect of memory only node 0 touched, while threads
 *                  spin on every node: on demand the process's flushes
 *                  are narrowed and spare CPUs, eager broadcasts them;
 *  batched_flush   the same for the batched flushes of reclaim
 *                  (MADV_FREE pages discarded by MADV_PAGEOUT), which
 *                  must also really discard them;
 *  prctl_args      PR_SET_NUMAPTE with a bad mode or a non-zero unused
 *                  argument, PR_GET_NUMAPTE with one: EINVAL, policy kept;
 *  prctl_never     never: a replicated process loses its replicas at once
 *                  and is not replicated again, data intact; back to
 *                  default it follows vm.numapte again;
 *  prctl_always    always: replicated even with vm.numapte=0, and stays so
 *                  when vm.numapte is set to 0; back to default it follows
 *                  vm.numapte;
 *  prctl_inherit   the policy is inherited by fork and kept across exec:
 *                  the child reads it back, and the program it executes
 *                  shows it in /proc/self/numapte;
 *  alloc_fail      with every 5th replica page allocation failing
 *                  (fail_numapte_alloc fault injection), a process still
 *                  gets replicated, reads and writes right from every node,
 *                  faults after munmap on every node; nodes fell back to
 *                  the master; after it exits no replica page is left;
 *  churn           NUMAPTE_CHURN (default 1000) short processes running on
 *                  every node, while vm.numapte is flipped 500 times and a
 *                  process writing on every node flips its prctl mode 500
 *                  times: every process reads its data back, and replica
 *                  pages and the count of replicated processes end exactly
 *                  where they started, nr_page_table_pages within 16 pages
 *                  and MemFree, after dropping caches, within 32 MiB (slab
 *                  and per-CPU page lists keep some freed memory; 1.6% of
 *                  a 4 x 512 MiB guest); on demand only;
 *  unprivileged    a process without privileges cannot write vm.numapte
 *                  or /proc/<pid>/numapte; it can read /proc/<pid>/numapte
 *                  exactly when it can read /proc/<pid>/status, for pid 1
 *                  and itself, also on a procfs mounted with
 *                  hidepid=invisible (where pid 1 is hidden); the file
 *                  shows no kernel address; it may set its own policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <numa.h>
#include <numaif.h>

#include "libnuma_tap.h"
#include "numapte-prctl.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
/* TEST_F_TIMEOUT()'s vfork()ed teardown trips -Wclobbered in the harness. */
#pragma GCC diagnostic ignored "-Wclobbered"

#define MAX_NODES	64
#define PAGE		4096UL
#define PMD_SIZE	(2UL << 20)
#define SYSCTL		"/proc/sys/vm/numapte"
#define THP_SYSFS	"/sys/kernel/mm/transparent_hugepage/enabled"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25
#endif
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT	21
#endif

/* ------------------------------------------------------------------------ */
/* Nodes and pinning */

static int nnodes;
static int node_id[MAX_NODES];
static int node_cpu[MAX_NODES];		/* first online CPU of the node */

/* Called from the fixture: libnuma is not initialised in a constructor. */
static void find_nodes(void)
{
	cpu_set_t allowed;
	int cpu, node, i;

	if (nnodes || numa_available() < 0 ||
	    sched_getaffinity(0, sizeof(allowed), &allowed))
		return;
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		node = numa_node_of_cpu(cpu);
		for (i = 0; i < nnodes && node_id[i] != node; i++)
			;
		if (i == nnodes && nnodes < MAX_NODES) {
			node_id[nnodes] = node;
			node_cpu[nnodes++] = cpu;
		}
	}
}

static int pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

/* Run fn(arg) on a thread pinned to node index @n; returns fn's result. */
struct on_node {
	int n;
	long (*fn)(int n, void *arg);
	void *arg;
	long ret;
};

static void *on_node_thread(void *p)
{
	struct on_node *o = p;

	if (pin_cpu(node_cpu[o->n])) {
		o->ret = -1000;
		return NULL;
	}
	o->ret = o->fn(o->n, o->arg);
	return NULL;
}

static long run_on_node(int n, long (*fn)(int, void *), void *arg)
{
	struct on_node o = { .n = n, .fn = fn, .arg = arg, .ret = -1001 };
	pthread_t t;

	if (pthread_create(&t, NULL, on_node_thread, &o))
		return -1002;
	pthread_join(t, NULL);
	return o.ret;
}

/* ------------------------------------------------------------------------ */
/* Counters and the sysctl */

static long vmstat(const char *name)
{
	char key[64];
	long val, ret = -1;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			ret = val;
	fclose(f);
	return ret;
}

static long replica_pages_now(void)
{
	return vmstat("numapte_page_alloc") - vmstat("numapte_page_free");
}

/* The number of a "key: value" line of @path, -1 if missing. */
static long file_key(const char *path, const char *key)
{
	char line[128];
	size_t len = strlen(key);
	long ret = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			ret = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return ret;
}

/* A "key: value" line of /proc/self/numapte, -1 if missing. */
static long self_numapte(const char *key)
{
	return file_key("/proc/self/numapte", key);
}

/* Write @val to @path; 0, or -errno of the open or a short write. */
static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val)) == (ssize_t)strlen(val) ? 0 : -errno;
	close(fd);
	return ret;
}

/* Write @val to the sysctl; 0 or -errno of the write. */
static int sysctl_write(const char *val)
{
	return write_file(SYSCTL, val);
}

static int sysctl_read(void)
{
	int v = -1;
	FILE *f = fopen(SYSCTL, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%d", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

static bool thp_available(void)
{
	char buf[128] = "";
	FILE *f = fopen(THP_SYSFS, "r");

	if (!f)
		return false;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	return !strstr(buf, "[never]");
}

/* ------------------------------------------------------------------------ */
/* Memory helpers */

static inline uint64_t val_of(uint64_t tag, unsigned long page)
{
	return (tag << 32) | page | (1ULL << 63);
}

struct region {
	volatile uint64_t *base;
	unsigned long pages;
	uint64_t tag;
	long bad;		/* first wrong page + 1 */
};

static long fill_pages(int n, void *p)
{
	struct region *r = p;
	unsigned long i;

	(void)n;
	for (i = 0; i < r->pages; i++)
		r->base[i * PAGE / 8] = val_of(r->tag, i);
	return 0;
}

/* 0 if every page holds its value, else the first bad page + 1. */
static long check_pages(int n, void *p)
{
	struct region *r = p;
	unsigned long i;

	(void)n;
	for (i = 0; i < r->pages; i++)
		if (r->base[i * PAGE / 8] != val_of(r->tag, i))
			return i + 1;
	return 0;
}

/* Check @r from every node; the failing node index, or -1. */
static int check_everywhere(struct region *r)
{
	int n;

	for (n = 0; n < nnodes; n++) {
		r->bad = run_on_node(n, check_pages, r);
		if (r->bad)
			return n;
	}
	return -1;
}

static void *map_aligned(size_t size, size_t align)
{
	char *p = mmap(NULL, size + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *q;

	if (p == MAP_FAILED)
		return NULL;
	q = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
	if (q > p)
		munmap(p, q - p);
	munmap(q + size, p + size + align - (q + size));
	return q;
}

/* A read that faults: 1 if @addr raised SIGSEGV, 0 if readable. */
static __thread sigjmp_buf segv_jmp;
static __thread volatile int segv_armed;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	if (segv_armed) {
		segv_armed = 0;
		siglongjmp(segv_jmp, 1);
	}
	abort();
}

static void catch_segv(void)
{
	struct sigaction sa = { .sa_sigaction = segv_handler,
				.sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(SIGSEGV, &sa, NULL);
}

static long read_faults(int n, void *addr)
{
	(void)n;
	if (sigsetjmp(segv_jmp, 1))
		return 1;
	segv_armed = 1;
	(void)*(volatile uint64_t *)addr;
	segv_armed = 0;
	return 0;
}

static long nop(int n, void *arg)
{
	(void)n;
	(void)arg;
	return 0;
}

/*
 * Run a thread on every node, then fault on new memory: numaPTE replicates
 * an mm at its first fault after it ran on two nodes.  1 if replicated.
 */
static int replicate_self(void)
{
	volatile char *p;
	int n;

	for (n = 0; n < nnodes; n++)
		run_on_node(n, nop, NULL);
	p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	p[0] = 1;
	return self_numapte("replicated") == 1;
}

/* ------------------------------------------------------------------------ */

FIXTURE(numapte) {
	int saved;
};

/*
 * The setting every test runs under: vm.numapte=mode.  Off, the data tests
 * still run (the same checks on an unreplicated process) and the tests of
 * replication itself skip.
 */
FIXTURE_VARIANT(numapte) {
	const char *mode;
	int replicates;
};

FIXTURE_VARIANT_ADD(numapte, off) {
	.mode = "0",
	.replicates = 0,
};

FIXTURE_VARIANT_ADD(numapte, on_demand) {
	.mode = "1",
	.replicates = 1,
};

FIXTURE_VARIANT_ADD(numapte, eager) {
	.mode = "2",
	.replicates = 1,
};

FIXTURE_SETUP(numapte)
{
	find_nodes();
	ASSERT_LT(0, nnodes);
	self->saved = sysctl_read();
	if (self->saved < 0)
		SKIP(return, "no %s: kernel without numaPTE", SYSCTL);
	ASSERT_EQ(0, sysctl_write(variant->mode));
	catch_segv();
	/* The harness runs each test in a fresh child: start it on node 0. */
	ASSERT_EQ(0, pin_cpu(node_cpu[0]));
}

FIXTURE_TEARDOWN(numapte)
{
	char buf[16];

	if (self->saved >= 0) {
		snprintf(buf, sizeof(buf), "%d", self->saved);
		sysctl_write(buf);
	}
}

#define NEED_NODES(n)							\
	do {								\
		if (nnodes < (n))					\
			SKIP(return, "needs %d NUMA nodes, guest has %d", \
			     (n), nnodes);				\
	} while (0)

/* A test of replication itself: nothing to test with vm.numapte=0. */
#define NEED_REPLICATION()						\
	do {								\
		if (!variant->replicates)				\
			SKIP(return, "vm.numapte=0: nothing is replicated"); \
	} while (0)

TEST_F(numapte, sysctl)
{
	ASSERT_EQ(0, sysctl_write("0"));
	ASSERT_EQ(0, sysctl_read());
	ASSERT_EQ(0, sysctl_write("2"));
	ASSERT_EQ(2, sysctl_read());
	ASSERT_EQ(0, sysctl_write("1"));
	ASSERT_EQ(1, sysctl_read());
	EXPECT_EQ(-EINVAL, sysctl_write("3"));
	EXPECT_EQ(1, sysctl_read());
	EXPECT_EQ(-EINVAL, sysctl_write("-1"));
	EXPECT_EQ(1, sysctl_read());
	EXPECT_EQ(-EINVAL, sysctl_write("x"));
	EXPECT_EQ(1, sysctl_read());
	ASSERT_EQ(0, sysctl_write("0"));
	EXPECT_EQ(-EINVAL, sysctl_write("3"));
	EXPECT_EQ(0, sysctl_read());
}

TEST_F(numapte, one_node)
{
	struct region r = { .pages = 64, .tag = 1 };

	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	/* Threads only ever on node 0, this one included. */
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(0, run_on_node(0, check_pages, &r));
	EXPECT_EQ(0, self_numapte("replicated"));
	EXPECT_EQ(0, self_numapte("replica_pages"));
}

TEST_F(numapte, fill)
{
	struct region r = { .pages = 64, .tag = 2 };
	long faults = vmstat("numapte_fault");
	long allocs = vmstat("numapte_page_alloc");
	char key[32];
	int n, bad;

	NEED_NODES(2);
	NEED_REPLICATION();
	ASSERT_LE(0, faults);
	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("node %d read page %ld wrong", bad, r.bad - 1);
	for (n = 0; n < nnodes; n++) {
		snprintf(key, sizeof(key), "replica_pages_node%d", node_id[n]);
		EXPECT_LT(0, self_numapte(key)) TH_LOG("no replica on node %d", node_id[n]);
	}
	EXPECT_LT(faults, vmstat("numapte_fault"));
	EXPECT_LT(allocs, vmstat("numapte_page_alloc"));
}

/* Rewrite the first half of the pages after MADV_FREE. */
static long rewrite_half(int n, void *p)
{
	struct region *m = p;
	unsigned long i;

	(void)n;
	for (i = 0; i < m->pages / 2; i++)
		m->base[i * PAGE / 8] = val_of(7, i);
	return 0;
}

TEST_F(numapte, madv_free)
{
	struct region r = { .pages = 32, .tag = 3 };
	unsigned long i, discarded = 0;

	NEED_NODES(2);
	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	ASSERT_EQ(-1, check_everywhere(&r));
	ASSERT_EQ(0, madvise((void *)r.base, r.pages * PAGE, MADV_FREE));
	ASSERT_EQ(0, run_on_node(nnodes - 1, rewrite_half, &r));
	ASSERT_EQ(0, madvise((void *)r.base, r.pages * PAGE, MADV_PAGEOUT));
	for (i = 0; i < r.pages / 2; i++)
		ASSERT_EQ(val_of(7, i), r.base[i * PAGE / 8])
			TH_LOG("page %lu written on node %d after MADV_FREE lost", i,
			       node_id[nnodes - 1]);
	/* The clean half shows the discard path really ran. */
	for (; i < r.pages; i++)
		discarded += r.base[i * PAGE / 8] == 0;
	if (!discarded)
		SKIP(return, "MADV_PAGEOUT discarded no clean lazyfree page");
}

TEST_F_TIMEOUT(numapte, writeback, 120)
{
	const char *dir = getenv("NUMAPTE_TEST_FS");
	struct region r = { .pages = 16, .tag = 20 };
	size_t len = r.pages * PAGE;
	char path[256];
	uint64_t v;
	unsigned long i;
	int fd, dc;
	void *p;

	NEED_NODES(2);
	if (!dir)
		SKIP(return, "no disk filesystem (NUMAPTE_TEST_FS unset)");
	snprintf(path, sizeof(path), "%s/writeback-%d", dir, getpid());
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, len));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(MAP_FAILED, p);
	ASSERT_EQ(variant->replicates, replicate_self());
	r.base = p;
	ASSERT_EQ(0, run_on_node(nnodes - 1, fill_pages, &r));
	ASSERT_EQ(0, msync(p, len, MS_SYNC));
	r.tag = 21;
	ASSERT_EQ(0, run_on_node(nnodes - 1, fill_pages, &r));
	ASSERT_EQ(0, munmap(p, len));
	/* The second write must reach the disk without another msync. */
	ASSERT_EQ(0, fsync(fd));
	ASSERT_EQ(0, posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED));
	dc = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (dc >= 0) {
		ASSERT_EQ(1, write(dc, "1", 1));
		close(dc);
	}
	for (i = 0; i < r.pages; i++) {
		ASSERT_EQ((ssize_t)sizeof(v), pread(fd, &v, sizeof(v), i * PAGE));
		EXPECT_EQ(val_of(21, i), v) TH_LOG("page %lu: %s on disk", i,
			v == val_of(20, i) ? "the first write" : "garbage");
	}
	close(fd);
	unlink(path);
}

/* Child: each node writes its own tag to its own pages, then checks all. */
static long cow_write(int n, void *p)
{
	struct region *c = p;
	unsigned long i;

	for (i = n; i < c->pages; i += nnodes)
		c->base[i * PAGE / 8] = val_of(100 + n, i);
	return 0;
}

static long cow_check(int n, void *p)
{
	struct region *c = p;
	unsigned long i;

	(void)n;
	for (i = 0; i < c->pages; i++)
		if (c->base[i * PAGE / 8] != val_of(100 + i % nnodes, i))
			return i + 1;
	return 0;
}

TEST_F_TIMEOUT(numapte, fork_cow, 300)
{
	struct region r = { .pages = 64, .tag = 4 };
	int n, status, bad;
	pid_t pid;

	NEED_NODES(2);
	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	ASSERT_EQ(-1, check_everywhere(&r));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		for (n = 0; n < nnodes; n++)
			if (run_on_node(n, cow_write, &r))
				_exit(2);
		for (n = 0; n < nnodes; n++)
			if (run_on_node(n, cow_check, &r))
				_exit(3);
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
		TH_LOG("child status %#x", status);
	bad = check_everywhere(&r);
	EXPECT_EQ(-1, bad) TH_LOG("parent: node %d saw page %ld changed", bad, r.bad - 1);
	/* The parent's own writes after fork (write-protected by fork). */
	for (n = 0; n < nnodes; n++)
		ASSERT_EQ(0, run_on_node(n, cow_write, &r));
	for (n = 0; n < nnodes; n++)
		EXPECT_EQ(0, run_on_node(n, cow_check, &r));
}

TEST_F_TIMEOUT(numapte, mremap_pmd, 300)
{
	const size_t len = 2 * PMD_SIZE;
	struct region r = { .pages = len / PAGE, .tag = 5 };
	char *src, *dst;
	int n, bad;

	NEED_NODES(2);
	src = map_aligned(len, PMD_SIZE);
	dst = map_aligned(len, PMD_SIZE);
	ASSERT_NE(NULL, src);
	ASSERT_NE(NULL, dst);
	/* PTE tables, not THPs: move_normal_pmd() moves the tables. */
	madvise(src, len, MADV_NOHUGEPAGE);
	r.base = (volatile uint64_t *)src;
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	ASSERT_EQ(-1, check_everywhere(&r));
	ASSERT_EQ(dst, mremap(src, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, dst));
	r.base = (volatile uint64_t *)dst;
	bad = check_everywhere(&r);
	EXPECT_EQ(-1, bad) TH_LOG("node %d read moved page %ld wrong", bad, r.bad - 1);
	for (n = 0; n < nnodes; n++) {
		EXPECT_EQ(1, run_on_node(n, read_faults, src))
			TH_LOG("node %d still reads the old range", node_id[n]);
		EXPECT_EQ(1, run_on_node(n, read_faults, src + len - PAGE));
	}
}

TEST_F_TIMEOUT(numapte, thp, 300)
{
	struct region r = { .pages = PMD_SIZE / PAGE, .tag = 6 };
	char *p;
	int bad, n;

	NEED_NODES(2);
	if (!thp_available())
		SKIP(return, "THP disabled (%s)", THP_SYSFS);
	p = map_aligned(PMD_SIZE, PMD_SIZE);
	ASSERT_NE(NULL, p);
	ASSERT_EQ(0, madvise(p, PMD_SIZE, MADV_HUGEPAGE));
	r.base = (volatile uint64_t *)p;
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("THP: node %d page %ld", bad, r.bad - 1);

	/* Split: a partial mprotect needs PTEs. */
	ASSERT_EQ(0, mprotect(p + PAGE, PAGE, PROT_READ));
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("split: node %d page %ld", bad, r.bad - 1);
	ASSERT_EQ(0, mprotect(p + PAGE, PAGE, PROT_READ | PROT_WRITE));
	for (n = 0; n < nnodes; n++) {
		r.tag = 60 + n;
		ASSERT_EQ(0, run_on_node(n, fill_pages, &r));
		bad = check_everywhere(&r);
		ASSERT_EQ(-1, bad) TH_LOG("after split, written on %d: node %d page %ld",
					  n, bad, r.bad - 1);
	}

	/* Collapse back into a THP. */
	if (madvise(p, PMD_SIZE, MADV_COLLAPSE))
		TH_LOG("MADV_COLLAPSE: %s (data still checked)", strerror(errno));
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("collapse: node %d page %ld", bad, r.bad - 1);
	r.tag = 69;
	ASSERT_EQ(0, run_on_node(nnodes - 1, fill_pages, &r));
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("after collapse: node %d page %ld", bad, r.bad - 1);
}

struct reader {
	struct region *r;
	volatile int *stop;
	long rounds;
	long bad;
};

static long read_loop(int n, void *p)
{
	struct reader *rd = (struct reader *)p + n;

	while (!*rd->stop) {
		long bad = check_pages(n, rd->r);

		if (bad && !rd->bad)
			rd->bad = bad;
		rd->rounds++;
	}
	return 0;
}

struct loop_arg {
	int n;
	struct reader *rd;
};

static void *reader_thread(void *p)
{
	struct loop_arg *a = p;

	if (pin_cpu(node_cpu[a->n]))
		return NULL;
	read_loop(a->n, a->rd);
	return NULL;
}

TEST_F_TIMEOUT(numapte, migrate, 300)
{
	struct region r = { .pages = 64, .tag = 8 };
	struct reader rd[MAX_NODES] = {};
	struct loop_arg args[MAX_NODES];
	pthread_t th[MAX_NODES];
	void *pages[64];
	int nodes[64], status[64];
	volatile int stop = 0;
	long moved = 0;
	int n, round;
	unsigned long i;

	NEED_NODES(2);
	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	for (n = 0; n < nnodes; n++) {
		rd[n].r = &r;
		rd[n].stop = &stop;
		args[n].n = n;
		args[n].rd = rd;
		ASSERT_EQ(0, pthread_create(&th[n], NULL, reader_thread, &args[n]));
	}
	for (round = 0; round < 4 * nnodes; round++) {
		for (i = 0; i < r.pages; i++) {
			pages[i] = (void *)(r.base + i * PAGE / 8);
			nodes[i] = node_id[(round + i) % nnodes];
		}
		if (move_pages(0, r.pages, pages, nodes, status, MPOL_MF_MOVE) < 0) {
			TH_LOG("move_pages: %s", strerror(errno));
			break;
		}
		for (i = 0; i < r.pages; i++)
			moved += status[i] == nodes[i];
		usleep(10000);
	}
	stop = 1;
	for (n = 0; n < nnodes; n++) {
		pthread_join(th[n], NULL);
		EXPECT_EQ(0, rd[n].bad) TH_LOG("node %d read page %ld wrong",
					       node_id[n], rd[n].bad - 1);
		EXPECT_LT(0, rd[n].rounds);
	}
	EXPECT_LT(0, moved);
	EXPECT_EQ(-1, check_everywhere(&r));
}

/* A child that runs on every node, touches memory and exits. */
static void replicated_child(void)
{
	struct region r = { .pages = 128, .tag = 9 };

	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* The parent may be PR_NUMAPTE_NEVER, to measure from outside. */
	if (r.base == MAP_FAILED ||
	    prctl(PR_SET_NUMAPTE, PR_NUMAPTE_DEFAULT, 0, 0, 0))
		_exit(2);
	if (run_on_node(0, fill_pages, &r) || !replicate_self())
		_exit(3);
	_exit(check_everywhere(&r) == -1 ? 0 : 4);
}

static int spawn_children(int count)
{
	int i, status, failed = 0;
	pid_t pid;

	for (i = 0; i < count; i++) {
		pid = fork();
		if (pid < 0)
			return -1;
		if (!pid)
			replicated_child();
		if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
		    WEXITSTATUS(status))
			failed++;
	}
	return failed;
}

/*
 * Settle what exited processes leave behind: an idle CPU keeps the last mm
 * it ran loaded (lazy TLB) and so keeps it allocated, pgd and replica roots
 * included, until it runs another task; and vmstat counters are per-CPU
 * until folded (vm.stat_refresh).
 */
static void settle(void);

/*
 * Page tables and their replicas are freed after an RCU grace period
 * (MMU_GATHER_RCU_TABLE_FREE): settle until the replica pages are back to
 * @want, for up to 10 s.  A leak never gets there.  The caller must be
 * PR_NUMAPTE_NEVER: settle() runs it on every node, which would replicate
 * it and count its own replicas.
 */
static long settle_replicas(long want)
{
	long now = -1;
	int i;

	for (i = 0; i < 100; i++) {
		settle();
		now = replica_pages_now();
		if (now == want)
			break;
		usleep(100000);
	}
	return now;
}

static void settle(void)
{
	int cpu, fd;

	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (numa_bitmask_isbitset(numa_all_cpus_ptr, cpu) && !pin_cpu(cpu))
			usleep(1000);
	pin_cpu(node_cpu[0]);
	fd = open("/proc/sys/vm/stat_refresh", O_WRONLY);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			perror("stat_refresh");
		close(fd);
	}
}

TEST_F_TIMEOUT(numapte, exit_no_leak, 300)
{
	long rep0, pt0, mms0;
	int round;

	NEED_NODES(2);
	NEED_REPLICATION();
	/* Round 0 warms up (kernel stacks and their page tables). */
	for (round = 0; round < 3; round++) {
		settle();
		rep0 = replica_pages_now();
		pt0 = vmstat("nr_page_table_pages");
		mms0 = vmstat("numapte_mm_replicate") - vmstat("numapte_mm_unreplicate");
		ASSERT_EQ(0, spawn_children(10));
		settle();
		TH_LOG("round %d: page-table pages %ld -> %ld, replica pages %ld -> %ld",
		       round, pt0, vmstat("nr_page_table_pages"), rep0,
		       replica_pages_now());
		if (!round)
			continue;
		EXPECT_EQ(rep0, replica_pages_now());
		EXPECT_EQ(mms0, vmstat("numapte_mm_replicate") -
				vmstat("numapte_mm_unreplicate"));
		EXPECT_EQ(pt0, vmstat("nr_page_table_pages"));
	}
}

struct writer {
	volatile uint64_t *base;	/* one page per node */
	volatile int *stop;
	long bad;
	long rounds;
};

static void *writer_thread(void *p)
{
	struct loop_arg *a = p;
	struct writer *w = (struct writer *)a->rd;
	volatile uint64_t *mine = w->base + a->n * PAGE / 8;
	uint64_t v;

	if (pin_cpu(node_cpu[a->n]))
		return NULL;
	for (v = 1; !*w[a->n].stop; v++) {
		mine[0] = v;
		if (mine[0] != v && !w[a->n].bad)
			w[a->n].bad = v;
		w[a->n].rounds++;
	}
	return NULL;
}

TEST_F_TIMEOUT(numapte, toggle, 300)
{
	struct writer w[MAX_NODES] = {};
	struct loop_arg args[MAX_NODES];
	pthread_t th[MAX_NODES];
	volatile uint64_t *base;
	volatile int stop = 0;
	long unrep = vmstat("numapte_mm_unreplicate");
	int n, i;

	NEED_NODES(2);
	NEED_REPLICATION();
	base = mmap(NULL, nnodes * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)base);
	ASSERT_EQ(variant->replicates, replicate_self());
	for (n = 0; n < nnodes; n++) {
		w[n].base = base;
		w[n].stop = &stop;
		args[n].n = n;
		args[n].rd = (struct reader *)w;
		ASSERT_EQ(0, pthread_create(&th[n], NULL, writer_thread, &args[n]));
	}
	for (i = 0; i < 6; i++) {
		usleep(50000);
		ASSERT_EQ(0, sysctl_write(i % 2 ? variant->mode : "0"));
		if (i % 2)
			ASSERT_EQ(variant->replicates, replicate_self());
	}
	usleep(50000);
	stop = 1;
	for (n = 0; n < nnodes; n++) {
		pthread_join(th[n], NULL);
		EXPECT_EQ(0, w[n].bad) TH_LOG("node %d read back a wrong value",
					      node_id[n]);
		EXPECT_LT(0, w[n].rounds);
	}
	EXPECT_LT(unrep, vmstat("numapte_mm_unreplicate"));
	ASSERT_EQ(0, sysctl_write("0"));
	EXPECT_EQ(0, self_numapte("replicated"));
	EXPECT_EQ(0, self_numapte("replica_pages"));
}

/* Replica pages of this process on each node, into @pages. */
static void node_pages(long *pages)
{
	char key[32];
	int n;

	for (n = 0; n < nnodes; n++) {
		snprintf(key, sizeof(key), "replica_pages_node%d", node_id[n]);
		pages[n] = self_numapte(key);
	}
}

TEST_F_TIMEOUT(numapte, policy, 120)
{
	struct region r = { .pages = 16, .tag = 9 };
	long before[MAX_NODES], after[MAX_NODES];
	bool eager = !strcmp(variant->mode, "2");
	int n;

	NEED_NODES(2);
	NEED_REPLICATION();
	ASSERT_EQ(variant->replicates, replicate_self());
	/* A fresh PMD-aligned area: its PTE table is new, node 0 fills it. */
	r.base = map_aligned(PMD_SIZE, PMD_SIZE);
	ASSERT_NE(NULL, (void *)r.base);
	node_pages(before);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	node_pages(after);
	EXPECT_LT(before[0], after[0]);
	for (n = 1; n < nnodes; n++) {
		if (eager) {
			EXPECT_LT(before[n], after[n])
				TH_LOG("eager: no new replica on node %d", node_id[n]);
		} else {
			EXPECT_EQ(before[n], after[n])
				TH_LOG("on demand: node %d got a replica it never used",
				       node_id[n]);
		}
	}
	ASSERT_EQ(-1, check_everywhere(&r));
}

struct spinner {
	int n;
	volatile int *stop;
	volatile int ready;
};

/* Keep a CPU of node @n in the mm's cpumask, never lazy, until *stop. */
static void *spin_thread(void *p)
{
	struct spinner *s = p;
	volatile char *page;

	if (pin_cpu(node_cpu[s->n]))
		return NULL;
	page = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		return NULL;
	s->ready = 1;
	while (!*s->stop)
		page[0]++;
	munmap((void *)page, PAGE);
	return NULL;
}

struct spinners {
	struct spinner sp[MAX_NODES];
	pthread_t th[MAX_NODES];
	volatile int stop;
};

/* Start a spinner on every node but node 0; 0 on success. */
static int start_spinners(struct spinners *s)
{
	int n;

	for (n = 1; n < nnodes; n++) {
		s->sp[n].n = n;
		s->sp[n].stop = &s->stop;
		if (pthread_create(&s->th[n], NULL, spin_thread, &s->sp[n]))
			return -1;
		while (!s->sp[n].ready)
			sched_yield();
	}
	return 0;
}

static void stop_spinners(struct spinners *s)
{
	int n;

	s->stop = 1;
	for (n = 1; n < nnodes; n++)
		pthread_join(s->th[n], NULL);
}

TEST_F_TIMEOUT(numapte, flush_counters, 120)
{
	struct spinners s = {};
	long narrowed, broadcast, spared;
	bool eager = !strcmp(variant->mode, "2");
	volatile char *p;
	int i;

	NEED_NODES(2);
	NEED_REPLICATION();
	ASSERT_EQ(variant->replicates, replicate_self());
	p = map_aligned(PMD_SIZE, PMD_SIZE);
	ASSERT_NE(NULL, (void *)p);
	p[0] = 1;	/* on node 0: the fixture pinned this thread there */
	ASSERT_EQ(0, start_spinners(&s));
	narrowed = self_numapte("flush_narrowed");
	broadcast = self_numapte("flush_broadcast");
	spared = self_numapte("flush_cpus_spared");
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, mprotect((void *)p, PAGE, PROT_READ));
		ASSERT_EQ(0, mprotect((void *)p, PAGE, PROT_READ | PROT_WRITE));
		p[0] = 2;
	}
	if (eager) {
		EXPECT_EQ(narrowed, self_numapte("flush_narrowed"));
		EXPECT_LE(broadcast + 10, self_numapte("flush_broadcast"));
	} else {
		EXPECT_LE(narrowed + 10, self_numapte("flush_narrowed"));
		EXPECT_LE(spared + 10 * (nnodes - 1),
			  self_numapte("flush_cpus_spared"));
	}
	stop_spinners(&s);
}

TEST_F_TIMEOUT(numapte, batched_flush, 120)
{
	struct spinners s = {};
	long narrowed, broadcast, spared;
	bool eager = !strcmp(variant->mode, "2");
	const unsigned long pages = 16;
	unsigned long i, discarded = 0;
	volatile uint64_t *p;

	NEED_NODES(2);
	NEED_REPLICATION();
	ASSERT_EQ(variant->replicates, replicate_self());
	p = map_aligned(PMD_SIZE, PMD_SIZE);
	ASSERT_NE(NULL, (void *)p);
	/* Spinners first, so that eager fills their nodes at these faults. */
	ASSERT_EQ(0, start_spinners(&s));
	for (i = 0; i < pages; i++)
		p[i * PAGE / 8] = val_of(30, i);
	ASSERT_EQ(0, madvise((void *)p, pages * PAGE, MADV_FREE));
	/*
	 * MADV_PAGEOUT flushes nothing itself: reclaim clears the ptes with a
	 * batched flush (remote CPUs are in the mm's cpumask) and discards
	 * the clean lazyfree pages.
	 */
	narrowed = self_numapte("flush_narrowed");
	broadcast = self_numapte("flush_broadcast");
	spared = self_numapte("flush_cpus_spared");
	ASSERT_EQ(0, madvise((void *)p, pages * PAGE, MADV_PAGEOUT));
	if (eager) {
		EXPECT_EQ(narrowed, self_numapte("flush_narrowed"));
		EXPECT_LT(broadcast, self_numapte("flush_broadcast"));
	} else {
		EXPECT_LT(narrowed, self_numapte("flush_narrowed"));
		EXPECT_LE(spared + nnodes - 1,
			  self_numapte("flush_cpus_spared"));
		EXPECT_EQ(broadcast, self_numapte("flush_broadcast"));
	}
	for (i = 0; i < pages; i++)
		discarded += p[i * PAGE / 8] == 0;
	stop_spinners(&s);
	ASSERT_LT(0UL, discarded) TH_LOG("MADV_PAGEOUT discarded no page");
}

/* errno of a prctl() that should fail, 0 if it succeeded. */
static int prctl_errno(int option, unsigned long a2, unsigned long a3)
{
	return prctl(option, a2, a3, 0, 0) ? errno : 0;
}

TEST_F(numapte, prctl_args)
{
	ASSERT_EQ(PR_NUMAPTE_DEFAULT, prctl(PR_GET_NUMAPTE, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_NEVER, 0));
	ASSERT_EQ(PR_NUMAPTE_NEVER, prctl(PR_GET_NUMAPTE, 0, 0, 0, 0));
	EXPECT_EQ(EINVAL, prctl_errno(PR_SET_NUMAPTE, 3, 0));
	EXPECT_EQ(EINVAL, prctl_errno(PR_SET_NUMAPTE, -1UL, 0));
	EXPECT_EQ(EINVAL, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_ALWAYS, 1));
	EXPECT_EQ(EINVAL, prctl_errno(PR_GET_NUMAPTE, 1, 0));
	EXPECT_EQ(PR_NUMAPTE_NEVER, prctl(PR_GET_NUMAPTE, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_ALWAYS, 0));
	EXPECT_EQ(PR_NUMAPTE_ALWAYS, prctl(PR_GET_NUMAPTE, 0, 0, 0, 0));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_DEFAULT, 0));
	EXPECT_EQ(PR_NUMAPTE_DEFAULT, prctl(PR_GET_NUMAPTE, 0, 0, 0, 0));
}

TEST_F_TIMEOUT(numapte, prctl_never, 120)
{
	struct region r = { .pages = 64, .tag = 40 };
	int bad;

	NEED_NODES(2);
	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(variant->replicates, replicate_self());
	ASSERT_EQ(-1, check_everywhere(&r));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_NEVER, 0));
	EXPECT_EQ(0, self_numapte("replicated"));
	EXPECT_EQ(0, self_numapte("replica_pages"));
	EXPECT_EQ(0, replicate_self());
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("node %d read page %ld wrong", bad, r.bad - 1);
	EXPECT_EQ(0, self_numapte("replica_pages"));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_DEFAULT, 0));
	EXPECT_EQ(variant->replicates, replicate_self());
	ASSERT_EQ(-1, check_everywhere(&r));
}

TEST_F_TIMEOUT(numapte, prctl_always, 120)
{
	struct region r = { .pages = 64, .tag = 41 };
	int bad;

	NEED_NODES(2);
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_ALWAYS, 0));
	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, (void *)r.base);
	ASSERT_EQ(0, run_on_node(0, fill_pages, &r));
	ASSERT_EQ(1, replicate_self());
	bad = check_everywhere(&r);
	ASSERT_EQ(-1, bad) TH_LOG("node %d read page %ld wrong", bad, r.bad - 1);
	EXPECT_LT(0, self_numapte("replica_pages"));
	/* vm.numapte=0 unreplicates every process but this one. */
	ASSERT_EQ(0, sysctl_write("0"));
	EXPECT_EQ(1, self_numapte("replicated"));
	ASSERT_EQ(-1, check_everywhere(&r));
	ASSERT_EQ(0, sysctl_write(variant->mode));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_DEFAULT, 0));
	EXPECT_EQ(variant->replicates, self_numapte("replicated"));
	if (!variant->replicates)
		EXPECT_EQ(0, self_numapte("replica_pages"));
	ASSERT_EQ(-1, check_everywhere(&r));
}

/*
 * Fork a child that checks PR_GET_NUMAPTE is @policy and executes cat of
 * its /proc/self/numapte; true if that shows "policy: @name".
 */
static bool child_has_policy(int policy, const char *name)
{
	char buf[1024], want[64];
	ssize_t len = 0, n;
	int fds[2], status;
	pid_t pid;

	if (pipe(fds))
		return false;
	pid = fork();
	if (!pid) {
		if (prctl(PR_GET_NUMAPTE, 0, 0, 0, 0) != policy)
			_exit(3);
		dup2(fds[1], 1);
		execl("/bin/cat", "cat", "/proc/self/numapte", (char *)NULL);
		_exit(4);
	}
	close(fds[1]);
	while (pid > 0 && len < (ssize_t)sizeof(buf) - 1 &&
	       (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += n;
	buf[len] = 0;
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status))
		return false;
	snprintf(want, sizeof(want), "\npolicy: %s\n", name);
	return strstr(buf, want);
}

TEST_F(numapte, prctl_inherit)
{
	EXPECT_TRUE(child_has_policy(PR_NUMAPTE_DEFAULT, "default"));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_ALWAYS, 0));
	EXPECT_TRUE(child_has_policy(PR_NUMAPTE_ALWAYS, "always"));
	ASSERT_EQ(0, prctl_errno(PR_SET_NUMAPTE, PR_NUMAPTE_NEVER, 0));
	EXPECT_TRUE(child_has_policy(PR_NUMAPTE_NEVER, "never"));
}

/* A short process of the churn test: its data must read back everywhere. */
static void churn_child(void)
{
	struct region r = { .pages = 32, .tag = 60 };

	r.base = mmap(NULL, r.pages * PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r.base == MAP_FAILED || run_on_node(0, fill_pages, &r) ||
	    prctl(PR_SET_NUMAPTE, PR_NUMAPTE_DEFAULT, 0, 0, 0))
		_exit(2);
	/* Replicated or not, as the toggles have it. */
	replicate_self();
	_exit(check_everywhere(&r) == -1 ? 0 : 3);
}

/*
 * The load of the churn test: writers on every node while this process
 * flips its own mode @toggles times; non-zero if a writer read back wrong.
 */
static int churn_load(int toggles)
{
	struct writer w[MAX_NODES] = {};
	struct loop_arg args[MAX_NODES];
	pthread_t th[MAX_NODES];
	volatile int stop = 0;
	uint64_t *base;
	int n, i, bad = 0;

	base = mmap(NULL, nnodes * PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return 1;
	for (n = 0; n < nnodes; n++) {
		w[n].base = base;
		w[n].stop = &stop;
		args[n].n = n;
		args[n].rd = (struct reader *)w;
		if (pthread_create(&th[n], NULL, writer_thread, &args[n]))
			return 1;
	}
	for (i = 0; i < toggles; i++) {
		if (prctl(PR_SET_NUMAPTE, i % 2 ? PR_NUMAPTE_DEFAULT :
			  PR_NUMAPTE_NEVER, 0, 0, 0))
			bad = 1;
		usleep(2000);
	}
	stop = 1;
	for (n = 0; n < nnodes; n++) {
		pthread_join(th[n], NULL);
		bad |= w[n].bad != 0 || !w[n].rounds;
	}
	return bad;
}

struct sysctl_flipper {
	const char *mode;
	int toggles;
	int failed;
};

static void *flip_sysctl(void *p)
{
	struct sysctl_flipper *f = p;
	int i;

	for (i = 0; i < f->toggles; i++) {
		f->failed |= sysctl_write(i % 2 ? f->mode : "0") != 0;
		usleep(5000);
	}
	return NULL;
}

static void drop_caches(void)
{
	if (write_file("/proc/sys/vm/drop_caches", "3"))
		perror("drop_caches");
}

static long meminfo_kb(const char *key)
{
	return file_key("/proc/meminfo", key);
}

TEST_F_TIMEOUT(numapte, churn, 1800)
{
	const char *env = getenv("NUMAPTE_CHURN");
	int count = env ? atoi(env) : 1000, i, status, failed = 0;
	struct sysctl_flipper f = { .mode = variant->mode, .toggles = 500 };
	long pt0, rep0, mms0, free0;
	pthread_t flipper;
	pid_t load, pid;

	NEED_NODES(2);
	NEED_REPLICATION();
	if (strcmp(variant->mode, "1"))
		SKIP(return, "churn runs once, with vm.numapte=1");
	/* This process measures: never replicated itself (children reset). */
	ASSERT_EQ(0, prctl(PR_SET_NUMAPTE, PR_NUMAPTE_NEVER, 0, 0, 0));
	/* Warm up what the first processes allocate for good (stacks, slabs). */
	ASSERT_EQ(0, spawn_children(20));
	settle();
	pt0 = vmstat("nr_page_table_pages");
	rep0 = replica_pages_now();
	mms0 = vmstat("numapte_mm_replicate") - vmstat("numapte_mm_unreplicate");
	drop_caches();
	free0 = meminfo_kb("MemFree");
	load = fork();
	if (!load)
		_exit(churn_load(500));
	ASSERT_LT(0, load);
	ASSERT_EQ(0, pthread_create(&flipper, NULL, flip_sysctl, &f));
	for (i = 0; i < count; i++) {
		pid = fork();
		if (!pid)
			churn_child();
		ASSERT_LT(0, pid);
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	}
	pthread_join(flipper, NULL);
	ASSERT_EQ(load, waitpid(load, &status, 0));
	EXPECT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status))
		TH_LOG("the load process read back a wrong value");
	EXPECT_EQ(0, f.failed);
	EXPECT_EQ(0, failed) TH_LOG("%d of %d processes read back wrong data",
				    failed, count);
	ASSERT_EQ(0, sysctl_write(variant->mode));
	EXPECT_EQ(rep0, settle_replicas(rep0));
	drop_caches();
	TH_LOG("%d processes, 500+500 toggles: page-table pages %ld -> %ld, replica pages %ld -> %ld, MemFree %ld -> %ld kB",
	       count, pt0, vmstat("nr_page_table_pages"), rep0,
	       replica_pages_now(), free0, meminfo_kb("MemFree"));
	EXPECT_EQ(mms0, vmstat("numapte_mm_replicate") -
			vmstat("numapte_mm_unreplicate"));
	EXPECT_GE(16, labs(vmstat("nr_page_table_pages") - pt0));
	EXPECT_GE(32 * 1024, labs(meminfo_kb("MemFree") - free0));
}

#define FAIL_ATTR "/sys/kernel/debug/fail_numapte_alloc/"

static int fail_attr(const char *name, const char *val)
{
	char path[128];

	snprintf(path, sizeof(path), FAIL_ATTR "%s", name);
	return write_file(path, val);
}

/* Fail every @nth replica page allocation; 0: none. */
static int fail_every(const char *nth)
{
	if (strcmp(nth, "0"))
		return fail_attr("verbose", "0") ?: fail_attr("times", "-1") ?:
		       fail_attr("interval", nth) ?: fail_attr("probability", "100");
	return fail_attr("probability", "0");
}

static long node_write(int n, void *p)
{
	struct region *r = p;
	unsigned long i;

	for (i = n; i < r->pages; i += nnodes)
		r->base[i * PAGE / 8] = val_of(r->tag + 1 + n, i);
	return 0;
}

/* Check what node_write() wrote, from page @r->bad on (0: all). */
static long node_check(int n, void *p)
{
	struct region *r = p;
	unsigned long i;

	(void)n;
	for (i = r->bad; i < r->pages; i++)
		if (r->base[i * PAGE / 8] != val_of(r->tag + 1 + i % nnodes, i))
			return i + 1;
	return 0;
}

/* The child of alloc_fail: the number of the first check that failed. */
static int alloc_fail_child(void)
{
	struct region r = { .pages = 2048, .tag = 50 };
	int n, tries;

	if (prctl(PR_SET_NUMAPTE, PR_NUMAPTE_DEFAULT, 0, 0, 0))
		return 9;
	r.base = map_aligned(r.pages * PAGE, PMD_SIZE);
	if (!r.base || run_on_node(0, fill_pages, &r))
		return 1;
	/* Activation needs a root per node at once: it may take a few faults. */
	for (tries = 0; tries < 20 && !replicate_self(); tries++)
		;
	if (self_numapte("replicated") != 1)
		return 2;
	if (check_everywhere(&r) != -1)
		return 3;
	for (n = 0; n < nnodes; n++)
		if (run_on_node(n, node_write, &r))
			return 4;
	for (n = 0; n < nnodes; n++)
		if (run_on_node(n, node_check, &r))
			return 5;
	if (munmap((void *)r.base, r.pages * PAGE / 2))
		return 6;
	for (n = 0; n < nnodes; n++)
		if (!run_on_node(n, read_faults, (void *)r.base) ||
		    !run_on_node(n, read_faults, (void *)(r.base + PAGE / 8)))
			return 7;
	r.bad = r.pages / 2;	/* the half still mapped */
	for (n = 0; n < nnodes; n++)
		if (run_on_node(n, node_check, &r))
			return 8;
	return 0;
}

TEST_F_TIMEOUT(numapte, alloc_fail, 300)
{
	long fails = vmstat("numapte_alloc_fail");
	long fallbacks = vmstat("numapte_node_fallback");
	long rep0;
	int status;
	pid_t pid;

	NEED_NODES(2);
	NEED_REPLICATION();
	if (access(FAIL_ATTR "interval", W_OK))
		SKIP(return, "no %s: kernel without FAULT_INJECTION_DEBUG_FS",
		     FAIL_ATTR);
	/* This process measures: never replicated itself (the child resets). */
	ASSERT_EQ(0, prctl(PR_SET_NUMAPTE, PR_NUMAPTE_NEVER, 0, 0, 0));
	settle();
	rep0 = replica_pages_now();
	ASSERT_EQ(0, fail_every("5"));
	pid = fork();
	if (!pid)
		_exit(alloc_fail_child());
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, fail_every("0"));
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("alloc_fail check %d failed", WEXITSTATUS(status));
	EXPECT_LT(fails, vmstat("numapte_alloc_fail"));
	EXPECT_LT(fallbacks, vmstat("numapte_node_fallback"));
	EXPECT_EQ(rep0, settle_replicas(rep0));
}

/* 0 if @path opens with @flags, else errno. */
static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags);

	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Whether @path holds something that looks like a kernel address. */
static bool shows_address(const char *path)
{
	char line[256];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "0x") || strstr(line, "ffff");
	fclose(f);
	return found;
}

/*
 * Drop to nobody and check the access rules; the number of the first
 * check that failed, 0 if none did.  @hp is a procfs with hidepid.
 */
static int unprivileged_checks(const char *hp)
{
	char a[64], b[64];

	if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
	    setresuid(65534, 65534, 65534))
		return 1;
	if (open_errno(SYSCTL, O_WRONLY) != EACCES)
		return 2;
	if (open_errno("/proc/self/numapte", O_WRONLY) != EACCES)
		return 3;
	if (open_errno("/proc/1/numapte", O_RDONLY) !=
	    open_errno("/proc/1/status", O_RDONLY))
		return 4;
	snprintf(a, sizeof(a), "%s/1/status", hp);
	snprintf(b, sizeof(b), "%s/1/numapte", hp);
	if (open_errno(b, O_RDONLY) != open_errno(a, O_RDONLY) ||
	    !open_errno(b, O_RDONLY))
		return 5;
	snprintf(a, sizeof(a), "%s/self/status", hp);
	snprintf(b, sizeof(b), "%s/self/numapte", hp);
	if (open_errno(b, O_RDONLY) != open_errno(a, O_RDONLY))
		return 6;
	if (shows_address("/proc/1/numapte") ||
	    shows_address("/proc/self/numapte"))
		return 7;
	if (prctl(PR_SET_NUMAPTE, PR_NUMAPTE_NEVER, 0, 0, 0))
		return 8;
	return 0;
}

TEST_F(numapte, unprivileged)
{
	const char *hp = "/tmp/proc-hidepid";
	int status;
	pid_t pid;

	if (geteuid())
		SKIP(return, "needs root to drop privileges");
	ASSERT_TRUE(!mkdir(hp, 0755) || errno == EEXIST);
	ASSERT_EQ(0, mount("proc", hp, "proc", 0, "hidepid=invisible"));
	pid = fork();
	if (!pid)
		_exit(unprivileged_checks(hp));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	umount(hp);
	rmdir(hp);
	ASSERT_TRUE(WIFEXITED(status));
	EXPECT_EQ(0, WEXITSTATUS(status))
		TH_LOG("unprivileged check %d failed", WEXITSTATUS(status));
}

TEST_HARNESS_MAIN
