// SPDX-License-Identifier: GPL-2.0
/*
 * numapte_torture - threads hopping between NUMA nodes change and check
 * mappings at random, and every access must agree with a model.
 *
 *   numapte_torture [--seconds N] [--threads N] [--seed S] [--quiet]
 *                   [--break-mprotect]
 *
 * Memory is a set of slots, each one 64-page region with two 2 MiB-aligned
 * homes (A and B, so that every slot has page tables of its own and mremap
 * moves it between them):
 *  - one private slot per thread, touched only by that thread, which keeps
 *    hopping to a random CPU: the tables it left on other nodes must still
 *    be flushed when it changes them (a stale entry would be used when it
 *    comes back);
 *  - shared slots (anonymous, or MAP_SHARED on a memfd) that any thread may
 *    change under the slot's lock and every thread checks without it.
 * The changes: write, mprotect, munmap, mmap, MADV_DONTNEED, MADV_FREE (and
 * rewrite), MADV_PAGEOUT, mremap to the other home, move_pages() to random
 * nodes, fork (the child checks every slot and writes its own copies).
 *
 * The model of a slot (per page: unmapped / PROT_NONE / read-only /
 * read-write and the value of its first word) changes only under the slot
 * lock, inside a seqcount.  A check reads the seqcount, the model, then
 * the page (read, and a same-value compare-and-swap, which needs write
 * permission), then the seqcount again: if no change ran in between, a
 * read that did not fault where the model says it must, a write that went
 * through a read-only page, or a value that is not the last one written is
 * an error: a stale TLB entry, a lost dirty bit or wrong data.
 *
 * Each thread's choices come from its own generator seeded from --seed:
 * a failure prints the seed, and the same seed replays the same sequence
 * of operations per thread (the interleaving is up to the machine).
 * --break-mprotect is the checker's own test: the model follows mprotect()
 * calls that are not made, as if the kernel had left old translations in
 * place, and the run must fail.
 * Exit status: 0 clean, 1 failure (or a thread did not stop: hang), 2 bad
 * usage.
 */
#include <errno.h>
#include <getopt.h>
#include <numa.h>
#include <numaif.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGE		4096UL
#define SLOT_PAGES	64
#define SLOT_LEN	(SLOT_PAGES * PAGE)
#define HOME_SPAN	(2UL << 20)
#define MAX_THREADS	256
#define MAX_NODES	64

/* Per-page state in the model. */
enum { P_UNMAPPED, P_NONE, P_READ, P_WRITE };
static const int prot_of[] = { 0, PROT_NONE, PROT_READ, PROT_READ | PROT_WRITE };
static const char *const state_name[] = { "unmapped", "PROT_NONE", "read-only", "read-write" };

enum op {
	OP_CHECK, OP_WRITE, OP_MPROTECT, OP_MUNMAP, OP_MMAP, OP_DONTNEED,
	OP_FREE, OP_PAGEOUT, OP_MREMAP, OP_MOVE_PAGES, OP_FORK, OP_HOP, NR_OPS
};
static const char *const op_name[] = {
	"check", "write", "mprotect", "munmap", "mmap", "dontneed",
	"free", "pageout", "mremap", "move_pages", "fork", "hop",
};
/* Relative frequency of each operation; forks and hops are not drawn. */
static const int op_weight[] = { 60, 12, 8, 4, 6, 3, 2, 2, 1, 2, 0, 0 };
#define OP_WEIGHT_TOTAL	100
#define FORK_ONE_IN	2048
#define HOP_EVERY	64

struct slot {
	pthread_mutex_t lock;		/* serialises changes of the slot */
	atomic_uint seq;		/* odd while a change runs */
	char *home[2];			/* the two 2 MiB-aligned homes */
	int active;			/* which home holds the mapping */
	int memfd;			/* -1: anonymous MAP_PRIVATE */
	int owner;			/* thread index, -1: shared */
	bool dead;			/* another mapping took a home */
	unsigned char state[SLOT_PAGES];
	uint64_t val[SLOT_PAGES];	/* first word of each page */
};

struct worker {
	pthread_t th;
	int idx;
	uint64_t rng;
	unsigned long ops[NR_OPS];
};

static struct {
	int seconds, threads, quiet, break_mprotect;
	uint64_t seed;
	int ncpus, nnodes;
	int cpus[1024];
	struct slot *slots;
	int nslots;
	struct worker workers[MAX_THREADS];
	atomic_int stop, failed;
	/* Changes hold it for reading, fork for writing: a consistent child. */
	pthread_rwlock_t fork_lock;
} g;

/* ---- randomness, reproducible per thread ---- */

static uint64_t rnd(struct worker *w)
{
	uint64_t x = w->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return w->rng = x;
}

static unsigned int rnd_below(struct worker *w, unsigned int n)
{
	return rnd(w) % n;
}

/* ---- failure reports ---- */

static void fail(struct worker *w, const char *fmt, ...)
{
	va_list ap;

	if (atomic_exchange(&g.failed, 1))
		return;
	va_start(ap, fmt);
	fprintf(stderr, "numapte_torture: FAIL thread %d on CPU %d (node %d): ",
		w ? w->idx : -1, sched_getcpu(), numa_node_of_cpu(sched_getcpu()));
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nnumapte_torture: replay with --seed 0x%llx --threads %d\n",
		(unsigned long long)g.seed, g.threads);
	atomic_store(&g.stop, 1);
}

/* ---- probing pages: a fault is an answer, not a crash ---- */

static __thread sigjmp_buf probe_jmp;
static __thread volatile int probe_armed;

static void segv_handler(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (probe_armed) {
		probe_armed = 0;
		siglongjmp(probe_jmp, 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Read the first word of @addr: 0 and *@v, or 1 if it faulted. */
static int probe_read(const char *addr, uint64_t *v)
{
	if (sigsetjmp(probe_jmp, 1))
		return 1;
	probe_armed = 1;
	*v = *(volatile const uint64_t *)addr;
	probe_armed = 0;
	return 0;
}

/* Compare-and-swap @v for @v: needs write permission, changes nothing. */
static int probe_write(char *addr, uint64_t v)
{
	uint64_t expect = v;

	if (sigsetjmp(probe_jmp, 1))
		return 1;
	probe_armed = 1;
	__atomic_compare_exchange_n((uint64_t *)addr, &expect, v, false,
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	probe_armed = 0;
	return 0;
}

static char *page_addr(struct slot *s, int home, int pg)
{
	return s->home[home] + pg * PAGE;
}

/*
 * Check page @pg of @s against the model, if no change of the slot ran
 * meanwhile; its value too if @values.  Returns false on a mismatch
 * (already reported).
 */
static bool check_page(struct worker *w, struct slot *s, int pg, bool values)
{
	unsigned int seq = atomic_load(&s->seq);
	int st, home, rf, wf = -1, of;
	uint64_t val, got = 0, other;

	if (seq & 1)
		return true;
	st = __atomic_load_n(&s->state[pg], __ATOMIC_RELAXED);
	val = __atomic_load_n(&s->val[pg], __ATOMIC_RELAXED);
	home = __atomic_load_n(&s->active, __ATOMIC_RELAXED);
	atomic_thread_fence(memory_order_seq_cst);
	rf = probe_read(page_addr(s, home, pg), &got);
	if (!rf && st == P_WRITE)
		wf = probe_write(page_addr(s, home, pg), val);
	else if (!rf && st == P_READ)
		wf = probe_write(page_addr(s, home, pg), got);
	of = probe_read(page_addr(s, !home, pg), &other);
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&s->seq) != seq)
		return true;
	w->ops[OP_CHECK]++;
	if ((st == P_UNMAPPED || st == P_NONE) && !rf)
		fail(w, "slot %ld page %d is %s but a read returned %#llx (stale translation)",
		     s - g.slots, pg, state_name[st], (unsigned long long)got);
	else if ((st == P_READ || st == P_WRITE) && rf)
		fail(w, "slot %ld page %d is %s but a read faulted",
		     s - g.slots, pg, state_name[st]);
	else if ((st == P_READ || st == P_WRITE) && values && got != val)
		fail(w, "slot %ld page %d (%s) holds %#llx, last written %#llx",
		     s - g.slots, pg, state_name[st], (unsigned long long)got,
		     (unsigned long long)val);
	else if (st == P_READ && !wf)
		fail(w, "slot %ld page %d is read-only but a write went through (stale translation)",
		     s - g.slots, pg);
	else if (st == P_WRITE && wf)
		fail(w, "slot %ld page %d is read-write but a write faulted",
		     s - g.slots, pg);
	else if (!of)
		fail(w, "slot %ld page %d: the old home (before mremap) is still readable",
		     s - g.slots, pg);
	else
		return true;
	return false;
}

/* ---- changes, under the slot lock and inside its seqcount ---- */

static void change_begin(struct slot *s)
{
	pthread_rwlock_rdlock(&g.fork_lock);
	atomic_fetch_add(&s->seq, 1);
}

static void change_end(struct slot *s)
{
	atomic_fetch_add(&s->seq, 1);
	pthread_rwlock_unlock(&g.fork_lock);
}

static void set_state(struct slot *s, int a, int b, int st)
{
	for (; a < b; a++)
		__atomic_store_n(&s->state[a], st, __ATOMIC_RELAXED);
}

static void set_val(struct slot *s, int pg, uint64_t v)
{
	__atomic_store_n(&s->val[pg], v, __ATOMIC_RELAXED);
}

/* A random run [*a, *b) of pages all mapped (@want: -1) or all unmapped. */
static bool pick_run(struct worker *w, struct slot *s, bool mapped, int *a, int *b)
{
	int pg = rnd_below(w, SLOT_PAGES), len = 1 + rnd_below(w, SLOT_PAGES);

	if ((s->state[pg] != P_UNMAPPED) != mapped)
		return false;
	*a = pg;
	while (pg < SLOT_PAGES && pg - *a < len &&
	       (s->state[pg] != P_UNMAPPED) == mapped)
		pg++;
	*b = pg;
	return true;
}

static bool syscall_ok(struct worker *w, struct slot *s, int ret, const char *what)
{
	if (!ret)
		return true;
	fail(w, "slot %ld: %s: %s", s - g.slots, what, strerror(errno));
	return false;
}

static void do_write(struct worker *w, struct slot *s)
{
	int pg = rnd_below(w, SLOT_PAGES);
	uint64_t v = rnd(w) | 1;

	if (s->state[pg] != P_WRITE)
		return;
	*(volatile uint64_t *)page_addr(s, s->active, pg) = v;
	set_val(s, pg, v);
	w->ops[OP_WRITE]++;
}

static void do_mprotect(struct worker *w, struct slot *s)
{
	int a, b, st = P_NONE + rnd_below(w, 3);

	if (!pick_run(w, s, true, &a, &b))
		return;
	if (!g.break_mprotect &&
	    !syscall_ok(w, s, mprotect(page_addr(s, s->active, a), (b - a) * PAGE,
				      prot_of[st]), "mprotect"))
		return;
	set_state(s, a, b, st);
	w->ops[OP_MPROTECT]++;
}

static void do_munmap(struct worker *w, struct slot *s)
{
	int a = 0, b = SLOT_PAGES;

	/* One in four unmaps the whole slot: its page tables go too. */
	if (rnd_below(w, 4) && !pick_run(w, s, true, &a, &b))
		return;
	if (!syscall_ok(w, s, munmap(page_addr(s, s->active, a), (b - a) * PAGE),
			"munmap"))
		return;
	set_state(s, a, b, P_UNMAPPED);
	w->ops[OP_MUNMAP]++;
}

/* Map [a, b) of @s at its active home with state @st; false if taken. */
static bool map_run(struct worker *w, struct slot *s, int a, int b, int st)
{
	int flags = MAP_FIXED_NOREPLACE | (s->memfd < 0 ?
		    MAP_PRIVATE | MAP_ANONYMOUS : MAP_SHARED);
	char *want = page_addr(s, s->active, a);
	char *p = mmap(want, (b - a) * PAGE, prot_of[st], flags, s->memfd,
		       s->memfd < 0 ? 0 : a * PAGE);

	if (p == MAP_FAILED && errno == EEXIST) {
		/* Something else was placed in the hole: leave the slot. */
		s->dead = true;
		return false;
	}
	if (p != want) {
		fail(w, "slot %ld: mmap: %s", s - g.slots,
		     p == MAP_FAILED ? strerror(errno) : "wrong address");
		return false;
	}
	set_state(s, a, b, st);
	if (s->memfd < 0)
		for (; a < b; a++)
			set_val(s, a, 0);
	return true;
}

static void do_mmap(struct worker *w, struct slot *s)
{
	int a, b;

	if (pick_run(w, s, false, &a, &b) &&
	    map_run(w, s, a, b, P_NONE + rnd_below(w, 3)))
		w->ops[OP_MMAP]++;
}

static void do_dontneed(struct worker *w, struct slot *s)
{
	int a, b;

	if (!pick_run(w, s, true, &a, &b))
		return;
	if (!syscall_ok(w, s, madvise(page_addr(s, s->active, a), (b - a) * PAGE,
				      MADV_DONTNEED), "MADV_DONTNEED"))
		return;
	/* Anonymous memory reads back zero; a memfd keeps its data. */
	if (s->memfd < 0)
		for (; a < b; a++)
			set_val(s, a, 0);
	w->ops[OP_DONTNEED]++;
}

/* MADV_FREE a writable run, then write it again: it must survive reclaim. */
static void do_free(struct worker *w, struct slot *s)
{
	int a, b, pg;
	uint64_t v;

	if (s->memfd >= 0 || !pick_run(w, s, true, &a, &b))
		return;
	for (pg = a; pg < b; pg++)
		if (s->state[pg] != P_WRITE)
			return;
	if (!syscall_ok(w, s, madvise(page_addr(s, s->active, a), (b - a) * PAGE,
				      MADV_FREE), "MADV_FREE"))
		return;
	for (pg = a; pg < b; pg++) {
		v = rnd(w) | 1;
		*(volatile uint64_t *)page_addr(s, s->active, pg) = v;
		set_val(s, pg, v);
	}
	w->ops[OP_FREE]++;
}

static void do_pageout(struct worker *w, struct slot *s)
{
	int a, b;

	if (!pick_run(w, s, true, &a, &b))
		return;
	if (syscall_ok(w, s, madvise(page_addr(s, s->active, a), (b - a) * PAGE,
				     MADV_PAGEOUT), "MADV_PAGEOUT"))
		w->ops[OP_PAGEOUT]++;
}

/* Map every hole, give the slot one protection and move it home. */
static void do_mremap(struct worker *w, struct slot *s)
{
	int a, b, st = P_NONE + rnd_below(w, 3);
	char *to = s->home[!s->active], *p;

	for (a = 0; a < SLOT_PAGES; a = b) {
		for (b = a; b < SLOT_PAGES && s->state[b] == P_UNMAPPED; b++)
			;
		if (b > a && !map_run(w, s, a, b, P_READ))
			return;
		b += b == a;
	}
	if (!syscall_ok(w, s, mprotect(s->home[s->active], SLOT_LEN, prot_of[st]),
			"mprotect before mremap"))
		return;
	set_state(s, 0, SLOT_PAGES, st);
	/* The other home must be empty: msync() says ENOMEM if it is. */
	if (msync(to, SLOT_LEN, 0) == 0 || errno != ENOMEM) {
		s->dead = true;
		return;
	}
	p = mremap(s->home[s->active], SLOT_LEN, SLOT_LEN,
		   MREMAP_MAYMOVE | MREMAP_FIXED, to);
	/* Anonymous mappings of separate mmaps may not merge into one VMA. */
	if (p == MAP_FAILED && errno == EFAULT)
		return;
	if (p != to) {
		fail(w, "slot %ld: mremap: %s", s - g.slots,
		     p == MAP_FAILED ? strerror(errno) : "wrong address");
		return;
	}
	__atomic_store_n(&s->active, !s->active, __ATOMIC_RELAXED);
	w->ops[OP_MREMAP]++;
}

static void do_move_pages(struct worker *w, struct slot *s)
{
	void *pages[8];
	int nodes[8], status[8], n = 0, i;

	if (g.nnodes < 2)
		return;
	for (i = 0; i < 8; i++) {
		int pg = rnd_below(w, SLOT_PAGES);

		if (s->state[pg] == P_UNMAPPED)
			continue;
		pages[n] = page_addr(s, s->active, pg);
		nodes[n++] = rnd_below(w, g.nnodes);
	}
	if (!n)
		return;
	/* Per-page failures (-EFAULT for PROT_NONE, -EBUSY) are fine. */
	if (move_pages(0, n, pages, nodes, status, MPOL_MF_MOVE) < 0 &&
	    errno != ENOENT && errno != EBUSY && errno != ENOMEM) {
		fail(w, "slot %ld: move_pages: %s", s - g.slots, strerror(errno));
		return;
	}
	w->ops[OP_MOVE_PAGES]++;
}

/* ---- fork: the child sees the parent's memory as it was ---- */

/* In the child: check every slot, then write and read its own copies. */
static int child_check(void)
{
	struct worker w = { .idx = -2 };
	uint64_t v;
	int i, pg;

	for (i = 0; i < g.nslots; i++) {
		struct slot *s = &g.slots[i];

		if (s->dead)
			continue;
		/* The parent goes on writing a memfd: check access only. */
		for (pg = 0; pg < SLOT_PAGES; pg++)
			if (!check_page(&w, s, pg, s->memfd < 0))
				return 1;
		if (s->memfd >= 0)
			continue;
		for (pg = 0; pg < SLOT_PAGES; pg++) {
			if (s->state[pg] != P_WRITE)
				continue;
			*(volatile uint64_t *)page_addr(s, s->active, pg) = ~s->val[pg];
			if (probe_read(page_addr(s, s->active, pg), &v) || v != ~s->val[pg])
				return 1;
		}
	}
	return 0;
}

static void do_fork(struct worker *w)
{
	int status;
	pid_t pid;

	pthread_rwlock_wrlock(&g.fork_lock);
	pid = fork();
	if (!pid)
		_exit(child_check());
	pthread_rwlock_unlock(&g.fork_lock);
	if (pid < 0) {
		fail(w, "fork: %s", strerror(errno));
		return;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fail(w, "forked child found its copy of the memory wrong (status %#x)",
		     status);
		return;
	}
	w->ops[OP_FORK]++;
}

/* ---- the workers ---- */

static void hop(struct worker *w)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(g.cpus[rnd_below(w, g.ncpus)], &set);
	if (!sched_setaffinity(0, sizeof(set), &set))
		w->ops[OP_HOP]++;
}

static enum op pick_op(struct worker *w)
{
	int i, r = rnd_below(w, OP_WEIGHT_TOTAL);

	for (i = 0; r >= op_weight[i]; i++)
		r -= op_weight[i];
	return i;
}

static void change(struct worker *w, struct slot *s, enum op op)
{
	pthread_mutex_lock(&s->lock);
	if (s->dead) {
		pthread_mutex_unlock(&s->lock);
		return;
	}
	change_begin(s);
	switch (op) {
	case OP_WRITE: do_write(w, s); break;
	case OP_MPROTECT: do_mprotect(w, s); break;
	case OP_MUNMAP: do_munmap(w, s); break;
	case OP_MMAP: do_mmap(w, s); break;
	case OP_DONTNEED: do_dontneed(w, s); break;
	case OP_FREE: do_free(w, s); break;
	case OP_PAGEOUT: do_pageout(w, s); break;
	case OP_MREMAP: do_mremap(w, s); break;
	case OP_MOVE_PAGES: do_move_pages(w, s); break;
	default: break;
	}
	change_end(s);
	pthread_mutex_unlock(&s->lock);
}

static void *worker(void *arg)
{
	struct worker *w = arg;
	struct slot *mine = &g.slots[w->idx];
	unsigned long n;
	enum op op;

	for (n = 0; !atomic_load(&g.stop); n++) {
		struct slot *s;

		if (n % HOP_EVERY == 0)
			hop(w);
		if (rnd_below(w, FORK_ONE_IN) == 0) {
			do_fork(w);
			continue;
		}
		/* Half of the time the thread's own slot, else a shared one. */
		s = rnd_below(w, 2) ? mine :
		    &g.slots[g.threads + rnd_below(w, g.nslots - g.threads)];
		op = pick_op(w);
		if (op == OP_CHECK) {
			if (!s->dead)
				check_page(w, s, rnd_below(w, SLOT_PAGES), true);
		} else {
			change(w, s, op);
		}
	}
	return NULL;
}

/* ---- setup ---- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: numapte_torture [--seconds N] [--threads N] [--seed S] [--quiet]\n"
"  --seconds N   how long to run (default 60)\n"
"  --threads N   worker threads (default: 2 per CPU, at most %d)\n"
"  --seed S      replay a run (default: from the clock, printed)\n"
"  --quiet       print only the result line\n"
"  --break-mprotect  test the checker: skip mprotect() calls, must fail\n",
		MAX_THREADS);
}

static long parse_num(const char *opt, const char *val, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 0);
	if (errno || *end || v < min || v > max) {
		fprintf(stderr, "numapte_torture: --%s: '%s' is not in %ld..%ld\n",
			opt, val, min, max);
		usage(stderr);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 't' },
		{ "seed", required_argument, NULL, 'S' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "break-mprotect", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	g.seconds = 60;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': g.seconds = parse_num("seconds", optarg, 1, 86400); break;
		case 't': g.threads = parse_num("threads", optarg, 1, MAX_THREADS); break;
		case 'S':
			errno = 0;
			g.seed = strtoull(optarg, &end, 0);
			if (errno || *end || !g.seed) {
				fprintf(stderr, "numapte_torture: --seed: '%s' is not a non-zero number\n",
					optarg);
				exit(2);
			}
			break;
		case 'q': g.quiet = 1; break;
		case 'B': g.break_mprotect = 1; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "numapte_torture: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		exit(2);
	}
}

static void find_cpus(void)
{
	cpu_set_t set;
	int cpu;

	if (sched_getaffinity(0, sizeof(set), &set)) {
		perror("sched_getaffinity");
		exit(1);
	}
	for (cpu = 0; cpu < CPU_SETSIZE && g.ncpus < 1024; cpu++)
		if (CPU_ISSET(cpu, &set))
			g.cpus[g.ncpus++] = cpu;
	g.nnodes = numa_available() < 0 ? 1 : numa_max_node() + 1;
}

/*
 * Homes far below the mmap base: the kernel places new mappings in the
 * highest hole that fits, so it rarely picks ours (if it does, the slot
 * is left alone: MAP_FIXED_NOREPLACE and the msync() probe find out).
 */
static void make_slots(void)
{
	size_t span = (size_t)g.nslots * 2 * HOME_SPAN;
	char *base = mmap((void *)(16UL << 40), span + HOME_SPAN, PROT_NONE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	int i, pg;

	if (base == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	base = (char *)(((uintptr_t)base + HOME_SPAN - 1) & ~(HOME_SPAN - 1));
	g.slots = calloc(g.nslots, sizeof(*g.slots));
	if (!g.slots) {
		perror("calloc");
		exit(1);
	}
	for (i = 0; i < g.nslots; i++) {
		struct slot *s = &g.slots[i];

		pthread_mutex_init(&s->lock, NULL);
		s->home[0] = base + (size_t)i * 2 * HOME_SPAN;
		s->home[1] = s->home[0] + HOME_SPAN;
		s->owner = i < g.threads ? i : -1;
		s->memfd = -1;
		/* Every other shared slot is a shared file mapping. */
		if (s->owner < 0 && i % 2) {
			s->memfd = memfd_create("numapte_torture", 0);
			if (s->memfd < 0 || ftruncate(s->memfd, SLOT_LEN)) {
				perror("memfd");
				exit(1);
			}
		}
		if (munmap(s->home[0], 2 * HOME_SPAN) ||
		    !map_run(NULL, s, 0, SLOT_PAGES, P_WRITE)) {
			fprintf(stderr, "numapte_torture: cannot map slot %d\n", i);
			exit(1);
		}
		for (pg = 0; pg < SLOT_PAGES; pg++) {
			s->val[pg] = ((uint64_t)i << 32 | pg) | 1;
			*(uint64_t *)page_addr(s, 0, pg) = s->val[pg];
		}
	}
}

static bool join_all(int grace)
{
	struct timespec ts;
	int i;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += grace;
	for (i = 0; i < g.threads; i++)
		if (pthread_timedjoin_np(g.workers[i].th, NULL, &ts))
			return false;
	return true;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_sigaction = segv_handler,
				.sa_flags = SA_SIGINFO | SA_NODEFER };
	pthread_rwlockattr_t ra;
	unsigned long total[NR_OPS] = {}, sum = 0;
	int i, k;

	for (i = 0, k = 0; i < NR_OPS; i++)
		k += op_weight[i];
	if (k != OP_WEIGHT_TOTAL)
		return 2;
	parse_args(argc, argv);
	find_cpus();
	if (!g.threads)
		g.threads = g.ncpus * 2 > MAX_THREADS ? MAX_THREADS : g.ncpus * 2;
	if (!g.seed)
		g.seed = (uint64_t)time(NULL) * 2654435761u ^ getpid();
	g.nslots = g.threads * 2;
	if (!g.quiet)
		printf("numapte_torture: seed 0x%llx, %d threads, %d CPUs, %d nodes, %d s\n",
		       (unsigned long long)g.seed, g.threads, g.ncpus, g.nnodes, g.seconds);
	fflush(stdout);
	sigaction(SIGSEGV, &sa, NULL);
	pthread_rwlockattr_init(&ra);
	pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&g.fork_lock, &ra);
	make_slots();
	for (i = 0; i < g.threads; i++) {
		struct worker *w = &g.workers[i];

		w->idx = i;
		w->rng = g.seed ^ (0x9e3779b97f4a7c15ULL * (i + 1));
		if (pthread_create(&w->th, NULL, worker, w)) {
			perror("pthread_create");
			return 1;
		}
	}
	for (i = 0; i < g.seconds * 10 && !atomic_load(&g.stop); i++)
		usleep(100000);
	atomic_store(&g.stop, 1);
	if (!join_all(60)) {
		fprintf(stderr, "numapte_torture: FAIL a thread did not stop within 60 s (hang); seed 0x%llx\n",
			(unsigned long long)g.seed);
		return 1;
	}
	for (i = 0; i < g.threads; i++)
		for (k = 0; k < NR_OPS; k++)
			total[k] += g.workers[i].ops[k];
	printf("numapte_torture: %s seed=0x%llx seconds=%d threads=%d ops:",
	       atomic_load(&g.failed) ? "FAIL" : "PASS", (unsigned long long)g.seed,
	       g.seconds, g.threads);
	for (k = 0; k < NR_OPS; k++) {
		printf(" %s=%lu", op_name[k], total[k]);
		sum += k == OP_HOP ? 0 : total[k];
	}
	printf(" total=%lu\n", sum);
	return atomic_load(&g.failed) ? 1 : 0;
}
