/* SPDX-License-Identifier: GPL-2.0 */
/*
 * numaPTE: per-NUMA-node page-table replicas, filled on demand.
 *
 * The master tree (mm->pgd) stays the only tree core mm code reads and
 * writes.  While an mm is replicated, each CPU loads its own node's replica
 * root; replica tables are filled by replication faults and kept coherent
 * by the page-table write chokepoints (asm/pgtable_64.h).  See
 * mm/numapte.c for the invariants.
 */
#ifndef _LINUX_NUMAPTE_H
#define _LINUX_NUMAPTE_H

#include <linux/errno.h>
#include <linux/mm_types.h>
#include <linux/nodemask_types.h>

struct mmu_gather;
struct seq_file;
struct pid_namespace;
struct pid;
struct task_struct;

#ifdef CONFIG_NUMAPTE
pgd_t *numapte_root(struct mm_struct *mm);
void numapte_note_cpu(struct mm_struct *mm);
bool numapte_cr3_is_mm(struct mm_struct *mm, unsigned long cr3_pa);
void numapte_fault(struct vm_area_struct *vma, unsigned long address,
		   unsigned int flags);
void numapte_table_free_tlb(struct mmu_gather *tlb, struct ptdesc *pt);
void numapte_table_unlink(struct ptdesc *pt);
void numapte_pgd_free(struct mm_struct *mm, pgd_t *pgd);
int numapte_proc_show(struct seq_file *m, struct pid_namespace *ns,
		      struct pid *pid, struct task_struct *task);
/* Called by IPI from mm/numapte.c: reload CR3 from numapte_root(). */
void numapte_switch_root(void *mm);
const nodemask_t *numapte_entry_nodes(void *entry, nodemask_t *buf);
const struct cpumask *numapte_flush_cpus(struct mm_struct *mm,
					 const nodemask_t *nodes, int cpu);
int numapte_prctl_set(struct mm_struct *mm, unsigned long mode);
int numapte_prctl_get(struct mm_struct *mm);
#else
static inline pgd_t *numapte_root(struct mm_struct *mm)
{
	return mm->pgd;
}

static inline void numapte_note_cpu(struct mm_struct *mm)
{
}

static inline bool numapte_cr3_is_mm(struct mm_struct *mm,
				     unsigned long cr3_pa)
{
	return false;
}

static inline void numapte_fault(struct vm_area_struct *vma,
				 unsigned long address, unsigned int flags)
{
}

static inline void numapte_table_free_tlb(struct mmu_gather *tlb,
					  struct ptdesc *pt)
{
}

static inline void numapte_table_unlink(struct ptdesc *pt)
{
}

static inline void numapte_pgd_free(struct mm_struct *mm, pgd_t *pgd)
{
}

static inline const nodemask_t *numapte_entry_nodes(void *entry,
						    nodemask_t *buf)
{
	return NULL;
}

static inline const struct cpumask *
numapte_flush_cpus(struct mm_struct *mm, const nodemask_t *nodes, int cpu)
{
	return mm_cpumask(mm);
}

static inline int numapte_prctl_set(struct mm_struct *mm, unsigned long mode)
{
	return -EINVAL;
}

static inline int numapte_prctl_get(struct mm_struct *mm)
{
	return -EINVAL;
}
#endif /* CONFIG_NUMAPTE */

#endif /* _LINUX_NUMAPTE_H */
