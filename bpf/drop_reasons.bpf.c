// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * drop_reasons: every packet the kernel drops (skb:kfree_skb; consume_skb is
 * a different tracepoint, so a normal free never lands here), counted by
 * namespace, interface and drop reason, aggregated in the kernel so userspace
 * reads a few hundred bytes per tick whatever the drop rate.
 *
 * A raw tracepoint rather than tp/skb/kfree_skb: it needs no tracefs mount
 * and skips the perf-event record the classic tracepoint would build.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "drop_reasons_kern_user.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, DROP_MAX_KEYS);
	__type(key, struct drop_key);
	__type(value, struct drop_val);
} drops SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DROP_S_MAX);
	__type(key, __u32);
	__type(value, __u64);
} drop_stats SEC(".maps");

/*
 * Set by userspace from /proc/kallsyms before load: the functions that free
 * an skb an XDP program dropped (see DROP_REASON_XDP). None when kallsyms
 * hides addresses: those drops then stay NOT_SPECIFIED.
 */
const volatile __u64 xdp_site_start[DROP_XDP_SITES] = {};
const volatile __u64 xdp_site_end[DROP_XDP_SITES] = {};
const volatile __u32 xdp_sites = 0;

static __always_inline __u32 classify(__u32 reason, __u64 location)
{
#pragma unroll
	for (int i = 0; i < DROP_XDP_SITES; i++) {
		if (i >= xdp_sites)
			break;
		if (location >= xdp_site_start[i] && location < xdp_site_end[i])
			return DROP_REASON_XDP;
	}
	return reason;
}

static __always_inline void bump_stat(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&drop_stats, &idx);
	if (v)
		*v += 1;
}

/* TP_PROTO(struct sk_buff *skb, void *location, enum skb_drop_reason reason, struct sock *rx_sk) */
SEC("raw_tp/kfree_skb")
int BPF_PROG(drop_reasons_kfree_skb, struct sk_buff *skb, void *location, int reason)
{
	/* SKB_NOT_DROPPED_YET (0) and SKB_CONSUMED (1) are not drops. */
	if (reason <= 1)
		return 0;

	struct drop_key k = { .reason = classify((__u32)reason, (__u64)location) };
	struct net_device *dev = BPF_CORE_READ(skb, dev);
	if (dev) {
		k.ifindex = BPF_CORE_READ(dev, ifindex);
		k.netns_ino = BPF_CORE_READ(dev, nd_net.net, ns.inum);
	}
	__u32 len = BPF_CORE_READ(skb, len);

	struct drop_val *v = bpf_map_lookup_elem(&drops, &k);
	if (v) {
		v->packets++;
		v->bytes += len;
		return 0;
	}
	struct drop_val fresh = { .packets = 1, .bytes = len };
	if (bpf_map_update_elem(&drops, &k, &fresh, BPF_NOEXIST) < 0) {
		/* Lost a race with another CPU creating the key, or the map is full. */
		v = bpf_map_lookup_elem(&drops, &k);
		if (v) {
			v->packets++;
			v->bytes += len;
		} else {
			bump_stat(DROP_S_MAP_FULL);
		}
	}
	return 0;
}
