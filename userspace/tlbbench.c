/*
 * tlbbench - TLB shootdown microbenchmark for numaPTE.
 *
 * One invocation runs one case: pinned threads repeatedly perform one memory
 * management operation on anonymous memory whose translations were made warm
 * (every page accessed) by the threads that should hold them, so each op has
 * to shoot down real TLB entries. It prints one result:
 *
 *   - per-op latency, median and p99 (nearest rank) over all timed ops of all
 *     op-doing threads, measured with CLOCK_MONOTONIC around each op;
 *   - TLB shootdown IPIs received per op, in total and per NUMA node (delta
 *     of the "TLB:" row of /proc/interrupts, mapped to CPUs via its header);
 *   - nr_tlb_remote_flush{,_received} per op from /proc/vmstat ("na" without
 *     CONFIG_DEBUG_TLBFLUSH);
 *   - VmPTE of this process and nr_page_table_pages at the end of the timed
 *     phase, while all regions are still mapped;
 *   - the delta of every numapte_* counter in /proc/vmstat;
 *   - the value of /proc/sys/vm/numapte ("na" if absent; never written).
 *
 * Counters are snapshotted by the main thread after warmup and after all
 * threads finished the timed phase (barriers on both sides), so they cover
 * exactly the timed phase of this process, including its untimed helper
 * steps (re-touching, the munmap after a timed touch, ...), but they are
 * system-wide: run on an otherwise idle machine.
 *
 * Output is a table, one CSV row (header: CSV_HEADER) or one JSON object per
 * line. Run with --help for the options. Exit status: 0 ok, 1 a call failed
 * at run time, 2 bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <numa.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "numapte-stats.h"

#define PAGE_SZ		4096UL
#define HPAGE_SZ	(2UL << 20)
#define CACHELINE	64
#define MAX_THREADS	CPU_SETSIZE
#define NUMAPTE_SYSCTL	"/proc/sys/vm/numapte"
#define CSV_HEADER	"label,op,pattern,placement,mode,threads,size,iters,numapte,ops," \
			"median_ns,p99_ns,tlb_ipi_per_op,tlb_ipi_per_node_per_op," \
			"remote_flush_per_op,remote_flush_received_per_op,vmpte_kb," \
			"numapte_counters"

enum op { OP_MUNMAP, OP_MPROTECT, OP_MADVISE, OP_TOUCH };
enum pattern { PAT_PRIVATE, PAT_SHARED };
enum mode { MODE_WORKERS, MODE_OBSERVER };
enum format { FMT_TABLE, FMT_CSV, FMT_JSON };

static const char *const op_names[] = { "munmap", "mprotect", "madvise", "touch", NULL };
static const char *const pattern_names[] = { "private", "shared", NULL };
static const char *const mode_names[] = { "workers", "observer", NULL };
static const char *const format_names[] = { "table", "csv", "json", NULL };

struct config {
	enum op op;
	enum pattern pattern;
	enum mode mode;
	enum format format;
	size_t size;		/* bytes per thread (per slice when shared) */
	bool thp;
	int threads;
	bool oversubscribe;
	const char *placement;	/* as given on the command line */
	char *placement_str;	/* canonical, comma-free rendering */
	int *thread_cpu;	/* CPU of each thread */
	int iters, warmup;
	bool header;
	char *label;
};

/* Which CPUs exist, which node each is on, and which we may run on. */
struct topology {
	int ncpus;		/* cpu_node[] covers CPUs 0..ncpus-1 */
	int *cpu_node;		/* -1 if unknown */
	int nnodes;		/* nodes are 0..nnodes-1 */
	cpu_set_t usable;	/* this process's affinity mask */
};

struct bench;

struct worker {
	struct bench *b;
	int idx;
	pthread_t tid;
	char *region;		/* private region, while mapped */
	char *slot;		/* where the last per-iteration region was */
	uint64_t *samples;	/* ns per timed op */
	size_t nsamples;
};

/*
 * The workers' lock step spins instead of sleeping: a thread asleep
 * in pthread_barrier_wait leaves its CPU idle, the idle CPU switches to lazy
 * TLB mode, and a shootdown that frees no page table skips lazy CPUs. That
 * would make the IPI count depend on who happened to be asleep rather than on
 * which CPUs hold the translations. sched_yield() only gives the CPU away to
 * another runnable task, never to idle.
 */
struct spin_barrier {
	atomic_uint arrived;
	atomic_uint generation;
	unsigned int parties;
};

struct bench {
	const struct config *cfg;
	int nops;		/* threads doing ops: all, or 1 in observer mode */
	pthread_barrier_t start;	/* all threads + main: set up and pinned */
	pthread_barrier_t phase;	/* op threads + main: around the timed phase */
	struct spin_barrier sync;	/* op threads: lock step of workers mode */
	char *shared;		/* shared-pattern region, SIZE * threads bytes */
	char *shared_slot;	/* where the last per-iteration one was */
	size_t shared_len;
	atomic_bool stop;	/* ends the observers' busy loop */
	struct worker *w;
};

/* Counter state at one point in time (see the file header). */
struct snapshot {
	struct nps_irq_row tlb;
	struct nps_vmstat vm;
	long long vmpte_kb;	/* -1: not reported by this kernel */
	/* From /proc/self/numapte; -1 without numaPTE. */
	long long replicated, replica_pages;
};

/* Everything that is printed, already reduced to per-op values. */
struct report {
	uint64_t ops, median_ns, p99_ns;
	double ipi_per_op;
	double *node_ipi_per_op;	/* [nnodes] */
	bool *node_has_cpu;		/* [nnodes]: only these are printed */
	bool has_rf, has_rfr;
	double rf_per_op, rfr_per_op;
	long long vmpte_kb;
	bool has_pt_pages;
	unsigned long long pt_pages;
	size_t ncounters;
	struct counter_delta {
		const char *name;
		long long delta;
	} *counters;
	bool has_numapte;
	char numapte[64];
	long long replicated, replica_pages;	/* -1: no numaPTE */
};

/* ---- errors ---- */

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("tlbbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* A failed call: name it and its errno, so e.g. ENOSYS cannot go unnoticed. */
static void __attribute__((noreturn)) die_errno(const char *call)
{
	die("%s failed: %s", call, strerror(errno));
}

static void __attribute__((noreturn, format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("tlbbench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'tlbbench --help'.\n", stderr);
	exit(2);
}

/* pthread functions return the error instead of setting errno. */
static void check_pthread(int rc, const char *call)
{
	if (rc != 0) {
		errno = rc;
		die_errno(call);
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n);

	if (!p)
		die_errno("malloc");
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		die_errno("calloc");
	return p;
}

/* ---- option parsing ---- */

static void usage(void)
{
	printf(
"usage: tlbbench [options]\n"
"Times one memory-management op under warm TLBs and reports latency and\n"
"TLB shootdown IPIs per op (total and per NUMA node).\n"
"\n"
"  --op munmap|mprotect|madvise|touch   operation (default munmap)\n"
"        munmap:   mmap+write SIZE, time munmap of it\n"
"        mprotect: time mprotect(PROT_READ) and mprotect(PROT_READ|PROT_WRITE)\n"
"                  of a written region (2 ops per iteration)\n"
"        madvise:  write every page, time madvise(MADV_DONTNEED)\n"
"        touch:    time mmap + first write of every page (munmap untimed)\n"
"  --pattern private|shared   own region per thread, or one region of\n"
"                             SIZE*threads that every thread touches entirely\n"
"                             and ops on its own slice (default private;\n"
"                             shared needs --mode workers and not --op touch)\n"
"  --size BYTES[K|M|G]        per-thread size, multiple of 4096 (default 4K)\n"
"  --thp                      MADV_HUGEPAGE (size >= 2M); regions are always\n"
"                             2 MiB aligned, with page tables of their own\n"
"  --threads N                threads (default 1), at most one per usable CPU\n"
"  --allow-oversubscribe      allow more threads than CPUs / threads sharing a CPU\n"
"  --placement node:N|spread|cpus:LIST\n"
"        node:N  round-robin over node N's CPUs\n"
"        spread  thread i on node i %% nnodes, round-robin over its CPUs (default)\n"
"        cpus:LIST  thread i on LIST[i %% len], LIST like 0,3,5-7\n"
"  --mode workers|observer    all threads do ops (default), or thread 0 does\n"
"                             ops and the others busy-loop on their own memory\n"
"  --iters N                  timed iterations per thread (default 200)\n"
"  --warmup N                 untimed iterations first (default 10)\n"
"  --format table|csv|json    output format (default table)\n"
"  --no-header                csv: omit the header line\n"
"  --label STR                case label (default e.g. munmap-private-spread-8t-4K)\n"
"  --help                     this text\n"
"\n"
"CSV columns: " CSV_HEADER "\n"
"Exit status: 0 ok, 1 a call failed, 2 bad usage.\n");
}

/* Index of @val in the NULL-terminated @names, or a usage error. */
static int parse_enum(const char *opt, const char *val, const char *const names[])
{
	for (int i = 0; names[i]; i++)
		if (strcmp(val, names[i]) == 0)
			return i;
	usage_error("--%s: invalid value '%s'", opt, val);
}

/* Strict decimal integer in [min, max]. */
static int parse_int(const char *opt, const char *val, int min, int max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(val, &end, 10);
	if (!isdigit((unsigned char)val[0]) || *end != '\0' || errno || v < min || v > max)
		usage_error("--%s: '%s' is not an integer in %d..%d", opt, val, min, max);
	return (int)v;
}

/* BYTES with optional K/M/G (powers of 1024); a positive multiple of 4096. */
static size_t parse_size(const char *val)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	errno = 0;
	v = strtoull(val, &end, 10);
	if (!isdigit((unsigned char)val[0]) || errno)
		usage_error("--size: invalid size '%s'", val);
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	}
	if (*end != '\0' || v > (SIZE_MAX >> shift))
		usage_error("--size: invalid size '%s'", val);
	v <<= shift;
	if (v < PAGE_SZ || v % PAGE_SZ != 0)
		usage_error("--size: %s is not a positive multiple of 4096", val);
	return (size_t)v;
}

/* "4K", "2M", "1G" or plain bytes, for labels and the table. */
static void format_size(char *buf, size_t len, size_t bytes)
{
	static const struct { unsigned int shift; char suffix; } units[] = {
		{ 30, 'G' }, { 20, 'M' }, { 10, 'K' },
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		size_t unit = (size_t)1 << units[i].shift;

		if (bytes % unit == 0) {
			snprintf(buf, len, "%zu%c", bytes / unit, units[i].suffix);
			return;
		}
	}
	snprintf(buf, len, "%zu", bytes);
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	enum { O_OP = 256, O_PATTERN, O_SIZE, O_THP, O_THREADS, O_OVERSUB,
	       O_PLACEMENT, O_MODE, O_ITERS, O_WARMUP, O_FORMAT, O_NOHEADER,
	       O_LABEL, O_HELP };
	static const struct option longopts[] = {
		{ "op", required_argument, NULL, O_OP },
		{ "pattern", required_argument, NULL, O_PATTERN },
		{ "size", required_argument, NULL, O_SIZE },
		{ "thp", no_argument, NULL, O_THP },
		{ "threads", required_argument, NULL, O_THREADS },
		{ "allow-oversubscribe", no_argument, NULL, O_OVERSUB },
		{ "placement", required_argument, NULL, O_PLACEMENT },
		{ "mode", required_argument, NULL, O_MODE },
		{ "iters", required_argument, NULL, O_ITERS },
		{ "warmup", required_argument, NULL, O_WARMUP },
		{ "format", required_argument, NULL, O_FORMAT },
		{ "no-header", no_argument, NULL, O_NOHEADER },
		{ "label", required_argument, NULL, O_LABEL },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL;
	size_t total;
	int c;

	*cfg = (struct config){
		.size = PAGE_SZ, .threads = 1, .placement = "spread",
		.iters = 200, .warmup = 10, .header = true,
	};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_OP: cfg->op = parse_enum("op", optarg, op_names); break;
		case O_PATTERN: cfg->pattern = parse_enum("pattern", optarg, pattern_names); break;
		case O_SIZE: cfg->size = parse_size(optarg); break;
		case O_THP: cfg->thp = true; break;
		case O_THREADS: cfg->threads = parse_int("threads", optarg, 1, MAX_THREADS); break;
		case O_OVERSUB: cfg->oversubscribe = true; break;
		case O_PLACEMENT: cfg->placement = optarg; break;
		case O_MODE: cfg->mode = parse_enum("mode", optarg, mode_names); break;
		case O_ITERS: cfg->iters = parse_int("iters", optarg, 1, INT_MAX); break;
		case O_WARMUP: cfg->warmup = parse_int("warmup", optarg, 0, INT_MAX); break;
		case O_FORMAT: cfg->format = parse_enum("format", optarg, format_names); break;
		case O_NOHEADER: cfg->header = false; break;
		case O_LABEL: label = optarg; break;
		case O_HELP: usage(); exit(0);
		default: usage_error("invalid option");	/* getopt said which */
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (__builtin_mul_overflow(cfg->size, (size_t)cfg->threads, &total))
		usage_error("--size times --threads overflows");
	if (cfg->thp && cfg->size < HPAGE_SZ)
		usage_error("--thp needs --size of at least 2M");
	/*
	 * In observer mode only thread 0 does ops, on private memory. A timed
	 * first touch cannot be preceded by touching the same pages.
	 */
	if (cfg->pattern == PAT_SHARED && cfg->mode == MODE_OBSERVER)
		usage_error("--pattern shared needs --mode workers");
	if (cfg->pattern == PAT_SHARED && cfg->op == OP_TOUCH)
		usage_error("--op touch supports only --pattern private");
	if (label) {
		cfg->label = strdup(label);
		if (!cfg->label)
			die_errno("strdup");
	}
}

/* ---- topology and placement ---- */

static void topology_init(struct topology *tp)
{
	CPU_ZERO(&tp->usable);
	if (sched_getaffinity(0, sizeof(tp->usable), &tp->usable) < 0)
		die_errno("sched_getaffinity");
	if (numa_available() < 0) {
		/* No NUMA support: one node 0 holding every CPU. */
		tp->ncpus = CPU_SETSIZE;
		tp->nnodes = 1;
		tp->cpu_node = xcalloc((size_t)tp->ncpus, sizeof(int));
		return;
	}
	/* Possible, not configured, CPUs: CPU numbers can be sparse. */
	tp->ncpus = numa_num_possible_cpus();
	tp->nnodes = numa_max_node() + 1;
	tp->cpu_node = xcalloc((size_t)tp->ncpus, sizeof(int));
	for (int cpu = 0; cpu < tp->ncpus; cpu++)
		tp->cpu_node[cpu] = numa_node_of_cpu(cpu);
}

static bool cpu_usable(const struct topology *tp, long cpu)
{
	return cpu >= 0 && cpu < tp->ncpus && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &tp->usable);
}

/* Usable CPUs of @node in ascending order into @out[tp->ncpus]; returns how many. */
static int node_cpus(const struct topology *tp, int node, int *out)
{
	int n = 0;

	for (int cpu = 0; cpu < tp->ncpus; cpu++)
		if (tp->cpu_node[cpu] == node && cpu_usable(tp, cpu))
			out[n++] = cpu;
	return n;
}

/* node:N - threads round-robin over node N's usable CPUs. */
static void place_node(struct config *cfg, const struct topology *tp, const char *arg)
{
	int *cpus = xmalloc((size_t)tp->ncpus * sizeof(int));
	char *end;
	long node;
	int n;

	errno = 0;
	node = strtol(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || *end != '\0' || errno)
		usage_error("--placement node:%s: invalid node number", arg);
	if (node >= tp->nnodes || (n = node_cpus(tp, (int)node, cpus)) == 0)
		usage_error("--placement node:%s: no such node with usable CPUs", arg);
	for (int i = 0; i < cfg->threads; i++)
		cfg->thread_cpu[i] = cpus[i % n];
	if (asprintf(&cfg->placement_str, "node:%ld", node) < 0)
		die_errno("asprintf");
	free(cpus);
}

/* spread - thread i on the (i % k)-th node with usable CPUs, round-robin within it. */
static void place_spread(struct config *cfg, const struct topology *tp)
{
	int *cpus = xmalloc((size_t)tp->ncpus * sizeof(int));
	int *nodes = xmalloc((size_t)tp->nnodes * sizeof(int));
	int k = 0;

	for (int node = 0; node < tp->nnodes; node++)
		if (node_cpus(tp, node, cpus) > 0)
			nodes[k++] = node;
	if (k == 0)
		die("no NUMA node has a CPU this process may use");
	for (int i = 0; i < cfg->threads; i++) {
		int n = node_cpus(tp, nodes[i % k], cpus);

		cfg->thread_cpu[i] = cpus[(i / k) % n];
	}
	cfg->placement_str = strdup("spread");
	if (!cfg->placement_str)
		die_errno("strdup");
	free(nodes);
	free(cpus);
}

/* One CPU number of a cpus: list, advancing *p past it. */
static long parse_cpu_number(const char **p, const char *list)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		usage_error("--placement cpus:%s: malformed CPU list", list);
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno || v >= CPU_SETSIZE)
		usage_error("--placement cpus:%s: CPU number too large", list);
	*p = end;
	return v;
}

/* cpus:LIST - thread i on LIST[i % len]; LIST is "a,b,c-d". */
static void place_cpus(struct config *cfg, const struct topology *tp, const char *list)
{
	int *cpus = NULL;
	size_t n = 0;

	for (const char *p = list;; p++) {
		long lo = parse_cpu_number(&p, list), hi = lo;

		if (*p == '-') {
			p++;
			hi = parse_cpu_number(&p, list);
			if (hi < lo)
				usage_error("--placement cpus:%s: descending range", list);
		}
		cpus = realloc(cpus, (n + (size_t)(hi - lo) + 1) * sizeof(int));
		if (!cpus)
			die_errno("realloc");
		for (long cpu = lo; cpu <= hi; cpu++) {
			if (!cpu_usable(tp, cpu))
				usage_error("--placement cpus:%s: CPU %ld does not exist or is not usable",
					    list, cpu);
			cpus[n++] = (int)cpu;
		}
		if (*p == '\0')
			break;
		if (*p != ',')
			usage_error("--placement cpus:%s: malformed CPU list", list);
	}
	for (int i = 0; i < cfg->threads; i++)
		cfg->thread_cpu[i] = cpus[(size_t)i % n];
	/* Commas would break the CSV row; the list syntax has no '+'. */
	if (asprintf(&cfg->placement_str, "cpus:%s", list) < 0)
		die_errno("asprintf");
	for (char *q = cfg->placement_str; *q; q++)
		if (*q == ',')
			*q = '+';
	free(cpus);
}

/*
 * Resolves --placement into thread_cpu[] and refuses to put two threads on
 * one CPU unless asked: a preempted thread's op latency means nothing, and
 * an observer must never leave its CPU.
 */
static void resolve_placement(struct config *cfg, const struct topology *tp)
{
	int usable = CPU_COUNT(&tp->usable);
	int *users;

	if (cfg->threads > usable && !cfg->oversubscribe)
		usage_error("--threads %d exceeds the %d usable CPUs (see --allow-oversubscribe)",
			    cfg->threads, usable);
	cfg->thread_cpu = xmalloc((size_t)cfg->threads * sizeof(int));
	if (strcmp(cfg->placement, "spread") == 0)
		place_spread(cfg, tp);
	else if (strncmp(cfg->placement, "node:", 5) == 0)
		place_node(cfg, tp, cfg->placement + 5);
	else if (strncmp(cfg->placement, "cpus:", 5) == 0)
		place_cpus(cfg, tp, cfg->placement + 5);
	else
		usage_error("--placement: invalid value '%s'", cfg->placement);

	users = xcalloc(CPU_SETSIZE, sizeof(int));
	for (int i = 0; i < cfg->threads; i++)
		if (++users[cfg->thread_cpu[i]] > 1 && !cfg->oversubscribe)
			usage_error("--placement %s puts %d threads on CPU %d (see --allow-oversubscribe)",
				    cfg->placement, users[cfg->thread_cpu[i]], cfg->thread_cpu[i]);
	free(users);
}

/* Default label, e.g. munmap-private-spread-8t-4K[-observer][-thp]. */
static void default_label(struct config *cfg)
{
	char size[32];

	format_size(size, sizeof(size), cfg->size);
	if (asprintf(&cfg->label, "%s-%s-%s-%dt-%s%s%s", op_names[cfg->op],
		     pattern_names[cfg->pattern], cfg->placement_str, cfg->threads, size,
		     cfg->mode == MODE_OBSERVER ? "-observer" : "",
		     cfg->thp ? "-thp" : "") < 0)
		die_errno("asprintf");
}

/* ---- memory helpers ---- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
		die_errno("clock_gettime");
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Maps @len bytes of anonymous private memory, 2 MiB aligned. The alignment
 * gives every region page tables of its own, as per-thread malloc arenas
 * have: a thread's private memory never shares a page table with another
 * thread's. With @thp also MADV_HUGEPAGE.
 *
 * A region mapped once per iteration passes @slot: it goes back where the
 * previous one was (*@slot, freed by now) if that is free, so the untimed
 * setup is one mmap. Otherwise, over-map by 2 MiB and unmap head and tail so
 * exactly @len stays mapped (and a later munmap releases everything), and
 * remember the place in *@slot.
 */
static char *map_region(size_t len, bool thp, char **slot)
{
	size_t maplen = len + HPAGE_SZ;
	char *p, *r;
	size_t head, tail;

	if (slot && *slot) {
		r = mmap(*slot, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (r == *slot)
			goto advise;
		if (r != MAP_FAILED && munmap(r, len) < 0)
			die_errno("munmap (misplaced region)");
	}
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die_errno("mmap");
	r = (char *)(((uintptr_t)p + HPAGE_SZ - 1) & ~(uintptr_t)(HPAGE_SZ - 1));
	head = (size_t)(r - p);
	tail = maplen - head - len;
	if (head && munmap(p, head) < 0)
		die_errno("munmap (alignment head)");
	if (tail && munmap(r + len, tail) < 0)
		die_errno("munmap (alignment tail)");
	if (slot)
		*slot = r;
advise:
	if (thp && madvise(r, len, MADV_HUGEPAGE) < 0)
		die_errno("madvise(MADV_HUGEPAGE)");
	return r;
}

/* Writes one byte per page: faults pages in, makes PTEs dirty, warms the TLB. */
static void touch_write(char *p, size_t len)
{
	volatile char *v = p;

	for (size_t off = 0; off < len; off += PAGE_SZ)
		v[off] = 1;
}

/* Reads one byte per page, to warm the TLB with read-only translations. */
static void touch_read(const char *p, size_t len)
{
	const volatile char *v = p;

	for (size_t off = 0; off < len; off += PAGE_SZ)
		(void)v[off];
}

static void barrier_wait(pthread_barrier_t *bar)
{
	int rc = pthread_barrier_wait(bar);

	if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
		check_pthread(rc, "pthread_barrier_wait");
}

static void spin_barrier_wait(struct spin_barrier *sb)
{
	unsigned int gen = atomic_load_explicit(&sb->generation, memory_order_acquire);
	unsigned long spins = 0;

	if (atomic_fetch_add_explicit(&sb->arrived, 1, memory_order_acq_rel) + 1 == sb->parties) {
		/* Reset before the release so the next round starts from zero. */
		atomic_store_explicit(&sb->arrived, 0, memory_order_relaxed);
		atomic_fetch_add_explicit(&sb->generation, 1, memory_order_release);
		return;
	}
	while (atomic_load_explicit(&sb->generation, memory_order_acquire) == gen)
		if (++spins % 1024 == 0)
			sched_yield();
}

/* ---- the op loops ---- */

static int ops_per_iter(const struct config *cfg)
{
	return cfg->op == OP_MPROTECT ? 2 : 1;
}

/* mprotect and madvise reuse one region for all iterations; the others map per iteration. */
static bool persistent_region(const struct config *cfg)
{
	return cfg->op == OP_MPROTECT || cfg->op == OP_MADVISE;
}

/*
 * Lock step of the op threads, private pattern too: every thread is on its
 * CPU, with the mm loaded, whenever another one does an op, so a shootdown
 * reaches exactly the CPUs it targets. (Observer mode has one op thread.)
 */
static void sync_step(struct bench *b)
{
	spin_barrier_wait(&b->sync);
}

/*
 * What @w must have warm translations for before an op (@warm, @warm_len)
 * and what the op covers (@target, SIZE bytes): its own region, or the whole
 * shared region and its own slice of it.
 */
static void op_area(const struct worker *w, char **warm, size_t *warm_len, char **target)
{
	const struct bench *b = w->b;

	if (b->cfg->pattern == PAT_SHARED) {
		*warm = b->shared;
		*warm_len = b->shared_len;
		*target = b->shared + (size_t)w->idx * b->cfg->size;
	} else {
		*warm = *target = w->region;
		*warm_len = b->cfg->size;
	}
}

static void record(struct worker *w, bool timed, uint64_t t0)
{
	uint64_t t1 = now_ns();

	if (timed)
		w->samples[w->nsamples++] = t1 - t0;
}

/*
 * munmap. Private: map, write every page, time munmap, in lock step.
 * Shared, per iteration:
 *   barrier (all slices of the previous region are unmapped)
 *   thread 0 maps a new region of SIZE*threads
 *   barrier (region published)
 *   every thread writes every page of the whole region
 *   barrier (every thread's TLB holds every page)
 *   each thread times munmap of its own slice
 */
static void iter_munmap(struct worker *w, bool timed)
{
	struct bench *b = w->b;
	const struct config *cfg = b->cfg;
	char *warm, *target;
	size_t warm_len;
	uint64_t t0;

	sync_step(b);
	if (cfg->pattern == PAT_PRIVATE)
		w->region = map_region(cfg->size, cfg->thp, &w->slot);
	else if (w->idx == 0)
		b->shared = map_region(b->shared_len, cfg->thp, &b->shared_slot);
	sync_step(b);
	op_area(w, &warm, &warm_len, &target);
	touch_write(warm, warm_len);
	sync_step(b);
	t0 = now_ns();
	if (munmap(target, cfg->size) < 0)
		die_errno("munmap");
	record(w, timed, t0);
	w->region = NULL;
}

/*
 * mprotect, two timed ops per iteration. Per iteration (private: the same
 * on the thread's own region):
 *   barrier (every slice is writable again)
 *   write every page of the whole region (dirty, writable, TLB warm)
 *   barrier
 *   time mprotect(slice, PROT_READ)
 *   barrier (every slice is read-only)
 *   read every page of the whole region (TLB warm with read-only entries)
 *   barrier
 *   time mprotect(slice, PROT_READ|PROT_WRITE)
 */
static void iter_mprotect(struct worker *w, bool timed)
{
	struct bench *b = w->b;
	size_t size = b->cfg->size;
	char *warm, *target;
	size_t warm_len;
	uint64_t t0;

	op_area(w, &warm, &warm_len, &target);
	sync_step(b);
	touch_write(warm, warm_len);
	sync_step(b);
	t0 = now_ns();
	if (mprotect(target, size, PROT_READ) < 0)
		die_errno("mprotect(PROT_READ)");
	record(w, timed, t0);
	sync_step(b);
	touch_read(warm, warm_len);
	sync_step(b);
	t0 = now_ns();
	if (mprotect(target, size, PROT_READ | PROT_WRITE) < 0)
		die_errno("mprotect(PROT_READ|PROT_WRITE)");
	record(w, timed, t0);
}

/*
 * madvise. Per iteration (private: the same on the thread's own region):
 *   barrier (previous zaps done)
 *   write every page of the whole region (refault, TLB warm)
 *   barrier
 *   time madvise(slice, MADV_DONTNEED)
 */
static void iter_madvise(struct worker *w, bool timed)
{
	struct bench *b = w->b;
	char *warm, *target;
	size_t warm_len;
	uint64_t t0;

	op_area(w, &warm, &warm_len, &target);
	sync_step(b);
	touch_write(warm, warm_len);
	sync_step(b);
	t0 = now_ns();
	if (madvise(target, b->cfg->size, MADV_DONTNEED) < 0)
		die_errno("madvise(MADV_DONTNEED)");
	record(w, timed, t0);
}

/* touch (private only): time mmap + first write of every page, munmap untimed. */
static void iter_touch(struct worker *w, bool timed)
{
	const struct config *cfg = w->b->cfg;
	uint64_t t0 = now_ns();
	char *p = map_region(cfg->size, cfg->thp, &w->slot);

	touch_write(p, cfg->size);
	record(w, timed, t0);
	if (munmap(p, cfg->size) < 0)
		die_errno("munmap");
}

static void run_iteration(struct worker *w, bool timed)
{
	switch (w->b->cfg->op) {
	case OP_MUNMAP: iter_munmap(w, timed); break;
	case OP_MPROTECT: iter_mprotect(w, timed); break;
	case OP_MADVISE: iter_madvise(w, timed); break;
	case OP_TOUCH: iter_touch(w, timed); break;
	}
}

/*
 * Observer: keep writing our own page without ever sleeping, so this CPU
 * stays in the mm's cpumask and never goes lazy, until the main thread has
 * taken the final snapshot. Any shootdown IPI it gets is the initiator's.
 */
static void observe(struct bench *b)
{
	char *page = map_region(PAGE_SZ, false, NULL);
	volatile char *v = page;

	touch_write(page, PAGE_SZ);
	barrier_wait(&b->start);
	while (!atomic_load_explicit(&b->stop, memory_order_relaxed))
		for (size_t off = 0; off < PAGE_SZ; off += CACHELINE)
			v[off]++;
	if (munmap(page, PAGE_SZ) < 0)
		die_errno("munmap");
}

static void pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	check_pthread(pthread_setaffinity_np(pthread_self(), sizeof(set), &set),
		      "pthread_setaffinity_np");
}

/*
 * Op thread: pin, then allocate (so memory is node-local), then
 * start / warmup / [main snapshots] / timed / [main snapshots] / clean up.
 */
static void *thread_main(void *arg)
{
	struct worker *w = arg;
	struct bench *b = w->b;
	const struct config *cfg = b->cfg;

	pin_self(cfg->thread_cpu[w->idx]);
	if (cfg->mode == MODE_OBSERVER && w->idx > 0) {
		observe(b);
		return NULL;
	}
	w->samples = xmalloc((size_t)cfg->iters * (size_t)ops_per_iter(cfg) * sizeof(uint64_t));
	if (cfg->pattern == PAT_PRIVATE && persistent_region(cfg))
		w->region = map_region(cfg->size, cfg->thp, NULL);
	barrier_wait(&b->start);
	for (int i = 0; i < cfg->warmup; i++)
		run_iteration(w, false);
	barrier_wait(&b->phase);	/* warmup done: main snapshots */
	barrier_wait(&b->phase);	/* go */
	for (int i = 0; i < cfg->iters; i++)
		run_iteration(w, true);
	barrier_wait(&b->phase);	/* done: main snapshots, regions still mapped */
	barrier_wait(&b->phase);	/* released */
	if (w->region && munmap(w->region, cfg->size) < 0)
		die_errno("munmap");
	return NULL;
}

/* ---- measurement ---- */

/* This process's numaPTE state: replicated or not, replica pages. */
static void read_proc_numapte(struct snapshot *s)
{
	char line[256];
	long long v;
	FILE *f = fopen("/proc/self/numapte", "r");

	s->replicated = -1;
	s->replica_pages = -1;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "replicated: %lld", &v) == 1)
			s->replicated = v;
		else if (sscanf(line, "replica_pages: %lld", &v) == 1)
			s->replica_pages = v;
	}
	fclose(f);
}

static void snapshot_take(struct snapshot *s)
{
	if (nps_irq_row_read("TLB", &s->tlb) < 0)
		die("cannot read the TLB row of /proc/interrupts: %s", strerror(errno));
	if (nps_vmstat_read(&s->vm) < 0)
		die_errno("reading /proc/vmstat");
	if (nps_status_kb("VmPTE", &s->vmpte_kb) < 0) {
		if (errno != ENOENT)
			die_errno("reading /proc/self/status");
		s->vmpte_kb = -1;
	}
	read_proc_numapte(s);
}

static void snapshot_free(struct snapshot *s)
{
	nps_irq_row_free(&s->tlb);
	nps_vmstat_free(&s->vm);
}

/*
 * Runs the case; fills @before/@after and returns all samples of all op
 * threads in *@samples (*@nsamples of them).
 */
static void run_bench(const struct config *cfg, struct snapshot *before,
		      struct snapshot *after, uint64_t **samples, size_t *nsamples)
{
	struct bench b = {
		.cfg = cfg,
		.nops = cfg->mode == MODE_OBSERVER ? 1 : cfg->threads,
	};
	size_t n = 0;

	b.shared_len = cfg->size * (size_t)cfg->threads;	/* checked in parse_args */
	atomic_init(&b.stop, false);
	check_pthread(pthread_barrier_init(&b.start, NULL, (unsigned)cfg->threads + 1),
		      "pthread_barrier_init");
	check_pthread(pthread_barrier_init(&b.phase, NULL, (unsigned)b.nops + 1),
		      "pthread_barrier_init");
	b.sync.parties = (unsigned int)b.nops;
	if (cfg->pattern == PAT_SHARED && persistent_region(cfg))
		b.shared = map_region(b.shared_len, cfg->thp, NULL);
	b.w = xcalloc((size_t)cfg->threads, sizeof(*b.w));
	for (int i = 0; i < cfg->threads; i++) {
		b.w[i].b = &b;
		b.w[i].idx = i;
		check_pthread(pthread_create(&b.w[i].tid, NULL, thread_main, &b.w[i]),
			      "pthread_create");
	}

	barrier_wait(&b.start);
	barrier_wait(&b.phase);		/* warmup done */
	snapshot_take(before);
	barrier_wait(&b.phase);		/* go */
	barrier_wait(&b.phase);		/* timed phase done */
	snapshot_take(after);
	atomic_store(&b.stop, true);
	barrier_wait(&b.phase);		/* release */

	*samples = xmalloc((size_t)b.nops * (size_t)cfg->iters *
			   (size_t)ops_per_iter(cfg) * sizeof(uint64_t));
	for (int i = 0; i < cfg->threads; i++) {
		check_pthread(pthread_join(b.w[i].tid, NULL), "pthread_join");
		memcpy(*samples + n, b.w[i].samples, b.w[i].nsamples * sizeof(uint64_t));
		n += b.w[i].nsamples;
		free(b.w[i].samples);
	}
	*nsamples = n;
	if (cfg->pattern == PAT_SHARED && persistent_region(cfg) &&
	    munmap(b.shared, b.shared_len) < 0)
		die_errno("munmap");
	free(b.w);
	check_pthread(pthread_barrier_destroy(&b.start), "pthread_barrier_destroy");
	check_pthread(pthread_barrier_destroy(&b.phase), "pthread_barrier_destroy");
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v. */
static uint64_t percentile(const uint64_t *v, size_t n, unsigned int pct)
{
	size_t rank = (n * pct + 99) / 100;

	return v[rank ? rank - 1 : 0];
}

/* Delta of vmstat counter @name; false if this kernel does not have it. */
static bool vm_delta(const struct snapshot *a, const struct snapshot *b, const char *name,
		     long long *delta)
{
	const unsigned long long *x = nps_vmstat_find(&a->vm, name);
	const unsigned long long *y = nps_vmstat_find(&b->vm, name);

	if (!x || !y)
		return false;
	*delta = (long long)(*y - *x);
	return true;
}

/* TLB IPIs received between the snapshots, in total and per node. */
static void ipi_deltas(struct report *r, const struct topology *tp,
		       const struct snapshot *a, const struct snapshot *b)
{
	unsigned long long total = 0;

	for (unsigned int cpu = 0; cpu < b->tlb.ncpus; cpu++) {
		unsigned long long d = b->tlb.count[cpu] -
				       (cpu < a->tlb.ncpus ? a->tlb.count[cpu] : 0);

		total += d;
		if ((int)cpu < tp->ncpus && tp->cpu_node[cpu] >= 0)
			r->node_ipi_per_op[tp->cpu_node[cpu]] += (double)d / (double)r->ops;
	}
	r->ipi_per_op = (double)total / (double)r->ops;
}

/* Deltas of every numapte_* vmstat counter (absent before = 0). */
static void numapte_counters(struct report *r, const struct snapshot *a,
			     const struct snapshot *b)
{
	r->counters = xcalloc(b->vm.n ? b->vm.n : 1, sizeof(*r->counters));
	for (size_t i = 0; i < b->vm.n; i++) {
		const struct nps_counter *c = &b->vm.c[i];
		const unsigned long long *old;

		if (strncmp(c->name, "numapte_", 8) != 0)
			continue;
		old = nps_vmstat_find(&a->vm, c->name);
		r->counters[r->ncounters].name = c->name;
		r->counters[r->ncounters].delta = (long long)(c->value - (old ? *old : 0));
		r->ncounters++;
	}
}

static void build_report(struct report *r, const struct topology *tp,
			 const struct snapshot *a, const struct snapshot *b,
			 uint64_t *samples, size_t n)
{
	long long d;
	const unsigned long long *pt;

	qsort(samples, n, sizeof(*samples), cmp_u64);
	r->ops = n;
	r->median_ns = percentile(samples, n, 50);
	r->p99_ns = percentile(samples, n, 99);
	r->node_ipi_per_op = xcalloc((size_t)tp->nnodes, sizeof(double));
	r->node_has_cpu = xcalloc((size_t)tp->nnodes, sizeof(bool));
	for (int cpu = 0; cpu < tp->ncpus; cpu++)
		if (tp->cpu_node[cpu] >= 0)
			r->node_has_cpu[tp->cpu_node[cpu]] = true;
	ipi_deltas(r, tp, a, b);
	r->has_rf = vm_delta(a, b, "nr_tlb_remote_flush", &d);
	r->rf_per_op = r->has_rf ? (double)d / (double)n : 0;
	r->has_rfr = vm_delta(a, b, "nr_tlb_remote_flush_received", &d);
	r->rfr_per_op = r->has_rfr ? (double)d / (double)n : 0;
	r->vmpte_kb = b->vmpte_kb;
	r->replicated = b->replicated;
	r->replica_pages = b->replica_pages;
	pt = nps_vmstat_find(&b->vm, "nr_page_table_pages");
	r->has_pt_pages = pt != NULL;
	r->pt_pages = pt ? *pt : 0;
	numapte_counters(r, a, b);
}

static void read_numapte_sysctl(struct report *r)
{
	r->has_numapte = nps_read_line(NUMAPTE_SYSCTL, r->numapte, sizeof(r->numapte)) == 0;
	if (!r->has_numapte && errno != ENOENT)
		die_errno("reading " NUMAPTE_SYSCTL);
}

static void report_free(struct report *r)
{
	free(r->node_ipi_per_op);
	free(r->node_has_cpu);
	free(r->counters);
}

/* ---- output ---- */

/* RFC 4180: quote a field only if it contains a separator, quote or newline. */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/* "n0=1.000;n1=0.000" (CSV) or "n0=1.000 n1=0.000" (table). */
static void print_nodes(const struct report *r, int nnodes, const char *sep)
{
	const char *s = "";

	for (int node = 0; node < nnodes; node++) {
		if (!r->node_has_cpu[node])
			continue;
		printf("%sn%d=%.3f", s, node, r->node_ipi_per_op[node]);
		s = sep;
	}
}

/*
 * numapte_* deltas over the timed ops, then this process's state at the end
 * (process_replicated, process_replica_pages: absolute values).
 */
static void print_counters(const struct report *r, const char *sep)
{
	for (size_t i = 0; i < r->ncounters; i++)
		printf("%s%s=%lld", i ? sep : "", r->counters[i].name, r->counters[i].delta);
	if (r->replicated >= 0)
		printf("%sprocess_replicated=%lld%sprocess_replica_pages=%lld",
		       r->ncounters ? sep : "", r->replicated, sep, r->replica_pages);
}

/* A per-op value, or @na ("na" in CSV and table, "null" in JSON). */
static void print_opt(bool has, double v, const char *na)
{
	if (has)
		printf("%.3f", v);
	else
		fputs(na, stdout);
}

static void print_kb(long long kb, const char *na)
{
	if (kb >= 0)
		printf("%lld", kb);
	else
		fputs(na, stdout);
}

static void print_table(const struct config *cfg, const struct report *r, int nnodes)
{
	char size[32];

	format_size(size, sizeof(size), cfg->size);
	printf("label        %s\n", cfg->label);
	printf("config       op=%s pattern=%s placement=%s mode=%s threads=%d size=%s thp=%s"
	       " iters=%d warmup=%d\n", op_names[cfg->op], pattern_names[cfg->pattern],
	       cfg->placement_str, mode_names[cfg->mode], cfg->threads, size,
	       cfg->thp ? "on" : "off", cfg->iters, cfg->warmup);
	printf("numapte      %s\n", r->has_numapte ? r->numapte : "na");
	printf("latency      median %.2f us  p99 %.2f us  (%llu ops)\n",
	       (double)r->median_ns / 1000.0, (double)r->p99_ns / 1000.0,
	       (unsigned long long)r->ops);
	printf("tlb ipis/op  %.3f  (", r->ipi_per_op);
	print_nodes(r, nnodes, " ");
	printf(")\nflushes/op   remote ");
	print_opt(r->has_rf, r->rf_per_op, "na");
	printf("  received ");
	print_opt(r->has_rfr, r->rfr_per_op, "na");
	printf("\npage tables  VmPTE ");
	print_kb(r->vmpte_kb, "na");
	printf(" kB  nr_page_table_pages ");
	if (r->has_pt_pages)
		printf("%llu", r->pt_pages);
	else
		fputs("na", stdout);
	printf("\ncounters     ");
	if (r->ncounters)
		print_counters(r, " ");
	else
		fputs("none", stdout);
	putchar('\n');
}

static void print_csv(const struct config *cfg, const struct report *r, int nnodes)
{
	if (cfg->header)
		puts(CSV_HEADER);
	csv_field(cfg->label);
	printf(",%s,%s,%s,%s,%d,%zu,%d,", op_names[cfg->op], pattern_names[cfg->pattern],
	       cfg->placement_str, mode_names[cfg->mode], cfg->threads, cfg->size, cfg->iters);
	csv_field(r->has_numapte ? r->numapte : "na");
	printf(",%llu,%llu,%llu,%.3f,", (unsigned long long)r->ops,
	       (unsigned long long)r->median_ns, (unsigned long long)r->p99_ns, r->ipi_per_op);
	print_nodes(r, nnodes, ";");
	putchar(',');
	print_opt(r->has_rf, r->rf_per_op, "na");
	putchar(',');
	print_opt(r->has_rfr, r->rfr_per_op, "na");
	putchar(',');
	print_kb(r->vmpte_kb, "na");
	putchar(',');
	print_counters(r, ";");
	putchar('\n');
}

/* JSON has null where CSV and the table say "na". */
static void print_json(const struct config *cfg, const struct report *r, int nnodes)
{
	const char *sep = "";

	fputs("{\"label\":", stdout);
	json_string(cfg->label);
	printf(",\"op\":\"%s\",\"pattern\":\"%s\",\"placement\":\"%s\",\"mode\":\"%s\","
	       "\"threads\":%d,\"size\":%zu,\"iters\":%d,\"numapte\":",
	       op_names[cfg->op], pattern_names[cfg->pattern], cfg->placement_str,
	       mode_names[cfg->mode], cfg->threads, cfg->size, cfg->iters);
	if (r->has_numapte)
		json_string(r->numapte);
	else
		fputs("null", stdout);
	printf(",\"ops\":%llu,\"median_ns\":%llu,\"p99_ns\":%llu,\"tlb_ipi_per_op\":%.3f,"
	       "\"tlb_ipi_per_node_per_op\":{", (unsigned long long)r->ops,
	       (unsigned long long)r->median_ns, (unsigned long long)r->p99_ns, r->ipi_per_op);
	for (int node = 0; node < nnodes; node++) {
		if (!r->node_has_cpu[node])
			continue;
		printf("%s\"n%d\":%.3f", sep, node, r->node_ipi_per_op[node]);
		sep = ",";
	}
	fputs("},\"remote_flush_per_op\":", stdout);
	print_opt(r->has_rf, r->rf_per_op, "null");
	fputs(",\"remote_flush_received_per_op\":", stdout);
	print_opt(r->has_rfr, r->rfr_per_op, "null");
	fputs(",\"vmpte_kb\":", stdout);
	print_kb(r->vmpte_kb, "null");
	fputs(",\"numapte_counters\":{", stdout);
	for (size_t i = 0; i < r->ncounters; i++)
		printf("%s\"%s\":%lld", i ? "," : "", r->counters[i].name, r->counters[i].delta);
	if (r->replicated >= 0)
		printf("%s\"process_replicated\":%lld,\"process_replica_pages\":%lld",
		       r->ncounters ? "," : "", r->replicated, r->replica_pages);
	puts("}}");
}

/*
 * Run the whole process, from exec on, only on the CPUs its threads use: a
 * process whose threads are all on one node must not have run anywhere
 * else, or numaPTE (rightly) replicates it.  The shell started us on any
 * CPU, so set the affinity and exec ourselves once.
 */
static void confine_process(const struct config *cfg, char **argv)
{
	cpu_set_t set;

	if (getenv("TLBBENCH_CONFINED"))
		return;
	CPU_ZERO(&set);
	for (int i = 0; i < cfg->threads; i++)
		CPU_SET(cfg->thread_cpu[i], &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0)
		die_errno("sched_setaffinity");
	if (setenv("TLBBENCH_CONFINED", "1", 1) < 0)
		die_errno("setenv");
	execv("/proc/self/exe", argv);
	die_errno("re-executing /proc/self/exe");
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct topology tp;
	struct snapshot before, after;
	struct report r = { 0 };
	uint64_t *samples;
	size_t nsamples;

	parse_args(argc, argv, &cfg);
	topology_init(&tp);
	resolve_placement(&cfg, &tp);
	confine_process(&cfg, argv);
	if (!cfg.label)
		default_label(&cfg);
	read_numapte_sysctl(&r);

	run_bench(&cfg, &before, &after, &samples, &nsamples);
	build_report(&r, &tp, &before, &after, samples, nsamples);

	switch (cfg.format) {
	case FMT_TABLE: print_table(&cfg, &r, tp.nnodes); break;
	case FMT_CSV: print_csv(&cfg, &r, tp.nnodes); break;
	case FMT_JSON: print_json(&cfg, &r, tp.nnodes); break;
	}
	if (fflush(stdout) != 0)
		die_errno("writing output");

	report_free(&r);
	snapshot_free(&before);
	snapshot_free(&after);
	free(samples);
	free(tp.cpu_node);
	free(cfg.thread_cpu);
	free(cfg.placement_str);
	free(cfg.label);
	return 0;
}
