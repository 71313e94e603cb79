// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * map_count: the entries in use of every BPF map, in one read(2).
 *
 * Hash maps keep a per-CPU element counter in the kernel (6.6+);
 * bpf_map_sum_elem_count() sums it. Reading it through a bpf_map iterator
 * costs one syscall for every map in the system, where walking a map's keys
 * from userspace costs one syscall per key (or per batch) and grows with the
 * map: a full 64k-entry LRU would take milliseconds every tick.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "map_count_kern_user.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

extern __s64 bpf_map_sum_elem_count(const struct bpf_map *map) __ksym;

SEC("iter/bpf_map")
int map_count_iter(struct bpf_iter__bpf_map *ctx)
{
	struct bpf_map *map = ctx->map;

	if (!map)
		return 0;
	struct map_count_rec r = {
		.id = map->id,
		.max_entries = map->max_entries,
		.entries = bpf_map_sum_elem_count(map),
	};
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}
