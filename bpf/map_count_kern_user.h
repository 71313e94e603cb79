/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/map_count.bpf.c and monitor/: one record per BPF map in
 * the system, written by a bpf_map iterator.
 */
#ifndef REFLEX_MAP_COUNT_KERN_USER_H
#define REFLEX_MAP_COUNT_KERN_USER_H

#ifndef __BPF__
#include <linux/types.h>
#endif

struct map_count_rec {
	__u32 id;
	__u32 max_entries;
	__s64 entries; /* bpf_map_sum_elem_count(): exact for hash maps, 0 for arrays */
};

#endif /* REFLEX_MAP_COUNT_KERN_USER_H */
