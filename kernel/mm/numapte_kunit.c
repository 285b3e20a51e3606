// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of numaPTE's descriptors, sharers and propagation, on a real
 * mm.  Included at the end of mm/numapte.c to reach its static functions.
 *
 * The real-mm case runs in the KUnit kthread with a fresh mm attached
 * (kunit_vm_mmap()), replicates it on purpose, and checks, table by table,
 * what a replication fault built, what each master write propagated, and
 * which nodes and CPUs a flush of the filled table is narrowed to, and
 * that a node falling back after an allocation failure runs on the master.
 */
#include <kunit/test.h>
#include <linux/mman.h>
#include <linux/uaccess.h>

#define NR_TEST_PAGES	4

static unsigned long test_event(struct kunit *test, enum vm_event_item item)
{
	unsigned long *ev = kunit_kcalloc(test, NR_VM_EVENT_ITEMS, sizeof(*ev),
					  GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ev);
	all_vm_events(ev);
	return ev[item];
}

static void numapte_test_derive(struct kunit *test)
{
	const unsigned long pa = 0x1234000UL;
	const unsigned long p = _PAGE_PRESENT | _PAGE_USER | pa;

	/* Not present or not accessed: never in a replica. */
	KUNIT_EXPECT_EQ(test, 0UL, numapte_derive(NUMAPTE_PTE, 0));
	KUNIT_EXPECT_EQ(test, 0UL, numapte_derive(NUMAPTE_PTE, p | _PAGE_RW));
	KUNIT_EXPECT_EQ(test, 0UL,
			numapte_derive(NUMAPTE_PTE, _PAGE_ACCESSED | _PAGE_PROTNONE | pa));
	/* Writable but clean: read-only in the replica, so a write faults. */
	KUNIT_EXPECT_EQ(test, p | _PAGE_ACCESSED,
			numapte_derive(NUMAPTE_PTE, p | _PAGE_ACCESSED | _PAGE_RW));
	KUNIT_EXPECT_EQ(test, p | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY,
			numapte_derive(NUMAPTE_PTE,
				       p | _PAGE_ACCESSED | _PAGE_RW | _PAGE_DIRTY));
	KUNIT_EXPECT_EQ(test, p | _PAGE_ACCESSED | _PAGE_DIRTY,
			numapte_derive(NUMAPTE_PTE, p | _PAGE_ACCESSED | _PAGE_DIRTY));
	/* A master table pointer is never copied, at any level. */
	KUNIT_EXPECT_EQ(test, 0UL, numapte_derive(NUMAPTE_PMD, _PAGE_TABLE | pa));
	KUNIT_EXPECT_EQ(test, 0UL, numapte_derive(NUMAPTE_PUD, _PAGE_TABLE | pa));
	KUNIT_EXPECT_EQ(test, 0UL, numapte_derive(NUMAPTE_PGD, _PAGE_TABLE | pa));
	/* Huge leaves follow the PTE rule. */
	KUNIT_EXPECT_EQ(test, p | _PAGE_PSE | _PAGE_ACCESSED,
			numapte_derive(NUMAPTE_PMD,
				       p | _PAGE_PSE | _PAGE_ACCESSED | _PAGE_RW));
	KUNIT_EXPECT_EQ(test, 0UL, numapte_derive(NUMAPTE_PMD, p | _PAGE_PSE));
}

/* The master PTE of @addr in @mm, and its table's numapte_table. */
static pte_t *test_master_pte(struct mm_struct *mm, unsigned long addr,
			      pmd_t **pmdp)
{
	pgd_t *pgd = pgd_offset(mm, addr);
	p4d_t *p4d = p4d_offset(pgd, addr);
	pud_t *pud;

	if (!p4d_present(*p4d))
		return NULL;
	pud = pud_offset(p4d, addr);
	if (!pud_present(*pud) || pud_leaf(*pud))
		return NULL;
	*pmdp = pmd_offset(pud, addr);
	if (!pmd_present(**pmdp) || pmd_leaf(**pmdp))
		return NULL;
	return pte_offset_kernel(*pmdp, addr);
}

static unsigned long test_replica_entry(struct numapte_table *t, int nid,
					pte_t *ptep)
{
	return entries(t->rep[nid])[offset_in_page(ptep) / sizeof(pte_t)];
}

struct test_state {
	struct mm_struct *mm;
	struct numapte_mm *nm;
	unsigned long addr;
	int nid;
	int saved_mode;
};

/* Give the KUnit mm numaPTE state and replicate it, as two nodes would. */
static void test_replicate(struct kunit *test, struct test_state *s)
{
	s->nm = nm_alloc(s->mm);
	KUNIT_ASSERT_NOT_NULL(test, s->nm);
	KUNIT_ASSERT_NULL(test, cmpxchg(&virt_to_ptdesc(s->mm->pgd)->pt_numapte_mm,
					NULL, s->nm));
	s->saved_mode = READ_ONCE(sysctl_numapte);
	static_branch_enable(&numapte_hooks);
	WRITE_ONCE(sysctl_numapte, 1);
	mmap_read_lock(s->mm);
	KUNIT_EXPECT_EQ(test, 0, activate(s->mm, s->nm));
	mmap_read_unlock(s->mm);
	KUNIT_ASSERT_TRUE(test, READ_ONCE(s->nm->active));
	/* Every CPU of the mm left the master: flushes may be narrowed. */
	KUNIT_EXPECT_TRUE(test, READ_ONCE(s->nm->narrow));
	/* This CPU (the test is pinned) now runs on its node's root. */
	KUNIT_EXPECT_EQ(test, __pa(numapte_root(s->mm)), read_cr3_pa());
	KUNIT_EXPECT_NE(test, __pa(s->mm->pgd), read_cr3_pa());
}

/*
 * Flushes of entries of the PTE table at @ptep, which only this node
 * shares, name this node: through an mmu_gather, through
 * flush_tlb_entries(), and as CPUs when the mm's cpumask holds every CPU.
 */
static void test_narrowing(struct kunit *test, struct test_state *s,
			   pte_t *ptep)
{
	nodemask_t one = nodemask_of_node(s->nid), buf;
	bool self_in, own_in = true, other_in = false;
	const struct cpumask *mask, *all;
	long narrowed = atomic_long_read(&s->nm->flush_narrowed);
	struct mmu_gather tlb;
	cpumask_var_t saved;
	int cpu, c;

	tlb_gather_mmu(&tlb, s->mm);
	KUNIT_EXPECT_TRUE(test, nodes_empty(tlb.numapte_nodes));
	tlb_note_entry(&tlb, ptep);
	KUNIT_EXPECT_TRUE(test, nodes_equal(one, tlb.numapte_nodes));
	KUNIT_EXPECT_PTR_EQ(test, &tlb.numapte_nodes, tlb_flush_nodes(&tlb));
	tlb_note_all(&tlb);
	KUNIT_EXPECT_NULL(test, tlb_flush_nodes(&tlb));
	tlb_finish_mmu(&tlb);

	KUNIT_ASSERT_NOT_NULL(test, numapte_entry_nodes(ptep, &buf));
	KUNIT_EXPECT_TRUE(test, nodes_equal(one, buf));

	KUNIT_ASSERT_TRUE(test, alloc_cpumask_var(&saved, GFP_KERNEL));
	cpumask_copy(saved, mm_cpumask(s->mm));
	cpumask_copy(mm_cpumask(s->mm), cpu_online_mask);
	cpu = get_cpu();
	all = numapte_flush_cpus(s->mm, NULL, cpu);
	mask = numapte_flush_cpus(s->mm, &one, cpu);
	self_in = cpumask_test_cpu(cpu, mask);
	for_each_online_cpu(c) {
		if (cpu_to_node(c) == s->nid)
			own_in &= cpumask_test_cpu(c, mask);
		else
			other_in |= cpumask_test_cpu(c, mask);
	}
	put_cpu();
	cpumask_copy(mm_cpumask(s->mm), saved);
	free_cpumask_var(saved);
	KUNIT_EXPECT_PTR_EQ(test, (const struct cpumask *)mm_cpumask(s->mm), all);
	KUNIT_EXPECT_TRUE(test, self_in);
	KUNIT_EXPECT_TRUE(test, own_in);
	KUNIT_EXPECT_FALSE(test, other_in);
	if (num_online_nodes() > 1)
		KUNIT_EXPECT_EQ(test, narrowed + 1,
				atomic_long_read(&s->nm->flush_narrowed));
}

static void numapte_test_real_mm(struct kunit *test)
{
	struct test_state s = {};
	unsigned long buf[NR_TEST_PAGES], alloc0, free0, v;
	struct numapte_table *t;
	pmd_t *pmdp;
	pte_t *ptep;
	int i;

	s.addr = kunit_vm_mmap(test, NULL, 0, NR_TEST_PAGES * PAGE_SIZE,
			       PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE(test, 0UL, s.addr);
	s.mm = current->mm;
	/* Populate the master before replicating. */
	for (i = 0; i < NR_TEST_PAGES; i++) {
		v = 0xc0ffee00UL + i;
		KUNIT_ASSERT_EQ(test, 0UL,
				copy_to_user((void __user *)(s.addr + i * PAGE_SIZE),
					     &v, sizeof(v)));
	}
	/* Stay on one CPU, so that "this node" means one node throughout. */
	KUNIT_ASSERT_EQ(test, 0, set_cpus_allowed_ptr(current,
						      cpumask_of(raw_smp_processor_id())));
	s.nid = numa_node_id();
	test_replicate(test, &s);
	for_each_online_node(i)
		KUNIT_EXPECT_EQ(test, 1L, atomic_long_read(&s.nm->pages[i]));

	/* The replica is empty: reading faults, and the fault fills it. */
	for (i = 0; i < NR_TEST_PAGES; i++) {
		KUNIT_ASSERT_EQ(test, 0UL,
				copy_from_user(&buf[i],
					       (void __user *)(s.addr + i * PAGE_SIZE),
					       sizeof(buf[i])));
		KUNIT_EXPECT_EQ(test, 0xc0ffee00UL + i, buf[i]);
	}
	ptep = test_master_pte(s.mm, s.addr, &pmdp);
	KUNIT_ASSERT_NOT_NULL(test, ptep);
	t = virt_to_ptdesc(ptep)->pt_numapte;
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_EXPECT_EQ(test, NUMAPTE_PTE, t->level);
	KUNIT_EXPECT_TRUE(test, node_isset(s.nid, t->sharers));
	KUNIT_ASSERT_NOT_NULL(test, t->rep[s.nid]);
	/* Root, PUD, PMD and PTE replica on this node. */
	KUNIT_EXPECT_GE(test, atomic_long_read(&s.nm->pages[s.nid]), 4L);

	spin_lock(pte_lockptr(s.mm, pmdp));
	for (i = 0; i < NR_TEST_PAGES; i++)
		KUNIT_EXPECT_EQ(test, numapte_derive(NUMAPTE_PTE, pte_val(ptep[i])),
				test_replica_entry(t, s.nid, &ptep[i]));
	/* Written pages are dirty: writable in the replica too. */
	KUNIT_EXPECT_TRUE(test, test_replica_entry(t, s.nid, ptep) & _PAGE_RW);

	/* Each chokepoint propagates its write. */
	ptep_set_wrprotect(s.mm, s.addr, ptep);
	KUNIT_EXPECT_FALSE(test, test_replica_entry(t, s.nid, ptep) & _PAGE_RW);
	KUNIT_EXPECT_TRUE(test, test_replica_entry(t, s.nid, ptep) & _PAGE_PRESENT);
	ptep_test_and_clear_young(NULL, s.addr, ptep);
	KUNIT_EXPECT_EQ(test, 0UL, test_replica_entry(t, s.nid, ptep));
	/* Write-protection moved D to SavedDirty: writable but clean now. */
	set_pte(ptep, pte_mkyoung(pte_mkwrite_novma(*ptep)));
	KUNIT_EXPECT_EQ(test, pte_val(*ptep) & ~_PAGE_RW,
			test_replica_entry(t, s.nid, ptep));
	set_pte(ptep, __pte(pte_val(*ptep) | _PAGE_DIRTY));
	KUNIT_EXPECT_EQ(test, pte_val(*ptep), test_replica_entry(t, s.nid, ptep));
	v = pte_val(ptep_get_and_clear(s.mm, s.addr, ptep));
	KUNIT_EXPECT_EQ(test, 0UL, test_replica_entry(t, s.nid, ptep));
	set_pte(ptep, __pte(v));
	KUNIT_EXPECT_EQ(test, v, test_replica_entry(t, s.nid, ptep));
	spin_unlock(pte_lockptr(s.mm, pmdp));

	test_narrowing(test, &s, ptep);

	/* A node that could not get a replica page runs on the master. */
	mmap_read_lock(s.mm);
	degrade(s.mm, s.nm, s.nid);
	mmap_read_unlock(s.mm);
	KUNIT_EXPECT_TRUE(test, node_isset(s.nid, s.nm->degraded));
	KUNIT_EXPECT_EQ(test, __pa(s.mm->pgd), read_cr3_pa());
	KUNIT_EXPECT_EQ(test, 0UL,
			copy_from_user(&buf[1], (void __user *)(s.addr + PAGE_SIZE),
				       sizeof(buf[1])));
	KUNIT_EXPECT_EQ(test, 0xc0ffee01UL, buf[1]);

	/* munmap frees the master tables and, with them, their replicas. */
	alloc0 = test_event(test, NUMAPTE_PAGE_ALLOC);
	free0 = test_event(test, NUMAPTE_PAGE_FREE);
	KUNIT_EXPECT_EQ(test, 0, vm_munmap(s.addr, NR_TEST_PAGES * PAGE_SIZE));
	KUNIT_EXPECT_EQ(test, alloc0, test_event(test, NUMAPTE_PAGE_ALLOC));
	KUNIT_EXPECT_EQ(test, free0 + 3, test_event(test, NUMAPTE_PAGE_FREE));
	KUNIT_EXPECT_EQ(test, 1L, atomic_long_read(&s.nm->pages[s.nid]));

	/* Unreplicating puts this CPU back on the master and frees the roots. */
	unreplicate(s.mm);
	KUNIT_EXPECT_FALSE(test, READ_ONCE(s.nm->active));
	KUNIT_EXPECT_TRUE(test, nodes_empty(s.nm->degraded));
	KUNIT_EXPECT_EQ(test, __pa(s.mm->pgd), read_cr3_pa());
	for_each_node(i)
		KUNIT_EXPECT_EQ(test, 0L, atomic_long_read(&s.nm->pages[i]));
	WRITE_ONCE(sysctl_numapte, s.saved_mode);
	set_cpus_allowed_ptr(current, cpu_possible_mask);
}

static struct kunit_case numapte_test_cases[] = {
	KUNIT_CASE(numapte_test_derive),
	KUNIT_CASE(numapte_test_real_mm),
	{}
};

static struct kunit_suite numapte_test_suite = {
	.name = "numapte",
	.test_cases = numapte_test_cases,
};

kunit_test_suite(numapte_test_suite);
