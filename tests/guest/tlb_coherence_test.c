// SPDX-License-Identifier: GPL-2.0
/*
 * tlb_coherence_test - no CPU may keep using a stale translation after
 * munmap(), mprotect() or madvise(MADV_DONTNEED) has returned.
 *
 * One observer ("worker") thread is pinned to every online CPU, on every
 * NUMA node.  Workers never sleep: between commands they busy-wait on a
 * generation counter, and while the initiator changes a mapping they keep
 * accessing the target pages, so their CPUs stay non-lazy in mm_cpumask and
 * hold hot TLB entries for the range.  The initiator is the test's main
 * thread, pinned in turn to a CPU of every node.  As soon as the system call
 * has returned it publishes the next command and every worker, without
 * entering the kernel first, probes the range:
 *
 *  munmap         every access must raise SIGSEGV (SEGV_MAPERR) at the
 *                 accessed address;
 *  mprotect(RO)   every write must raise SIGSEGV (SEGV_ACCERR), every read
 *                 must return the last value written; after mprotect(RW)
 *                 writes succeed and each worker's value is seen by all;
 *  MADV_DONTNEED  every read returns 0; a write afterwards (first and last
 *                 probed page) is seen by all (catches a stale entry even
 *                 when freed pages get zeroed).
 *
 * The mprotect test also runs with the workers writing, not only reading,
 * while the protection changes.  Each test runs with a 1-page, a 16-page and
 * a 2 MiB THP region (skipped without THP).  A worker reports what it saw in
 * the fixture; only the main thread asserts.
 *
 * Environment: TLB_TEST_ROUNDS (rounds per node, default 10) and
 * TLB_TEST_SECONDS (time budget per test, default 10) for longer soaks.
 */
#include <errno.h>
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
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <numa.h>

#include "libnuma_tap.h"

/* The harness header is not -Wextra clean (unused handler parameter). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop

#define MAX_CPUS	64		/* workers; one per online CPU */
#define MAX_NODES	64
#define MAX_PROBES	80		/* probed pages per region */
#define SLOT_STRIDE	64		/* worker w owns bytes [w*64, w*64+8) */
/*
 * Each test runs up to ROUNDS rounds per node (env TLB_TEST_ROUNDS), but
 * stops starting new rounds after TIME_BUDGET seconds (env TLB_TEST_SECONDS)
 * once every node has been the initiator at least once: on an overcommitted
 * TCG guest a round costs a few hundred ms.
 */
#define ROUNDS		10
#define TIME_BUDGET	10.0
#define ACK_TIMEOUT	60.0		/* a worker not answering is a failure */
#define TEST_TIMEOUT	120
#define THP_SIZE	(2UL << 20)
#define THP_SYSFS	"/sys/kernel/mm/transparent_hugepage/enabled"

/* Worker commands. */
enum { OP_NONE, OP_LOOP_READ, OP_LOOP_WRITE, OP_PROBE_READ, OP_PROBE_WRITE,
       OP_STOP };

/* Command flags. */
#define F_FAULT		0x1	/* probe: every access must fault;
				 * loop: a fault is fine once the change began */
#define F_ALL		0x2	/* probe read: all workers' slots, not only own */
#define F_ZERO		0x4	/* probe read: every value must be 0 */
#define F_ZERO_OK	0x8	/* loop read: 0 is accepted besides the value */
#define F_ENDS		0x10	/* probe: only the first and last probed page */

/* Value tags, so a wrong value says where it came from. */
enum { TAG_FILL = 1, TAG_LOOP, TAG_RW, TAG_POISON, TAG_POST };

/* Never 0: tag, slot (worker), iteration and a counter/page number. */
#define MKVAL(tag, slot, iter, n)					\
	((1ULL << 63) | ((uint64_t)(tag) << 56) |			\
	 ((uint64_t)(slot) << 48) | ((uint64_t)((iter) & 0xffff) << 32) | \
	 (uint32_t)(n))

struct topology {
	bool numa;			/* libnuma usable */
	int ncpus;
	int cpu[MAX_CPUS];		/* online CPUs we may run on */
	int cpu_node[MAX_CPUS];
	int nnodes;			/* nodes with at least one such CPU */
	int node[MAX_NODES];
	int node_ncpus[MAX_NODES];
	int node_cpu[MAX_NODES][MAX_CPUS];	/* indices into cpu[] */
};

struct cmd {
	int op;
	int flags;
	int want_code;			/* expected si_code, 0: don't check */
	int tag;			/* value tag for OP_PROBE_WRITE */
};

struct worker {
	pthread_t thread;
	void *fixture;
	int idx;			/* == slot */
	int cpu;
	int node;
	int started;			/* atomic */
	int pin_err;			/* pthread_setaffinity_np() result */
	int ran_on;			/* sched_getcpu() after pinning */
	int ack;			/* atomic: last generation completed */
	struct cmd cmd;			/* copy of the current command */
	unsigned long faults;		/* SIGSEGVs in the current probe */
	unsigned long loop_passes;	/* passes of the last access loop */
	unsigned long errors;		/* anything wrong; test fails */
	char msg[256];			/* first error */
} __attribute__((aligned(64)));

FIXTURE(tlb) {
	struct topology topo;
	int nworkers;
	struct worker w[MAX_CPUS];
	size_t pagesize;

	/*
	 * Command for the next generation, written by the main thread before
	 * bumping gen; workers copy it when they see the new generation
	 * (they may still be looping on the previous one while it is set).
	 */
	int gen;			/* atomic */
	struct cmd next;
	int change_started;		/* atomic: syscall under test began */
	int iter;			/* unique per round and initiator */
	char *base;
	size_t len;
	int nprobe;
	int probe[MAX_PROBES];		/* page index of each probed page */
	uint64_t expect[MAX_CPUS][MAX_PROBES];	/* [slot][probe] */

	/* Bookkeeping of the main thread. */
	int init_cpu;
	bool thp_logged;
	unsigned long loop_passes, loops;	/* workers' access loops */
	struct timespec t0;
};

FIXTURE_VARIANT(tlb) {
	int npages;			/* 0: one THP (THP_SIZE / pagesize) */
	int probe_step;			/* probe every probe_step-th page */
	bool thp;
};

FIXTURE_VARIANT_ADD(tlb, page1) {
	.npages = 1, .probe_step = 1, .thp = false,
};

FIXTURE_VARIANT_ADD(tlb, pages16) {
	.npages = 16, .probe_step = 1, .thp = false,
};

/*
 * 2 MiB aligned with MADV_HUGEPAGE.  Probed: every 32nd page and the last
 * one (17 pages; each expected fault costs a signal, slow on TCG).
 */
FIXTURE_VARIANT_ADD(tlb, thp2m) {
	.npages = 0, .probe_step = 32, .thp = true,
};

/* ------------------------------------------------------------------------ */
/* Topology is logged by the first test only; tests run in forked children. */
static int *topology_logged;

static void __attribute__((constructor)) shared_init(void)
{
	void *p = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	topology_logged = p == MAP_FAILED ? NULL : p;
}

/* ------------------------------------------------------------------------ */
/* Fault catching: per-thread jump buffer, no system call per attempt. */

static __thread sigjmp_buf seg_jb;
static __thread volatile sig_atomic_t seg_armed;
static __thread void *volatile seg_addr;
static __thread volatile int seg_code;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!seg_armed) {
		/* A real bug: re-fault and die with the default action. */
		signal(sig, SIG_DFL);
		return;
	}
	seg_armed = 0;
	seg_addr = si->si_addr;
	seg_code = si->si_code;
	siglongjmp(seg_jb, 1);
}

/* Return 1 if the access raised SIGSEGV, else 0 (and *val for a read). */
static __attribute__((noinline)) int try_read(uint64_t *p, uint64_t *val)
{
	if (sigsetjmp(seg_jb, 0))
		return 1;
	seg_armed = 1;
	*val = *(volatile uint64_t *)p;
	seg_armed = 0;
	return 0;
}

static __attribute__((noinline)) int try_write(uint64_t *p, uint64_t val)
{
	if (sigsetjmp(seg_jb, 0))
		return 1;
	seg_armed = 1;
	*(volatile uint64_t *)p = val;
	seg_armed = 0;
	return 0;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ------------------------------------------------------------------------ */
/* Workers. */

static inline uint64_t *slot_addr(FIXTURE_DATA(tlb) *f, int probe, int slot)
{
	return (uint64_t *)(f->base + (size_t)f->probe[probe] * f->pagesize +
			    (size_t)slot * SLOT_STRIDE);
}

static void __attribute__((format(printf, 2, 3)))
werr(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (w->errors++)
		return;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
}

/* A probe access faulted: was it the right address and reason? */
static void check_fault(struct worker *w, void *addr, const char *what)
{
	w->faults++;
	if (seg_addr != addr)
		werr(w, "%s %p: SIGSEGV reports si_addr %p", what, addr,
		     seg_addr);
	else if (w->cmd.want_code && seg_code != w->cmd.want_code)
		werr(w, "%s %p: SIGSEGV si_code %d, expected %d", what, addr,
		     seg_code, w->cmd.want_code);
}

/* A fault inside an access loop: only legitimate once the change began. */
static void loop_fault(FIXTURE_DATA(tlb) *f, struct worker *w, void *addr,
		       const char *what)
{
	if (!(w->cmd.flags & F_FAULT))
		werr(w, "%s loop: unexpected SIGSEGV at %p (si_addr %p)", what,
		     addr, seg_addr);
	else if (!__atomic_load_n(&f->change_started, __ATOMIC_ACQUIRE))
		werr(w, "%s loop: SIGSEGV at %p before the change began",
		     what, addr);
	else if (seg_addr != addr)
		werr(w, "%s loop: SIGSEGV at %p reports si_addr %p", what,
		     addr, seg_addr);
}

/* Read own slot of every probed page until the generation changes. */
static void do_loop_read(FIXTURE_DATA(tlb) *f, struct worker *w, int g)
{
	unsigned long passes = 0;
	uint64_t v;
	int i;

	while (__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) == g) {
		for (i = 0; i < f->nprobe; i++) {
			uint64_t *p = slot_addr(f, i, w->idx);
			uint64_t want = f->expect[w->idx][i];

			if (try_read(p, &v)) {
				loop_fault(f, w, p, "read");
				goto out;
			}
			if (v != want && !((w->cmd.flags & F_ZERO_OK) && v == 0))
				werr(w, "read loop: %p = %#llx, expected %#llx",
				     p, (unsigned long long)v,
				     (unsigned long long)want);
		}
		if (!passes++)
			__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
	}
out:
	w->loop_passes = passes;
	__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
}

/*
 * Write ever new values to own slot of every probed page until the
 * generation changes or a write faults.  expect[] keeps, per page, the last
 * value whose store completed; everybody checks it later.
 */
static void do_loop_write(FIXTURE_DATA(tlb) *f, struct worker *w, int g)
{
	unsigned long passes = 0;
	int i;

	while (__atomic_load_n(&f->gen, __ATOMIC_ACQUIRE) == g) {
		for (i = 0; i < f->nprobe; i++) {
			uint64_t *p = slot_addr(f, i, w->idx);
			uint64_t v = MKVAL(TAG_LOOP, w->idx, f->iter, passes);

			if (try_write(p, v)) {
				loop_fault(f, w, p, "write");
				goto out;
			}
			f->expect[w->idx][i] = v;
		}
		if (!passes++)
			__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
	}
out:
	w->loop_passes = passes;
	__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
}

static void do_probe_read(FIXTURE_DATA(tlb) *f, struct worker *w, int g)
{
	int first = (w->cmd.flags & F_ALL) ? 0 : w->idx;
	int last = (w->cmd.flags & F_ALL) ? f->nworkers - 1 : w->idx;
	uint64_t v;
	int i, s;

	w->faults = 0;
	for (i = 0; i < f->nprobe; i++) {
		if ((w->cmd.flags & F_ENDS) && i && i != f->nprobe - 1)
			continue;
		for (s = first; s <= last; s++) {
			uint64_t *p = slot_addr(f, i, s);
			uint64_t want = (w->cmd.flags & F_ZERO) ? 0 :
					f->expect[s][i];

			if (try_read(p, &v)) {
				if (w->cmd.flags & F_FAULT)
					check_fault(w, p, "read");
				else
					werr(w, "read %p: unexpected SIGSEGV (si_addr %p, si_code %d)",
					     p, seg_addr, seg_code);
			} else if (w->cmd.flags & F_FAULT) {
				werr(w, "read %p returned %#llx instead of SIGSEGV (stale translation)",
				     p, (unsigned long long)v);
			} else if (v != want) {
				werr(w, "read %p = %#llx, expected %#llx (written by cpu %d)",
				     p, (unsigned long long)v,
				     (unsigned long long)want, f->w[s].cpu);
			}
		}
	}
	__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
}

static void do_probe_write(FIXTURE_DATA(tlb) *f, struct worker *w, int g)
{
	int i;

	w->faults = 0;
	for (i = 0; i < f->nprobe; i++) {
		uint64_t *p = slot_addr(f, i, w->idx);
		uint64_t v = MKVAL(w->cmd.tag, w->idx, f->iter, i);

		if ((w->cmd.flags & F_ENDS) && i && i != f->nprobe - 1)
			continue;

		if (try_write(p, v)) {
			if (w->cmd.flags & F_FAULT)
				check_fault(w, p, "write");
			else
				werr(w, "write %p: unexpected SIGSEGV (si_addr %p, si_code %d)",
				     p, seg_addr, seg_code);
		} else if (w->cmd.flags & F_FAULT) {
			/* expect[] is left alone: the readers must not see v */
			werr(w, "write %p succeeded instead of SIGSEGV (stale writable translation)",
			     p);
		} else {
			f->expect[w->idx][i] = v;
		}
	}
	__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	FIXTURE_DATA(tlb) *f = w->fixture;
	cpu_set_t set;
	int seen = 0, g;
	unsigned long spins;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	w->pin_err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
	w->ran_on = sched_getcpu();
	__atomic_store_n(&w->started, 1, __ATOMIC_RELEASE);

	for (;;) {
		/* Busy-wait, never sleep; yield now and then for a co-located
		 * initiator (yielding keeps the CPU in the mm). */
		spins = 0;
		while ((g = __atomic_load_n(&f->gen, __ATOMIC_ACQUIRE)) == seen) {
			cpu_relax();
			if (!(++spins & 1023))
				sched_yield();
		}
		seen = g;
		w->cmd = f->next;

		switch (w->cmd.op) {
		case OP_LOOP_READ:
			do_loop_read(f, w, g);
			break;
		case OP_LOOP_WRITE:
			do_loop_write(f, w, g);
			break;
		case OP_PROBE_READ:
			do_probe_read(f, w, g);
			break;
		case OP_PROBE_WRITE:
			do_probe_write(f, w, g);
			break;
		case OP_STOP:
			__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
			return NULL;
		default:
			werr(w, "unknown command %d", w->cmd.op);
			__atomic_store_n(&w->ack, g, __ATOMIC_RELEASE);
			break;
		}
	}
}

/* ------------------------------------------------------------------------ */
/* Main-thread helpers. */

static int discover_topology(struct topology *t)
{
	cpu_set_t allowed;
	int cpu, i, n;

	memset(t, 0, sizeof(*t));
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return -1;
	t->numa = numa_available() >= 0;

	for (cpu = 0; cpu < CPU_SETSIZE && t->ncpus < MAX_CPUS; cpu++) {
		int node = 0;

		if (!CPU_ISSET(cpu, &allowed))
			continue;
		if (t->numa) {
			node = numa_node_of_cpu(cpu);
			if (node < 0)
				node = 0;
		}
		for (n = 0; n < t->nnodes && t->node[n] != node; n++)
			;
		if (n == t->nnodes) {
			if (t->nnodes == MAX_NODES)
				continue;
			/* keep node[] sorted by id */
			for (n = t->nnodes; n > 0 && t->node[n - 1] > node; n--) {
				t->node[n] = t->node[n - 1];
				t->node_ncpus[n] = t->node_ncpus[n - 1];
				memcpy(t->node_cpu[n], t->node_cpu[n - 1],
				       sizeof(t->node_cpu[n]));
			}
			t->node[n] = node;
			t->node_ncpus[n] = 0;
			t->nnodes++;
		}
		i = t->ncpus++;
		t->cpu[i] = cpu;
		t->cpu_node[i] = node;
		t->node_cpu[n][t->node_ncpus[n]++] = i;
	}
	return t->ncpus ? 0 : -1;
}

static void format_topology(const struct topology *t, char *buf, size_t len)
{
	size_t off;
	int n, i;

	off = snprintf(buf, len, "%s, %d node(s), %d CPU(s):",
		       t->numa ? "libnuma" : "no NUMA (libnuma unavailable)",
		       t->nnodes, t->ncpus);
	for (n = 0; n < t->nnodes && off < len; n++) {
		off += snprintf(buf + off, len - off, " node%d{", t->node[n]);
		for (i = 0; i < t->node_ncpus[n] && off < len; i++)
			off += snprintf(buf + off, len - off, "%s%d",
					i ? "," : "cpu",
					t->cpu[t->node_cpu[n][i]]);
		if (off < len)
			off += snprintf(buf + off, len - off, "}");
	}
}

/* Contents of THP_SYSFS, or NULL if THP is not configured. */
static const char *thp_mode(char *buf, size_t len)
{
	FILE *fp = fopen(THP_SYSFS, "r");

	if (!fp)
		return NULL;
	if (!fgets(buf, len, fp))
		buf[0] = 0;
	fclose(fp);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* AnonHugePages (kB) of the mapping starting at addr, -1 if not found. */
static long anon_huge_kb(void *addr)
{
	char line[256], start[32];
	bool in = false;
	long kb = -1;
	FILE *fp;

	fp = fopen("/proc/self/smaps", "r");
	if (!fp)
		return -1;
	snprintf(start, sizeof(start), "%lx-", (unsigned long)addr);
	while (fgets(line, sizeof(line), fp)) {
		if (!strncmp(line, start, strlen(start))) {
			in = true;
		} else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) {
			break;
		}
	}
	fclose(fp);
	return kb;
}

/* Publish a command and wait until every worker acknowledged it. */
static int phase(FIXTURE_DATA(tlb) *self, int op, int flags, int want_code,
		 int tag)
{
	struct timespec t0;
	unsigned long spins = 0;
	int g = self->gen + 1, i;

	self->next.op = op;
	self->next.flags = flags;
	self->next.want_code = want_code;
	self->next.tag = tag;
	__atomic_store_n(&self->gen, g, __ATOMIC_RELEASE);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < self->nworkers; i++) {
		while (__atomic_load_n(&self->w[i].ack, __ATOMIC_ACQUIRE) != g) {
			cpu_relax();
			if (++spins & 255)
				continue;
			sched_yield();
			if (elapsed(&t0) > ACK_TIMEOUT)
				return -1 - i;
		}
	}
	return 0;
}

/* Check the workers' reports; want_faults < 0: fault count not checked. */
static int collect(struct __test_metadata *_metadata, FIXTURE_DATA(tlb) *self,
		   const char *what, long want_faults)
{
	int bad = 0, i;

	for (i = 0; i < self->nworkers; i++) {
		struct worker *w = &self->w[i];

		if (w->errors) {
			TH_LOG("%s (initiator cpu %d): worker cpu %d node %d: %lu error(s), first: %s",
			       what, self->init_cpu, w->cpu, w->node,
			       w->errors, w->msg);
			bad++;
		} else if (want_faults >= 0 &&
			   w->faults != (unsigned long)want_faults) {
			TH_LOG("%s (initiator cpu %d): worker cpu %d node %d: %lu SIGSEGV, expected %ld",
			       what, self->init_cpu, w->cpu, w->node,
			       w->faults, want_faults);
			bad++;
		}
	}
	return bad;
}

#define PHASE(op, flags, code, tag) do {					\
	int __ret = phase(self, op, flags, code, tag);			\
									\
	ASSERT_EQ(0, __ret)						\
		TH_LOG("worker on cpu %d did not answer within %.0f s",	\
		       self->w[-1 - __ret].cpu, ACK_TIMEOUT);		\
} while (0)

/* Pin the calling (main) thread to the given CPU. */
static void pin_self(struct __test_metadata *_metadata,
		     FIXTURE_DATA(tlb) *self, int idx)
{
	int cpu = self->topo.cpu[idx];
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	ASSERT_EQ(0, pthread_setaffinity_np(pthread_self(), sizeof(set), &set));
	ASSERT_EQ(cpu, sched_getcpu());
	self->init_cpu = cpu;
}

/* Map a fresh region (2 MiB aligned with MADV_HUGEPAGE for thp). */
static void map_region(struct __test_metadata *_metadata,
		       FIXTURE_DATA(tlb) *self,
		       const FIXTURE_VARIANT(tlb) *variant)
{
	size_t len = self->len, map_len = len;
	char *p, *aligned;

	if (variant->thp)
		map_len += THP_SIZE;
	p = mmap(NULL, map_len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	aligned = p;
	if (variant->thp) {
		aligned = (char *)(((uintptr_t)p + THP_SIZE - 1) &
				   ~(THP_SIZE - 1));
		if (aligned > p)
			ASSERT_EQ(0, munmap(p, aligned - p));
		if (p + map_len > aligned + len)
			ASSERT_EQ(0, munmap(aligned + len,
					    p + map_len - (aligned + len)));
		ASSERT_EQ(0, madvise(aligned, len, MADV_HUGEPAGE));
	}
	self->base = aligned;
}

/* The initiator fills every worker's slot of every probed page. */
static void fill_region(struct __test_metadata *_metadata,
			FIXTURE_DATA(tlb) *self,
			const FIXTURE_VARIANT(tlb) *variant)
{
	int i, s;

	for (i = 0; i < self->nprobe; i++) {
		for (s = 0; s < self->nworkers; s++) {
			uint64_t v = MKVAL(TAG_FILL, s, self->iter, i);

			*(volatile uint64_t *)slot_addr(self, i, s) = v;
			self->expect[s][i] = v;
		}
	}
	if (variant->thp && !self->thp_logged) {
		TH_LOG("THP region %p: AnonHugePages %ld kB", self->base,
		       anon_huge_kb(self->base));
		self->thp_logged = true;
	}
}

typedef void (*round_fn)(struct __test_metadata *_metadata,
			 FIXTURE_DATA(tlb) *self,
			 const FIXTURE_VARIANT(tlb) *variant, bool writers);

static double env_num(const char *name, double def)
{
	const char *s = getenv(name);
	char *end;
	double v;

	if (!s || !*s)
		return def;
	v = strtod(s, &end);
	return *end || v <= 0 ? def : v;
}

/*
 * Run rounds with the initiator on every node in turn (and on a different
 * CPU of that node each round), bounded by the time budget for slow guests.
 */
static void drive(struct __test_metadata *_metadata, FIXTURE_DATA(tlb) *self,
		  const FIXTURE_VARIANT(tlb) *variant, round_fn fn,
		  bool writers)
{
	int rounds = (int)env_num("TLB_TEST_ROUNDS", ROUNDS);
	double budget = env_num("TLB_TEST_SECONDS", TIME_BUDGET);
	struct topology *t = &self->topo;
	int r, n, i;

	clock_gettime(CLOCK_MONOTONIC, &self->t0);
	for (r = 0; r < rounds; r++) {
		for (n = 0; n < t->nnodes; n++) {
			if (r && elapsed(&self->t0) > budget)
				goto out;
			pin_self(_metadata, self,
				 t->node_cpu[n][r % t->node_ncpus[n]]);
			fn(_metadata, self, variant, writers);
			self->iter++;
			for (i = 0; i < self->nworkers; i++) {
				self->loop_passes += self->w[i].loop_passes;
				self->loops++;
			}
		}
	}
out:
	TH_LOG("%d round(s) with the initiator on %d node(s) in turn, %d workers, %d page(s) probed, %.1f passes per access loop, %.2f s",
	       self->iter, t->nnodes, self->nworkers, self->nprobe,
	       self->loops ? (double)self->loop_passes / self->loops : 0.0,
	       elapsed(&self->t0));
	ASSERT_GE(self->iter, t->nnodes);
}

/* ------------------------------------------------------------------------ */

FIXTURE_SETUP(tlb)
{
	struct sigaction sa;
	char buf[1024], mode[128];
	int i, npages;

	if (variant->thp) {
		if (!thp_mode(mode, sizeof(mode)))
			SKIP(return, "THP not available (no %s)", THP_SYSFS);
		if (strstr(mode, "[never]"))
			SKIP(return, "THP disabled (%s: %s)", THP_SYSFS, mode);
	}

	self->pagesize = sysconf(_SC_PAGESIZE);
	ASSERT_GE(self->pagesize, (size_t)MAX_CPUS * SLOT_STRIDE);
	npages = variant->npages ? variant->npages :
		 (int)(THP_SIZE / self->pagesize);
	self->len = (size_t)npages * self->pagesize;
	for (i = 0; i < npages && self->nprobe < MAX_PROBES;
	     i += variant->probe_step)
		self->probe[self->nprobe++] = i;
	if (self->probe[self->nprobe - 1] != npages - 1 &&
	    self->nprobe < MAX_PROBES)
		self->probe[self->nprobe++] = npages - 1;

	ASSERT_EQ(0, discover_topology(&self->topo));

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = segv_handler;
	/* NODEFER: siglongjmp() need not restore the mask (no syscall). */
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGSEGV, &sa, NULL));

	for (i = 0; i < self->topo.ncpus; i++) {
		struct worker *w = &self->w[i];

		w->fixture = self;
		w->idx = i;
		w->cpu = self->topo.cpu[i];
		w->node = self->topo.cpu_node[i];
		ASSERT_EQ(0, pthread_create(&w->thread, NULL, worker_main, w));
		self->nworkers++;
	}
	for (i = 0; i < self->nworkers; i++) {
		struct worker *w = &self->w[i];

		while (!__atomic_load_n(&w->started, __ATOMIC_ACQUIRE))
			sched_yield();
		ASSERT_EQ(0, w->pin_err);
		ASSERT_EQ(w->cpu, w->ran_on);
	}

	if (topology_logged && !__atomic_exchange_n(topology_logged, 1,
						    __ATOMIC_SEQ_CST)) {
		format_topology(&self->topo, buf, sizeof(buf));
		TH_LOG("topology: %s; page size %zu; THP %s", buf,
		       self->pagesize, thp_mode(mode, sizeof(mode)) ?: "n/a");
	}
}

FIXTURE_TEARDOWN(tlb)
{
	int i;

	if (!self->nworkers)
		return;
	/*
	 * Stop the workers (also after a failed assertion).  One that does
	 * not answer (the test already failed) is left to process exit.
	 */
	if (phase(self, OP_STOP, 0, 0, 0)) {
		TH_LOG("teardown: a worker did not stop");
		return;
	}
	for (i = 0; i < self->nworkers; i++)
		pthread_join(self->w[i].thread, NULL);
}

/* ------------------------------------------------------------------------ */

static void munmap_round(struct __test_metadata *_metadata,
			 FIXTURE_DATA(tlb) *self,
			 const FIXTURE_VARIANT(tlb) *variant, bool writers)
{
	(void)writers;
	map_region(_metadata, self, variant);
	fill_region(_metadata, self, variant);

	/* Everybody reads the range in a loop: hot TLB entries everywhere. */
	__atomic_store_n(&self->change_started, 0, __ATOMIC_RELEASE);
	PHASE(OP_LOOP_READ, F_FAULT, 0, 0);

	__atomic_store_n(&self->change_started, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, munmap(self->base, self->len));

	/* munmap() returned: no CPU may still reach the pages. */
	PHASE(OP_PROBE_READ, F_FAULT, SEGV_MAPERR, 0);
	ASSERT_EQ(0, collect(_metadata, self, "read after munmap",
			     self->nprobe));
}

static void mprotect_round(struct __test_metadata *_metadata,
			   FIXTURE_DATA(tlb) *self,
			   const FIXTURE_VARIANT(tlb) *variant, bool writers)
{
	map_region(_metadata, self, variant);
	fill_region(_metadata, self, variant);

	/* Readers warm (writable, dirty) entries; writers keep storing. */
	__atomic_store_n(&self->change_started, 0, __ATOMIC_RELEASE);
	if (writers) {
		PHASE(OP_LOOP_WRITE, F_FAULT, SEGV_ACCERR, 0);
	} else {
		PHASE(OP_LOOP_READ, 0, 0, 0);
	}

	__atomic_store_n(&self->change_started, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, mprotect(self->base, self->len, PROT_READ));

	/* Read-only now: every write faults on every CPU ... */
	PHASE(OP_PROBE_WRITE, F_FAULT, SEGV_ACCERR, TAG_POISON);
	ASSERT_EQ(0, collect(_metadata, self, "write after mprotect(PROT_READ)",
			     self->nprobe));

	/* ... and everybody still reads the last values (no lost write). */
	PHASE(OP_PROBE_READ, F_ALL, 0, 0);
	ASSERT_EQ(0, collect(_metadata, self, "read after mprotect(PROT_READ)",
			     0));

	ASSERT_EQ(0, mprotect(self->base, self->len, PROT_READ | PROT_WRITE));

	/* Writable again: each worker's store is seen by all the others. */
	PHASE(OP_PROBE_WRITE, 0, 0, TAG_RW);
	ASSERT_EQ(0, collect(_metadata, self,
			     "write after mprotect(PROT_READ|PROT_WRITE)", 0));
	PHASE(OP_PROBE_READ, F_ALL, 0, 0);
	ASSERT_EQ(0, collect(_metadata, self,
			     "read after mprotect(PROT_READ|PROT_WRITE)", 0));

	ASSERT_EQ(0, munmap(self->base, self->len));
}

static void dontneed_round(struct __test_metadata *_metadata,
			   FIXTURE_DATA(tlb) *self,
			   const FIXTURE_VARIANT(tlb) *variant, bool writers)
{
	(void)writers;
	map_region(_metadata, self, variant);
	fill_region(_metadata, self, variant);

	/* Readers see the data, or 0 once the zap has started. */
	__atomic_store_n(&self->change_started, 0, __ATOMIC_RELEASE);
	PHASE(OP_LOOP_READ, F_ZERO_OK, 0, 0);

	__atomic_store_n(&self->change_started, 1, __ATOMIC_SEQ_CST);
	ASSERT_EQ(0, madvise(self->base, self->len, MADV_DONTNEED));

	/* Zapped: every CPU reads zeroes, never the old data. */
	PHASE(OP_PROBE_READ, F_ALL | F_ZERO, 0, 0);
	ASSERT_EQ(0, collect(_metadata, self, "read after MADV_DONTNEED", 0));

	/*
	 * A stale entry would send a store to the freed page, or a load to
	 * it, even if that page was zeroed on free: all must agree.  Each
	 * page costs a COW of the zero page (a flush of all CPUs), which is
	 * slow on TCG, so only the first and the last probed page.
	 */
	PHASE(OP_PROBE_WRITE, F_ENDS, 0, TAG_POST);
	ASSERT_EQ(0, collect(_metadata, self, "write after MADV_DONTNEED", 0));
	PHASE(OP_PROBE_READ, F_ALL | F_ENDS, 0, 0);
	ASSERT_EQ(0, collect(_metadata, self,
			     "read back after MADV_DONTNEED", 0));

	ASSERT_EQ(0, munmap(self->base, self->len));
}

/* The harness' TEST_F wrapper itself trips -Wclobbered (-Wextra). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"

TEST_F_TIMEOUT(tlb, munmap, TEST_TIMEOUT)
{
	drive(_metadata, self, variant, munmap_round, false);
}

TEST_F_TIMEOUT(tlb, mprotect_readers, TEST_TIMEOUT)
{
	drive(_metadata, self, variant, mprotect_round, false);
}

TEST_F_TIMEOUT(tlb, mprotect_writers, TEST_TIMEOUT)
{
	drive(_metadata, self, variant, mprotect_round, true);
}

TEST_F_TIMEOUT(tlb, madv_dontneed, TEST_TIMEOUT)
{
	drive(_metadata, self, variant, dontneed_round, false);
}

#pragma GCC diagnostic pop

TEST_HARNESS_MAIN
