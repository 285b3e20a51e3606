// SPDX-License-Identifier: GPL-2.0
/*
 * numaPTE: per-NUMA-node page-table replicas, filled on demand, with the
 * exact set of nodes (sharers) holding a copy of each page-table page.
 *
 * Master and replicas
 *   mm->pgd is the master tree: core mm code reads and writes only it.
 *   Once vm.numapte is on and an mm has run on two or more nodes, its next
 *   page fault makes it "replicated": every online node gets a replica root
 *   (on pgd_list, so kernel mappings are synced into it) and every CPU
 *   loads its node's root instead of the master (numapte_root(), called by
 *   switch_mm).
 *   Below the roots, a replica table exists for a master table only on the
 *   nodes that faulted in its range, allocated on that node.  It is owned
 *   by the master table's struct numapte_table (hung on the master's ptdesc)
 *   and freed with it.
 *
 * What a replica entry may hold (the invariant everything below keeps)
 *   - 0;
 *   - at the PTE level and for PMD/PUD leaves: numapte_derive() of the
 *     master entry, i.e. only present and accessed entries, with _PAGE_RW
 *     cleared while the master is clean.  Replica A/D bits are therefore a
 *     subset of the master's and the hardware never needs to set them in a
 *     replica: no accessed or dirty bit can be lost (MADV_FREE, writeback,
 *     reclaim and soft-dirty read the master).  A CPU that needs more
 *     faults, and the fault sets A (and D) in the master first;
 *   - above the PTE level: a pointer to the replica, on the same node, of
 *     the master table the master entry points to.  A master non-leaf
 *     pointer is never copied into a replica.
 *   Every write to a master entry goes through one of the x86 chokepoints,
 *   which call numapte_sync_entry()/numapte_sync_root() after the write:
 *   each sharer's copy of the entry becomes the derived value (0 for a
 *   non-leaf entry, to be re-linked by the next fault).
 *
 * Narrowed flushes
 *   A CPU on node N walks only node N's replica, which links a table only
 *   if N is one of its sharers: so a changed or freed entry can be cached
 *   only by CPUs of its table's sharers, plus any CPU still on the master
 *   root.  Flushes of a replicated mm therefore go to the CPUs of the
 *   sharer nodes of the tables they name (numapte_tlb_note_table(),
 *   numapte_entry_nodes()), once every CPU of the mm has left the master:
 *   @narrow is set after the root switch that follows activation, cleared
 *   before the one that undoes it.  Sharer bits are read under the lock
 *   that serialises writers of the entry, and only added under it: a node
 *   that becomes a sharer later copies the new value.  Freed tables go
 *   through RCU (MMU_GATHER_RCU_TABLE_FREE), so lockless walkers of the
 *   master (GUP-fast) need no IPI.
 *
 * Allocation failures
 *   A node that cannot get a replica page for a fault (memory pressure, or
 *   the fail_numapte_alloc fault-injection attribute) falls back: its CPUs
 *   run the mm on the master root from then on (@degraded), as CPUs of a
 *   node without a root do, and every flush reaches them.  Its replica
 *   tables stay, unreachable, until unreplication or exit free them.  A
 *   failed activation leaves the mm unreplicated; a failed eager fill of
 *   another node leaves that node to fault on demand.
 *
 * Policies (vm.numapte)
 *   0: off.  1: on demand, a node gets a replica of a table when one of
 *   its CPUs faults in its range.  2: eager, every fault fills the replica
 *   of every node the mm ran on, like a full per-node copy (Mitosis); it
 *   is there to compare against, in the same kernel.
 *   PR_SET_NUMAPTE overrides it per mm (mm_mode()): never replicate, or
 *   always (on demand while vm.numapte is 0).  The choice is an mm flag in
 *   MMF_INIT_MASK: inherited by fork, kept across exec.
 *
 * Locking
 *   Replica entries are written under the lock that serialises writers of
 *   the master entry they mirror: the PTE lock for PTE tables, the PMD
 *   table's lock for PMD entries, mm->page_table_lock above.  Writers that
 *   hold no lock (free_pgd_range()) only clear entries of ranges no fault
 *   can reach.  A numapte_table, once published in a ptdesc, only gains
 *   sharers and replicas until it is detached (xchg of the ptdesc slot, so
 *   exactly one path frees it) when its master table is freed or the mm is
 *   unreplicated.  Chokepoint readers run under rcu_read_lock(); only
 *   unreplication frees tables whose master may still be written, and it
 *   waits for an RCU grace period first.  Activation and fills run with the
 *   mmap_lock or the VMA lock held for read; unreplication holds the
 *   mmap_lock for write and write-locks every VMA, which excludes both.
 */
#include <linux/debugfs.h>
#include <linux/fault-inject.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/mmu_context.h>
#include <linux/nodemask.h>
#include <linux/numapte.h>
#include <linux/pgalloc.h>
#include <linux/prctl.h>
#include <linux/rcupdate.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/sysctl.h>
#include <linux/vmstat.h>
#include <asm/tlb.h>
#include <asm/tlbflush.h>

/* Level of a master table, i.e. of the entries in it. */
enum numapte_level {
	NUMAPTE_PTE = 1,
	NUMAPTE_PMD,
	NUMAPTE_PUD,
	NUMAPTE_PGD,
};

/*
 * struct numapte_table - the replicas of one master page-table page
 * @nm:      the mm's state, for per-node page counts (alive while any
 *           master table of the mm is: tables are freed before pgd_free())
 * @next:    link on a list of detached tables being freed
 * @rcu:     freed after a grace period: fill_linked() reads it locklessly
 * @level:   enum numapte_level of the master table
 * @sharers: nodes holding a replica; bits are only added while attached
 * @rep:     per node replica page or NULL; set before its sharer bit
 */
struct numapte_table {
	struct numapte_mm *nm;
	struct numapte_table *next;
	struct rcu_head rcu;
	int level;
	nodemask_t sharers;
	struct ptdesc *rep[];
};

/*
 * struct numapte_mm - per-mm state, hung on the master pgd's ptdesc
 * @mm:     the mm
 * @list:   on numapte_mms while replicated (numapte_mms_lock)
 * @lock:   serialises activations of this mm
 * @seen:   nodes this mm faulted on or was loaded on (atomic bit ops)
 * @active: CPUs load replica roots; set under @lock and numapte_mms_lock,
 *          cleared with the mmap_lock held for write
 * @narrow: no CPU of the mm runs on the master root: flushes may be
 *          narrowed to sharer nodes; set and cleared like @active
 * @degraded: nodes whose CPUs run on the master root after a replica
 *          allocation failed; set under @lock, cleared with the mmap_lock
 *          held for write
 * @roots:  the per-node replica roots while replicated (RCU-freed)
 * @flush_narrowed, @flush_broadcast, @flush_cpus_spared: as the vmstat
 *          events of the same names, for this mm
 * @pages:  replica pages per node, roots included
 */
struct numapte_mm {
	struct mm_struct *mm;
	struct list_head list;
	struct mutex lock; /* serialises activate() */
	nodemask_t seen;
	bool active;
	bool narrow;
	nodemask_t degraded;
	struct numapte_table *roots;
	atomic_long_t flush_narrowed;
	atomic_long_t flush_broadcast;
	atomic_long_t flush_cpus_spared;
	atomic_long_t pages[];
};

enum numapte_mode {
	NUMAPTE_OFF,
	NUMAPTE_ON_DEMAND,
	NUMAPTE_EAGER,
};

/* Replicated mms; numapte_mms_lock also orders activation against vm.numapte=0. */
static LIST_HEAD(numapte_mms);
static DEFINE_SPINLOCK(numapte_mms_lock);
/* Serialises vm.numapte writers. */
static DEFINE_MUTEX(numapte_mutex);

static int sysctl_numapte __read_mostly;
/*
 * Patched in when vm.numapte is first turned on and left on: it only gates
 * the chokepoint hooks, which find nothing to do once no mm is replicated.
 */
DEFINE_STATIC_KEY_FALSE(numapte_hooks);
EXPORT_SYMBOL(numapte_hooks);

/* Top-level entries that can map user space: only they are replicated. */
#define NUMAPTE_USER_PGDS	(pgd_index(TASK_SIZE_MAX) + 1)

static inline struct numapte_mm *mm_state(struct mm_struct *mm)
{
	return READ_ONCE(virt_to_ptdesc(mm->pgd)->pt_numapte_mm);
}

/*
 * The policy for @mm: vm.numapte unless PR_SET_NUMAPTE overrode it.  Both
 * change under numapte_mms_lock, which activate() holds when it decides.
 */
static int mm_mode(struct mm_struct *mm)
{
	int mode = READ_ONCE(sysctl_numapte);

	if (test_bit(MMF_NUMAPTE_NEVER, &mm->flags))
		return NUMAPTE_OFF;
	if (test_bit(MMF_NUMAPTE_ALWAYS, &mm->flags))
		return mode ? mode : NUMAPTE_ON_DEMAND;
	return mode;
}

static inline unsigned long *entries(struct ptdesc *pt)
{
	return ptdesc_address(pt);
}

/* A present entry pointing to a lower-level table. */
static inline bool table_entry(unsigned long v)
{
	return (v & _PAGE_PRESENT) && !(v & _PAGE_PSE);
}

static inline struct ptdesc *entry_table(unsigned long v)
{
	return virt_to_ptdesc(__va(v & PTE_PFN_MASK));
}

/* The replica value of master entry @v of a table at @level. */
static unsigned long numapte_derive(int level, unsigned long v)
{
	if (!(v & _PAGE_PRESENT) || !(v & _PAGE_ACCESSED))
		return 0;
	if (level != NUMAPTE_PTE && !(v & _PAGE_PSE))
		return 0;
	if ((v & (_PAGE_RW | _PAGE_DIRTY)) == _PAGE_RW)
		v &= ~_PAGE_RW;
	return v;
}

static struct numapte_table *table_alloc(void)
{
	return kzalloc(struct_size_t(struct numapte_table, rep, nr_node_ids),
		       GFP_KERNEL);
}

/* Fails replica page allocations on demand, to test the fallbacks. */
static DECLARE_FAULT_ATTR(fail_numapte_alloc);

/* fail_numapte_alloc=<interval>,<probability>,<space>,<times> */
static int __init fail_numapte_alloc_setup(char *str)
{
	return setup_fault_attr(&fail_numapte_alloc, str) ? 0 : -EINVAL;
}
early_param("fail_numapte_alloc", fail_numapte_alloc_setup);

/* A zeroed page-table page for node @nid's replica, accounted like one. */
static struct ptdesc *rep_alloc(struct numapte_mm *nm, int nid)
{
	struct page *page = NULL;
	struct folio *folio;

	if (!should_fail(&fail_numapte_alloc, PAGE_SIZE))
		page = alloc_pages_node(nid, GFP_PGTABLE_USER, 0);
	if (!page) {
		count_vm_event(NUMAPTE_ALLOC_FAIL);
		return NULL;
	}
	folio = page_folio(page);
	__folio_set_pgtable(folio);
	lruvec_stat_add_folio(folio, NR_PAGETABLE);
	atomic_long_inc(&nm->pages[nid]);
	count_vm_event(NUMAPTE_PAGE_ALLOC);
	return page_ptdesc(page);
}

static void rep_dtor(struct numapte_mm *nm, int nid, struct ptdesc *pt)
{
	struct folio *folio = ptdesc_folio(pt);

	__folio_clear_pgtable(folio);
	lruvec_stat_sub_folio(folio, NR_PAGETABLE);
	atomic_long_dec(&nm->pages[nid]);
	count_vm_event(NUMAPTE_PAGE_FREE);
}

/*
 * Free a detached table's replicas: through @tlb, after the flush that
 * makes its master unreachable, or at once when that flush is done.
 */
static void table_free(struct numapte_table *t, struct mmu_gather *tlb)
{
	int nid;

	for_each_node_mask(nid, t->sharers) {
		struct ptdesc *rep = t->rep[nid];

		rep_dtor(t->nm, nid, rep);
		if (tlb)
			tlb_remove_page(tlb, ptdesc_page(rep));
		else
			pagetable_free(rep);
	}
	kfree_rcu(t, rcu);
}

static inline struct numapte_table *table_detach(struct ptdesc *pt)
{
	return xchg(&pt->pt_numapte, NULL);
}

/*
 * The master table @pt is being freed through @tlb (___p?_free_tlb()):
 * the flush must reach the CPUs that may cache its replicas.
 */
void numapte_table_free_tlb(struct mmu_gather *tlb, struct ptdesc *pt)
{
	struct numapte_table *t = table_detach(pt);

	if (t) {
		nodes_or(tlb->numapte_nodes, tlb->numapte_nodes, t->sharers);
		table_free(t, tlb);
	}
}

/*
 * Add the sharers of the (non-root) table holding @entry to @nodes.
 * Unreplication can detach the table meanwhile (RCU).
 */
static void note_sharers(nodemask_t *nodes, void *entry)
{
	struct numapte_table *t;

	rcu_read_lock();
	t = READ_ONCE(virt_to_ptdesc(entry)->pt_numapte);
	if (t)
		nodes_or(*nodes, *nodes, t->sharers);
	rcu_read_unlock();
}

/* tlb_note_entry(): @entry changed under its table's lock; @tlb flushes it. */
void numapte_tlb_note_table(struct mmu_gather *tlb, void *entry)
{
	note_sharers(&tlb->numapte_nodes, entry);
}

/* tlb_note_walk(): a zap scanned the table holding @entry. */
void numapte_tlb_note_walk(struct mmu_gather *tlb, void *entry)
{
	note_sharers(&tlb->numapte_walked, entry);
}

/*
 * The sharers of the table holding @entry, copied to @buf, for a flush of
 * entries of that table cleared or changed under its lock
 * (flush_tlb_entries(), arch_tlbbatch_add_pending_entry()).
 */
const nodemask_t *numapte_entry_nodes(void *entry, nodemask_t *buf)
{
	if (!static_branch_unlikely(&numapte_hooks))
		return NULL;
	nodes_clear(*buf);
	note_sharers(buf, entry);
	return buf;
}

/* Where flush_tlb_mm_nodes() builds a narrowed target mask. */
static DEFINE_PER_CPU(struct cpumask, flush_cpus);

static void count_broadcast(struct numapte_mm *nm)
{
	count_vm_event(NUMAPTE_FLUSH_BROADCAST);
	atomic_long_inc(&nm->flush_broadcast);
}

/*
 * The CPUs that a flush of @mm by CPU @cpu (preemption disabled) must
 * reach, when only CPUs of @nodes can cache the flushed entries (NULL:
 * unknown).  The roots are RCU-freed, and preemption is disabled.
 */
const struct cpumask *numapte_flush_cpus(struct mm_struct *mm,
					 const nodemask_t *nodes, int cpu)
{
	const struct cpumask *all = mm_cpumask(mm);
	struct numapte_table *roots = NULL;
	struct numapte_mm *nm;
	struct cpumask *mask;
	nodemask_t reach;
	int nid, spared;

	if (!static_branch_unlikely(&numapte_hooks) || mm == &init_mm ||
	    cpumask_any_but(all, cpu) >= nr_cpu_ids)
		return all;
	nm = mm_state(mm);
	if (!nm)
		return all;
	/* Pairs with the barrier in switch_roots(): see unreplicate(). */
	if (READ_ONCE(nm->narrow))
		roots = READ_ONCE(nm->roots);
	if (!nodes || !roots) {
		count_broadcast(nm);
		return all;
	}
	/*
	 * CPUs of a node without a root (hotplugged later) or degraded by an
	 * allocation failure use the master.
	 */
	nodes_andnot(reach, node_online_map, roots->sharers);
	nodes_or(reach, reach, nm->degraded);
	nodes_or(reach, reach, *nodes);
	nodes_and(reach, reach, node_online_map);
	mask = this_cpu_ptr(&flush_cpus);
	cpumask_clear(mask);
	for_each_node_mask(nid, reach)
		cpumask_or(mask, mask, cpumask_of_node(nid));
	cpumask_and(mask, mask, all);
	/* The local flush is cheap and keeps this CPU's tlb_gen current. */
	if (cpumask_test_cpu(cpu, all))
		cpumask_set_cpu(cpu, mask);
	spared = cpumask_weight_andnot(all, mask);
	if (!spared) {
		count_broadcast(nm);
		return all;
	}
	count_vm_event(NUMAPTE_FLUSH_NARROWED);
	count_vm_events(NUMAPTE_FLUSH_CPUS_SPARED, spared);
	atomic_long_inc(&nm->flush_narrowed);
	atomic_long_add(spared, &nm->flush_cpus_spared);
	return mask;
}

/*
 * The master table @pt is unlinked and flushed, and is being freed or
 * deposited (pte_free_defer(), pgtable_trans_huge_deposit(),
 * pagetable_free()): no master entry of it can be written any more.
 */
void numapte_table_unlink(struct ptdesc *pt)
{
	struct numapte_table *t = table_detach(pt);

	if (t)
		table_free(t, NULL);
}

static inline void rep_set(struct numapte_table *t, int nid, unsigned int idx,
			   unsigned long val)
{
	struct ptdesc *rep = READ_ONCE(t->rep[nid]);

	if (rep)
		WRITE_ONCE(entries(rep)[idx], val);
}

/*
 * Chokepoint hook: the master entry at @entry was just written.  Called
 * for every page-table write in the system once numapte_hooks is on, so
 * it returns early for anything that is not a master table with replicas
 * (kernel tables, fixmap, on-stack entries have no numapte_table).
 */
void numapte_sync_entry(void *entry)
{
	struct numapte_table *t;
	unsigned long val;
	unsigned int idx;
	int nid;

	if (!virt_addr_valid(entry))
		return;
	rcu_read_lock();
	t = READ_ONCE(virt_to_ptdesc(entry)->pt_numapte);
	if (t) {
		idx = offset_in_page(entry) / sizeof(unsigned long);
		val = numapte_derive(t->level, READ_ONCE(*(unsigned long *)entry));
		for_each_node_mask(nid, t->sharers)
			rep_set(t, nid, idx, val);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL(numapte_sync_entry);

/* Chokepoint hook for top-level (pgd/p4d) entries of a master pgd. */
void numapte_sync_root(void *entry)
{
	unsigned int idx = offset_in_page(entry) / sizeof(pgd_t);
	struct numapte_table *roots;
	struct numapte_mm *nm;
	int nid;

	if (idx >= NUMAPTE_USER_PGDS || !virt_addr_valid(entry))
		return;
	rcu_read_lock();
	nm = READ_ONCE(virt_to_ptdesc(entry)->pt_numapte_mm);
	roots = nm ? READ_ONCE(nm->roots) : NULL;
	if (roots) {
		for_each_node_mask(nid, roots->sharers)
			rep_set(roots, nid, idx, 0);
	}
	rcu_read_unlock();
}
EXPORT_SYMBOL(numapte_sync_root);

/*
 * A thread of @mm runs on this CPU (switch_mm, IRQs off): record the node.
 * An mm is replicated at its next fault once it ran on two nodes, and the
 * eager policy fills every node it ran on.  Also called when the CPU had
 * @mm loaded lazily and no CR3 load follows, as threads can run on a node
 * for a long time without faulting there.
 */
void numapte_note_cpu(struct mm_struct *mm)
{
	struct numapte_mm *nm;
	int nid = numa_node_id();

	if (!static_branch_unlikely(&numapte_hooks) || mm == &init_mm)
		return;
	nm = mm_state(mm);
	if (nm && !node_isset(nid, nm->seen))
		node_set(nid, nm->seen);
}

/*
 * The root this CPU must load for @mm.  Called by switch_mm with IRQs off:
 * the roots are freed only after an IPI to every CPU of the mm and an RCU
 * grace period.
 */
pgd_t *numapte_root(struct mm_struct *mm)
{
	struct numapte_table *roots;
	struct numapte_mm *nm;
	struct ptdesc *root;

	if (!static_branch_unlikely(&numapte_hooks) || mm == &init_mm)
		return mm->pgd;
	numapte_note_cpu(mm);
	nm = mm_state(mm);
	if (!nm || !READ_ONCE(nm->active) ||
	    node_isset(numa_node_id(), nm->degraded))
		return mm->pgd;
	roots = READ_ONCE(nm->roots);
	root = roots ? READ_ONCE(roots->rep[numa_node_id()]) : NULL;
	return root ? ptdesc_address(root) : mm->pgd;
}

/* Is @cr3_pa the master or a replica root of @mm?  For sanity checks. */
bool numapte_cr3_is_mm(struct mm_struct *mm, unsigned long cr3_pa)
{
	struct numapte_table *roots;
	struct numapte_mm *nm;
	int nid;

	if (cr3_pa == __pa(mm->pgd))
		return true;
	if (!static_branch_unlikely(&numapte_hooks) || mm == &init_mm)
		return false;
	nm = mm_state(mm);
	roots = nm ? READ_ONCE(nm->roots) : NULL;
	if (!roots)
		return false;
	for_each_node_mask(nid, roots->sharers)
		if (cr3_pa == __pa(entries(roots->rep[nid])))
			return true;
	return false;
}

static void roots_free(struct numapte_mm *nm, struct numapte_table *roots)
{
	int nid;

	spin_lock(&pgd_lock);
	for_each_node_mask(nid, roots->sharers)
		list_del(&roots->rep[nid]->pt_list);
	spin_unlock(&pgd_lock);
	for_each_node_mask(nid, roots->sharers) {
		rep_dtor(nm, nid, roots->rep[nid]);
		pagetable_free(roots->rep[nid]);
	}
	kfree(roots);
}

/*
 * One root per online node, with the kernel half of swapper_pg_dir and on
 * pgd_list like any pgd (pgd_ctor()), so that sync_global_pgds() keeps
 * its kernel half up to date.  The user half starts empty.
 */
static struct numapte_table *roots_alloc(struct numapte_mm *nm)
{
	struct numapte_table *roots = table_alloc();
	int nid;

	if (!roots)
		return NULL;
	roots->nm = nm;
	roots->level = NUMAPTE_PGD;
	for_each_online_node(nid) {
		struct ptdesc *root = rep_alloc(nm, nid);

		if (!root) {
			roots_free(nm, roots);
			return NULL;
		}
		root->pt_mm = nm->mm;
		spin_lock(&pgd_lock);
		clone_pgd_range((pgd_t *)entries(root) + KERNEL_PGD_BOUNDARY,
				swapper_pg_dir + KERNEL_PGD_BOUNDARY,
				KERNEL_PGD_PTRS);
		list_add(&root->pt_list, &pgd_list);
		spin_unlock(&pgd_lock);
		roots->rep[nid] = root;
		node_set(nid, roots->sharers);
	}
	return roots;
}

/*
 * Make every CPU running @mm reload CR3 from numapte_root(), after
 * @mm's active flag changed.  The tlb_gen bump makes CPUs that ran @mm
 * before, and may still cache paging-structure entries of the old root
 * under its ASID, flush when they switch back.
 */
static void switch_roots(struct mm_struct *mm)
{
	/* Pairs with the mm_cpumask() update in switch_mm_irqs_off(). */
	smp_mb();
	inc_mm_tlb_gen(mm);
	on_each_cpu_mask(mm_cpumask(mm), numapte_switch_root, mm, true);
}

static int activate(struct mm_struct *mm, struct numapte_mm *nm)
{
	struct numapte_table *roots;
	int err = 0;

	mutex_lock(&nm->lock);
	if (nm->active)
		goto out;
	roots = roots_alloc(nm);
	if (!roots) {
		err = -ENOMEM;
		goto out;
	}
	spin_lock(&numapte_mms_lock);
	if (mm_mode(mm) == NUMAPTE_OFF) {
		/* Turned off meanwhile: vm.numapte=0 or PR_SET_NUMAPTE. */
		spin_unlock(&numapte_mms_lock);
		roots_free(nm, roots);
		goto out;
	}
	WRITE_ONCE(nm->roots, roots);
	list_add(&nm->list, &numapte_mms);
	WRITE_ONCE(nm->active, true);
	spin_unlock(&numapte_mms_lock);
	switch_roots(mm);
	/* Every CPU of the mm now runs on its node's root. */
	WRITE_ONCE(nm->narrow, true);
	count_vm_event(NUMAPTE_MM_REPLICATE);
out:
	mutex_unlock(&nm->lock);
	return err;
}

static struct numapte_mm *nm_alloc(struct mm_struct *mm)
{
	struct numapte_mm *nm;

	nm = kzalloc(struct_size(nm, pages, nr_node_ids), GFP_KERNEL);
	if (!nm)
		return NULL;
	nm->mm = mm;
	INIT_LIST_HEAD(&nm->list);
	mutex_init(&nm->lock);
	return nm;
}

/*
 * Record that @mm faulted on node @nid; replicate it once it has run on
 * two nodes (faulted there, or been loaded there: numapte_root()).
 * Returns the state if @mm is now replicated.  Failing to allocate only
 * leaves the mm unreplicated.
 */
static struct numapte_mm *note_node(struct mm_struct *mm, int nid)
{
	struct numapte_mm *nm = mm_state(mm), *old;

	if (!nm) {
		nm = nm_alloc(mm);
		if (!nm)
			return NULL;
		old = cmpxchg(&virt_to_ptdesc(mm->pgd)->pt_numapte_mm, NULL, nm);
		if (old) {
			kfree(nm);
			nm = old;
		}
	}
	if (!node_isset(nid, nm->seen))
		node_set(nid, nm->seen);
	if (nodes_weight(nm->seen) < 2 || activate(mm, nm))
		return NULL;
	return READ_ONCE(nm->active) ? nm : NULL;
}

/* Pages a fill may need, allocated with no lock held. */
struct numapte_prealloc {
	struct ptdesc *page;
	struct numapte_table *table;
};

static int prealloc(struct numapte_prealloc *pa, struct numapte_mm *nm,
		    int nid)
{
	if (!pa->page)
		pa->page = rep_alloc(nm, nid);
	if (!pa->table)
		pa->table = table_alloc();
	return pa->page && pa->table ? 0 : -ENOMEM;
}

static void prealloc_free(struct numapte_prealloc *pa, struct numapte_mm *nm,
			  int nid)
{
	if (pa->page) {
		rep_dtor(nm, nid, pa->page);
		pagetable_free(pa->page);
	}
	kfree(pa->table);
}

/* A new PTE-table replica is a whole copy of its master. */
static void copy_pte_table(struct ptdesc *master, struct ptdesc *rep)
{
	unsigned long *src = entries(master), *dst = entries(rep);
	int i;

	for (i = 0; i < PTRS_PER_PTE; i++)
		dst[i] = numapte_derive(NUMAPTE_PTE, READ_ONCE(src[i]));
	count_vm_event(NUMAPTE_TABLE_COPY);
}

/* A replica parent entry: the master's flags, the replica's address. */
static inline unsigned long link_value(struct ptdesc *rt, unsigned long mv)
{
	return __pa(entries(rt)) | (mv & ~PTE_PFN_MASK) | _PAGE_ACCESSED;
}

/*
 * Without locks: node @nid's replica table that the replica entry @rslot
 * already links for the master entry @mslot, or NULL; *@mtp is the master
 * table @mslot points to.  The caller's VMA or mmap lock keeps the upper
 * tables on the path alive, as it does for the walk of the core fault
 * path; a link is only written for the master table the entry points to,
 * and zeroed when the master entry changes.
 */
static struct ptdesc *linked(unsigned long *mslot, unsigned long *rslot,
			     int nid, struct ptdesc **mtp)
{
	unsigned long mv = READ_ONCE(*mslot);
	struct numapte_table *t;
	struct ptdesc *rt;

	if (!table_entry(mv))
		return NULL;
	*mtp = entry_table(mv);
	t = READ_ONCE((*mtp)->pt_numapte);
	rt = t ? READ_ONCE(t->rep[nid]) : NULL;
	if (!rt || READ_ONCE(*rslot) != link_value(rt, mv))
		return NULL;
	return rt;
}

/*
 * Point the replica entry @rslot of node @nid at node @nid's replica of
 * the table that the master entry @mslot points to, creating the replica
 * (and the master's numapte_table) if needed.  The caller holds the lock
 * of *@mslot, and for a PTE table also its PTE lock.  *@rtp is the replica
 * table, or NULL if *@mslot is not a table.  -EAGAIN: needs @pa refilled.
 */
static int link_table(struct numapte_mm *nm, int nid, int level,
		      unsigned long *mslot, unsigned long *rslot,
		      struct numapte_prealloc *pa, struct ptdesc **rtp)
{
	unsigned long mv = READ_ONCE(*mslot), want;
	struct numapte_table *t;
	struct ptdesc *mt, *rt;

	*rtp = NULL;
	if (!table_entry(mv))
		return 0;
	mt = entry_table(mv);
	t = mt->pt_numapte;
	if (!t) {
		if (!pa->table)
			return -EAGAIN;
		t = pa->table;
		pa->table = NULL;
		t->nm = nm;
		t->level = level;
		/* Initialised before a hook can find it. */
		smp_store_release(&mt->pt_numapte, t);
	}
	rt = t->rep[nid];
	if (!rt) {
		if (!pa->page)
			return -EAGAIN;
		rt = pa->page;
		pa->page = NULL;
		if (level == NUMAPTE_PTE)
			copy_pte_table(mt, rt);
		/* Filled before a hook can find it: pairs with READ_ONCE(). */
		smp_store_release(&t->rep[nid], rt);
		node_set(nid, t->sharers);
	}
	want = link_value(rt, mv);
	if (READ_ONCE(*rslot) != want)
		WRITE_ONCE(*rslot, want);
	*rtp = rt;
	return 0;
}

/*
 * Mark the master leaf at @mslot accessed (and dirty for a write to a
 * writable entry) as the hardware would have, then propagate it: the
 * replica copy of a clean or old entry would fault again forever.  The
 * caller holds the entry's lock; CPUs still on the master root during a
 * root switch may set bits concurrently, hence the cmpxchg.
 */
static void refresh_leaf(unsigned long *mslot, bool write)
{
	unsigned long v = READ_ONCE(*mslot), nv;

	do {
		if (!(v & _PAGE_PRESENT))
			break;
		nv = v | _PAGE_ACCESSED;
		if (write && (v & _PAGE_RW))
			nv |= _PAGE_DIRTY;
		if (nv == v)
			break;
	} while (!try_cmpxchg((long *)mslot, (long *)&v, nv));
	numapte_sync_entry(mslot);
	count_vm_event(NUMAPTE_FAULT);
}

/*
 * The common case, without mm->page_table_lock and the PMD lock that every
 * fault of the mm would otherwise contend on: this node's replica already
 * links the PTE table, so only its leaf needs refreshing, under the PTE
 * lock, if the master still maps that table.  False: take the slow path.
 * RCU covers a PTE table that retract_page_tables() frees meanwhile.
 */
static bool fill_linked(struct mm_struct *mm, struct ptdesc *root,
			unsigned long addr, bool write, int nid)
{
	unsigned long *mslot = (unsigned long *)pgd_offset(mm, addr);
	struct ptdesc *rt, *mt;
	spinlock_t *ptl; /* of the master PTE table */
	bool done = false;
	pte_t *pte;

	rcu_read_lock();
	rt = linked(mslot, entries(root) + pgd_index(addr), nid, &mt);
	if (!rt)
		goto out;
	mslot = entries(mt) + pud_index(addr);
	rt = linked(mslot, entries(rt) + pud_index(addr), nid, &mt);
	if (!rt)
		goto out;
	mslot = entries(mt) + pmd_index(addr);
	rt = linked(mslot, entries(rt) + pmd_index(addr), nid, &mt);
	if (!rt)
		goto out;
	pte = pte_offset_map_lock(mm, (pmd_t *)mslot, addr, &ptl);
	if (!pte)
		goto out;
	if (virt_to_ptdesc(pte) == mt) {
		refresh_leaf((unsigned long *)pte, write);
		done = true;
	}
	pte_unmap_unlock(pte, ptl);
out:
	rcu_read_unlock();
	return done;
}

/*
 * Fill node @nid's replica for @addr from the master, level by level.
 * Upper-level replica tables start empty and get one entry per fault;
 * a PTE table is copied whole when first replicated.
 */
static int fill_once(struct mm_struct *mm, struct numapte_mm *nm,
		     unsigned long addr, bool write, int nid,
		     struct numapte_prealloc *pa)
{
	struct numapte_table *roots = READ_ONCE(nm->roots);
	spinlock_t *pml, *ptl;
	unsigned long *mslot, *rslot, v;
	struct ptdesc *rt;
	pmd_t pmdv;
	int err;

	if (!roots || !roots->rep[nid] || node_isset(nid, nm->degraded))
		return 0;
	if (fill_linked(mm, roots->rep[nid], addr, write, nid))
		return 0;
	/* top level -> PUD table -> PMD table, under page_table_lock */
	spin_lock(&mm->page_table_lock);
	mslot = (unsigned long *)pgd_offset(mm, addr);
	rslot = entries(roots->rep[nid]) + pgd_index(addr);
	err = link_table(nm, nid, NUMAPTE_PUD, mslot, rslot, pa, &rt);
	if (err || !rt)
		goto out_upper;
	mslot = (unsigned long *)entries(entry_table(READ_ONCE(*mslot))) +
		pud_index(addr);
	rslot = entries(rt) + pud_index(addr);
	v = READ_ONCE(*mslot);
	if ((v & _PAGE_PRESENT) && (v & _PAGE_PSE)) {
		refresh_leaf(mslot, write);
		rt = NULL;
		goto out_upper;
	}
	err = link_table(nm, nid, NUMAPTE_PMD, mslot, rslot, pa, &rt);
	if (!err && rt)
		mslot = (unsigned long *)entries(entry_table(v)) + pmd_index(addr);
out_upper:
	spin_unlock(&mm->page_table_lock);
	if (err || !rt)
		return err;

	/* PMD entry: a leaf, or -> PTE table under the PMD and PTE locks */
	rslot = entries(rt) + pmd_index(addr);
	pml = pmd_lock(mm, (pmd_t *)mslot);
	pmdv = pmdp_get((pmd_t *)mslot);
	if (pmd_present(pmdv) && pmd_leaf(pmdv)) {
		refresh_leaf(mslot, write);
	} else if (table_entry(pmd_val(pmdv))) {
		ptl = pte_lockptr(mm, &pmdv);
		if (ptl != pml)
			spin_lock_nested(ptl, SINGLE_DEPTH_NESTING);
		err = link_table(nm, nid, NUMAPTE_PTE, mslot, rslot, pa, &rt);
		if (!err && rt)
			refresh_leaf(entries(entry_table(pmd_val(pmdv))) +
				     pte_index(addr), write);
		if (ptl != pml)
			spin_unlock(ptl);
	}
	spin_unlock(pml);
	return err;
}

/* 0, or -ENOMEM if node @nid could not get the replica pages it needs. */
static int fill(struct mm_struct *mm, struct numapte_mm *nm,
		unsigned long addr, bool write, int nid)
{
	struct numapte_prealloc pa = {};
	int err;

	for (;;) {
		err = fill_once(mm, nm, addr, write, nid, &pa);
		if (err != -EAGAIN)
			break;
		err = prealloc(&pa, nm, nid);
		if (err)
			break;
	}
	prealloc_free(&pa, nm, nid);
	return err;
}

/*
 * Node @nid could not get a replica page for a fault of one of its CPUs,
 * which cannot make progress without it: run @mm on the master root on
 * @nid from now on.  switch_roots() orders the bit before the CR3 reloads,
 * as for activation: a flush that missed the bit changed its entry before
 * any CPU of @nid walks the master.
 */
static void degrade(struct mm_struct *mm, struct numapte_mm *nm, int nid)
{
	mutex_lock(&nm->lock);
	if (nm->active && !node_isset(nid, nm->degraded)) {
		node_set(nid, nm->degraded);
		switch_roots(mm);
		count_vm_event(NUMAPTE_NODE_FALLBACK);
	}
	mutex_unlock(&nm->lock);
}

/*
 * The eager policy: fill the replica of every other node @mm ran on too.
 * A node that fails to get one faults it in on demand later.
 */
static void fill_eager(struct mm_struct *mm, struct numapte_mm *nm,
		       unsigned long addr, bool write, int self)
{
	nodemask_t nodes = nm->seen;
	int nid;

	node_clear(self, nodes);
	for_each_node_mask(nid, nodes)
		fill(mm, nm, addr, write, nid);
}

/*
 * Called by handle_mm_fault() after a successful fault, with the VMA or
 * mmap lock still held: bring this node's replica up to date for
 * @address, so that the retried access finds it.  This is also where an
 * mm that faults on a second node gets replicated.
 */
void numapte_fault(struct vm_area_struct *vma, unsigned long address,
		   unsigned int flags)
{
	struct mm_struct *mm = vma->vm_mm;
	struct numapte_mm *nm;
	int nid;

	if (!static_branch_unlikely(&numapte_hooks))
		return;
	nid = numa_node_id();
	nm = mm_state(mm);
	if (!nm || !READ_ONCE(nm->active)) {
		if (mm_mode(mm) == NUMAPTE_OFF || mm != current->mm ||
		    (current->flags & PF_KTHREAD))
			return;
		nm = note_node(mm, nid);
		if (!nm)
			return;
	}
	if (fill(mm, nm, address & PAGE_MASK, flags & FAULT_FLAG_WRITE, nid))
		degrade(mm, nm, nid);
	else if (mm_mode(mm) == NUMAPTE_EAGER)
		fill_eager(mm, nm, address & PAGE_MASK,
			   flags & FAULT_FLAG_WRITE, nid);
}

static void detach_one(struct ptdesc *pt, struct numapte_table **dead)
{
	struct numapte_table *t = table_detach(pt);

	if (t) {
		t->next = *dead;
		*dead = t;
	}
}

/*
 * Detach the numapte_table of every master table of @mm.  PTE tables may
 * be freed concurrently by retract_page_tables() (RCU-deferred), hence
 * rcu_read_lock() around their reads; upper tables need the mmap_lock.
 */
static void detach_all(struct mm_struct *mm, struct numapte_table **dead)
{
	unsigned long *pgd = (unsigned long *)mm->pgd, *pud, *pmd, v;
	int i, j, k;

	for (i = 0; i < NUMAPTE_USER_PGDS; i++) {
		v = READ_ONCE(pgd[i]);
		if (!table_entry(v))
			continue;
		pud = entries(entry_table(v));
		detach_one(entry_table(v), dead);
		for (j = 0; j < PTRS_PER_PUD; j++) {
			v = READ_ONCE(pud[j]);
			if (!table_entry(v))
				continue;
			pmd = entries(entry_table(v));
			detach_one(entry_table(v), dead);
			rcu_read_lock();
			for (k = 0; k < PTRS_PER_PMD; k++) {
				v = READ_ONCE(pmd[k]);
				if (table_entry(v))
					detach_one(entry_table(v), dead);
			}
			rcu_read_unlock();
			cond_resched();
		}
	}
}

/* Stop replicating @mm: all its CPUs back on the master, replicas freed. */
static void unreplicate(struct mm_struct *mm)
{
	struct numapte_table *dead = NULL, *roots, *t;
	struct vm_area_struct *vma;
	struct numapte_mm *nm;

	VMA_ITERATOR(vmi, mm, 0);
	mmap_write_lock(mm);
	for_each_vma(vmi, vma)
		vma_start_write(vma);
	nm = mm_state(mm);
	if (!nm || !nm->active)
		goto out;
	/*
	 * Before any CPU goes back to the master: a flush that changed an
	 * entry after a CPU switched (and may cache it) reads @narrow after
	 * its entry write and inc_mm_tlb_gen(), and sees it false.
	 */
	WRITE_ONCE(nm->narrow, false);
	WRITE_ONCE(nm->active, false);
	spin_lock(&numapte_mms_lock);
	list_del_init(&nm->list);
	spin_unlock(&numapte_mms_lock);
	switch_roots(mm);
	nodes_clear(nm->degraded);
	detach_all(mm, &dead);
	roots = nm->roots;
	WRITE_ONCE(nm->roots, NULL);
	/* Chokepoint hooks may still be writing into what was detached. */
	synchronize_rcu();
	while (dead) {
		t = dead;
		dead = t->next;
		table_free(t, NULL);
	}
	roots_free(nm, roots);
	count_vm_event(NUMAPTE_MM_UNREPLICATE);
out:
	mmap_write_unlock(mm);
}

/* The first replicated mm whose policy is now off, or NULL. */
static struct numapte_mm *first_turned_off(void)
{
	struct numapte_mm *nm;

	lockdep_assert_held(&numapte_mms_lock);
	list_for_each_entry(nm, &numapte_mms, list)
		if (mm_mode(nm->mm) == NUMAPTE_OFF)
			return nm;
	return NULL;
}

/* vm.numapte=0: unreplicate every mm but those set to always. */
static void numapte_unreplicate_all(void)
{
	struct numapte_mm *nm;
	struct mm_struct *mm;
	bool alive;

	for (;;) {
		spin_lock(&numapte_mms_lock);
		nm = first_turned_off();
		if (!nm) {
			spin_unlock(&numapte_mms_lock);
			return;
		}
		list_del_init(&nm->list);
		/* pgd_free() takes numapte_mms_lock before freeing @nm. */
		mm = nm->mm;
		alive = mmget_not_zero(mm);
		spin_unlock(&numapte_mms_lock);
		/* An exiting mm frees its replicas itself. */
		if (alive) {
			unreplicate(mm);
			mmput(mm);
		}
	}
}

/*
 * The master pgd of @mm is being freed: nothing runs on @mm any more and
 * every master table, with its replicas, is already gone.
 */
void numapte_pgd_free(struct mm_struct *mm, pgd_t *pgd)
{
	struct numapte_mm *nm = xchg(&virt_to_ptdesc(pgd)->pt_numapte_mm, NULL);
	int nid;

	if (!nm)
		return;
	spin_lock(&numapte_mms_lock);
	list_del_init(&nm->list);
	spin_unlock(&numapte_mms_lock);
	if (nm->roots) {
		roots_free(nm, nm->roots);
		count_vm_event(NUMAPTE_MM_UNREPLICATE);
	}
	for_each_node(nid)
		WARN_ONCE(atomic_long_read(&nm->pages[nid]),
			  "numapte: %ld replica pages leaked on node %d\n",
			  atomic_long_read(&nm->pages[nid]), nid);
	kfree(nm);
}

static const char *const policy_names[] = {
	[PR_NUMAPTE_DEFAULT] = "default",
	[PR_NUMAPTE_ALWAYS] = "always",
	[PR_NUMAPTE_NEVER] = "never",
};

/* /proc/<pid>/numapte */
int numapte_proc_show(struct seq_file *m, struct pid_namespace *ns,
		      struct pid *pid, struct task_struct *task)
{
	struct mm_struct *mm = get_task_mm(task);
	struct numapte_mm *nm = mm ? mm_state(mm) : NULL;
	nodemask_t seen = nm ? nm->seen : NODE_MASK_NONE;
	nodemask_t degraded = nm ? nm->degraded : NODE_MASK_NONE;
	long total = 0, n;
	int nid;

	seq_printf(m, "replicated: %d\n", nm ? READ_ONCE(nm->active) : 0);
	seq_printf(m, "policy: %s\n",
		   mm ? policy_names[numapte_prctl_get(mm)] : "none");
	seq_printf(m, "nodes_seen: %*pbl\n", nodemask_pr_args(&seen));
	seq_printf(m, "nodes_on_master: %*pbl\n", nodemask_pr_args(&degraded));
	for_each_online_node(nid) {
		n = nm ? atomic_long_read(&nm->pages[nid]) : 0;
		seq_printf(m, "replica_pages_node%d: %ld\n", nid, n);
		total += n;
	}
	seq_printf(m, "replica_pages: %ld\n", total);
	seq_printf(m, "flush_narrowed: %ld\n",
		   nm ? atomic_long_read(&nm->flush_narrowed) : 0);
	seq_printf(m, "flush_broadcast: %ld\n",
		   nm ? atomic_long_read(&nm->flush_broadcast) : 0);
	seq_printf(m, "flush_cpus_spared: %ld\n",
		   nm ? atomic_long_read(&nm->flush_cpus_spared) : 0);
	if (mm)
		mmput(mm);
	return 0;
}

/* PR_GET_NUMAPTE */
int numapte_prctl_get(struct mm_struct *mm)
{
	if (test_bit(MMF_NUMAPTE_NEVER, &mm->flags))
		return PR_NUMAPTE_NEVER;
	if (test_bit(MMF_NUMAPTE_ALWAYS, &mm->flags))
		return PR_NUMAPTE_ALWAYS;
	return PR_NUMAPTE_DEFAULT;
}

/*
 * PR_SET_NUMAPTE: override vm.numapte for @mm, current's.  The new bit is
 * set before the old one is cleared: in between both are set and never
 * wins, so a concurrent activate() never sees a policy nobody chose.  If
 * @mm is now off, its replicas go before the call returns.
 */
int numapte_prctl_set(struct mm_struct *mm, unsigned long mode)
{
	int bit, old;

	switch (mode) {
	case PR_NUMAPTE_DEFAULT:
		bit = -1;
		break;
	case PR_NUMAPTE_ALWAYS:
		bit = MMF_NUMAPTE_ALWAYS;
		break;
	case PR_NUMAPTE_NEVER:
		bit = MMF_NUMAPTE_NEVER;
		break;
	default:
		return -EINVAL;
	}
	if (mode == PR_NUMAPTE_ALWAYS)
		static_branch_enable(&numapte_hooks);
	spin_lock(&numapte_mms_lock);
	if (bit >= 0)
		set_bit(bit, &mm->flags);
	for (old = MMF_NUMAPTE_ALWAYS; old <= MMF_NUMAPTE_NEVER; old++)
		if (old != bit)
			clear_bit(old, &mm->flags);
	spin_unlock(&numapte_mms_lock);
	if (mm_mode(mm) == NUMAPTE_OFF)
		unreplicate(mm);
	return 0;
}

static void numapte_set_mode(int mode)
{
	if (mode) {
		static_branch_enable(&numapte_hooks);
		WRITE_ONCE(sysctl_numapte, mode);
		return;
	}
	spin_lock(&numapte_mms_lock);
	WRITE_ONCE(sysctl_numapte, 0);
	spin_unlock(&numapte_mms_lock);
	numapte_unreplicate_all();
}

/* Parse into a copy: a bad value gets -EINVAL and changes nothing. */
static int numapte_sysctl(const struct ctl_table *table, int write,
			  void *buffer, size_t *lenp, loff_t *ppos)
{
	struct ctl_table t = *table;
	int mode, err;

	if (!write)
		return proc_dointvec_minmax(table, write, buffer, lenp, ppos);
	mutex_lock(&numapte_mutex);
	mode = sysctl_numapte;
	t.data = &mode;
	err = proc_dointvec_minmax(&t, write, buffer, lenp, ppos);
	if (!err)
		numapte_set_mode(mode);
	mutex_unlock(&numapte_mutex);
	return err;
}

static struct ctl_table numapte_table[] = {
	{
		.procname	= "numapte",
		.data		= &sysctl_numapte,
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= numapte_sysctl,
		.extra1		= SYSCTL_ZERO,
		.extra2		= SYSCTL_TWO,
	},
};

/* numapte=0|1|2 on the command line: vm.numapte at boot. */
static int __init numapte_setup(char *str)
{
	int mode;

	if (!str || kstrtoint(str, 0, &mode) || mode < NUMAPTE_OFF ||
	    mode > NUMAPTE_EAGER) {
		pr_warn("numapte: ignoring numapte=%s (0, 1 or 2)\n", str);
		return -EINVAL;
	}
	sysctl_numapte = mode;
	return 0;
}
early_param("numapte", numapte_setup);

static int __init numapte_init(void)
{
	struct dentry *dir;

	if (sysctl_numapte)
		static_branch_enable(&numapte_hooks);
	register_sysctl_init("vm", numapte_table);
	dir = fault_create_debugfs_attr("fail_numapte_alloc", NULL,
					&fail_numapte_alloc);
	pr_info("numapte: %d NUMA node(s), vm.numapte=%d%s\n",
		num_online_nodes(), sysctl_numapte,
		IS_ERR(dir) ? "" : ", fault injection: fail_numapte_alloc");
	return 0;
}
subsys_initcall(numapte_init);

#if IS_ENABLED(CONFIG_NUMAPTE_KUNIT_TEST)
#include "numapte_kunit.c"
#endif
