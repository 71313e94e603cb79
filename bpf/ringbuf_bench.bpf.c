// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * ringbuf_bench: a ring-buffer producer for the Monitor's consumer benchmark.
 * One BPF_PROG_TEST_RUN of the XDP program emits `batch` 16-byte events with
 * consecutive sequence numbers (bpf_loop keeps the verifier's work constant
 * however large the batch); a reservation that fails because the ring is
 * full is counted as lost, so the consumer can check it saw every event that
 * was not.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "ringbuf_bench_kern_user.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22); /* resized by userspace before load */
} rb SEC(".maps");

const volatile __u32 batch = 1000;
const volatile __u32 wakeup_flags = 0; /* 0: adaptive wakeups (the kernel's default) */

__u64 next_seq = 0; /* one producer thread: plain stores are enough */
__u64 produced = 0;
__u64 lost = 0;

static int emit(__u32 i, void *ctx)
{
	struct rb_bench_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		lost++;
		next_seq++; /* a lost event leaves a gap the consumer can see */
		return 0;
	}
	e->seq = next_seq++;
	e->payload = i;
	bpf_ringbuf_submit(e, wakeup_flags);
	produced++;
	return 0;
}

SEC("xdp")
int ringbuf_bench_produce(struct xdp_md *ctx)
{
	bpf_loop(batch, emit, NULL, 0);
	return XDP_PASS;
}
