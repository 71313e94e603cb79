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
/*
 * 0: the kernel's adaptive wakeups (a record wakes the consumer when it had
 * caught up). 1: no wakeup but for the batch's last record, which forces
 * one: a consumer that keeps catching up then costs one wakeup per batch,
 * not one per record (on a VM every wakeup is an IPI, i.e. two VM exits).
 */
const volatile __u32 wake_per_batch = 0;

__u64 next_seq = 0; /* one producer thread: plain stores are enough */
__u64 produced = 0;
__u64 lost = 0;

static __always_inline void emit_one(__u32 i)
{
	struct rb_bench_event *e = bpf_ringbuf_reserve(&rb, sizeof(*e), 0);
	if (!e) {
		lost++;
		next_seq++; /* a lost event leaves a gap the consumer can see */
		return;
	}
	e->seq = next_seq++;
	e->payload = i;
	__u64 flags = 0;
	if (wake_per_batch)
		flags = i == batch - 1 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, flags);
	produced++;
}

/* Eight events per bpf_loop step: the callback's cost is shared. */
#define RB_BENCH_UNROLL 8

static int emit(__u32 i, void *ctx)
{
#pragma unroll
	for (int j = 0; j < RB_BENCH_UNROLL; j++)
		emit_one(i * RB_BENCH_UNROLL + j);
	return 0;
}

SEC("xdp")
int ringbuf_bench_produce(struct xdp_md *ctx)
{
	__u32 whole = batch / RB_BENCH_UNROLL;
	bpf_loop(whole, emit, NULL, 0);
	for (__u32 j = 0; j < batch % RB_BENCH_UNROLL; j++)
		emit_one(whole * RB_BENCH_UNROLL + j);
	return XDP_PASS;
}
