// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcp_rtt: the smoothed RTT of TCP senders, sampled on every segment an
 * established socket receives while it has data in flight (the tcp:tcp_probe
 * tracepoint fires at the top of tcp_rcv_established), aggregated in the
 * kernel as a log2 histogram per namespace and ingress interface. Userspace
 * takes the difference between ticks and reads percentiles off it.
 *
 * Sockets with nothing in flight are skipped: a pure receiver's srtt is the
 * handshake's and never moves, and would drown the senders' samples.
 * Raw tracepoint: no tracefs needed (kprobes and fentry are not available
 * on every kernel reflex runs on).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tcp_rtt_kern_user.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RTT_MAX_KEYS);
	__type(key, struct rtt_key);
	__type(value, struct rtt_hist);
} rtt_hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RTT_S_MAX);
	__type(key, __u32);
	__type(value, __u64);
} rtt_stats SEC(".maps");

/* A zeroed histogram to insert: too big for the 512-byte BPF stack budget with the rest. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct rtt_hist);
} rtt_zero SEC(".maps");

static __always_inline __u32 log2_slot(__u32 v)
{
	__u32 r = 0;
	/* floor(log2(v)) for v > 0, in five steps. */
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { r += 1; }
	return r;
}

/* TP_PROTO(const struct sock *sk, const struct sk_buff *skb) */
SEC("raw_tp/tcp_probe")
int BPF_PROG(tcp_rtt_probe, struct sock *sk, struct sk_buff *skb)
{
	struct tcp_sock *tp = (struct tcp_sock *)sk;

	if (!BPF_CORE_READ(tp, packets_out))
		return 0;
	__u32 srtt_us = BPF_CORE_READ(tp, srtt_us) >> 3; /* stored << 3 */
	if (!srtt_us)
		return 0;

	struct rtt_key k = {};
	k.netns_ino = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	k.ifindex = skb ? BPF_CORE_READ(skb, skb_iif) : 0;

	struct rtt_hist *h = bpf_map_lookup_elem(&rtt_hists, &k);
	if (!h) {
		__u32 zero = 0;
		struct rtt_hist *z = bpf_map_lookup_elem(&rtt_zero, &zero);
		if (!z)
			return 0;
		if (bpf_map_update_elem(&rtt_hists, &k, z, BPF_NOEXIST) < 0 &&
		    !bpf_map_lookup_elem(&rtt_hists, &k)) {
			__u32 idx = RTT_S_MAP_FULL;
			__u64 *full = bpf_map_lookup_elem(&rtt_stats, &idx);
			if (full)
				*full += 1;
			return 0;
		}
		h = bpf_map_lookup_elem(&rtt_hists, &k);
		if (!h)
			return 0;
	}
	__u32 slot = log2_slot(srtt_us);
	if (slot >= RTT_SLOTS)
		slot = RTT_SLOTS - 1;
	h->slots[slot]++;
	h->count++;
	h->sum_us += srtt_us;
	return 0;
}
