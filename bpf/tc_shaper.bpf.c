// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tc_shaper: reflex's egress classifier for TC shaping, on a tcx egress link.
 *
 * tc_shaper_classify looks the packet's destination up in an LPM trie of
 * shaped prefixes and writes the matching htb class into skb->priority. htb
 * takes skb->priority as the class when it names one of its leaf classes
 * (htb_classify), so no tc filter is needed on the htb qdisc, and one trie
 * lookup classifies IPv4 and IPv6 alike however many prefixes are shaped.
 * Unmatched packets are left alone (htb's default class, or its direct queue
 * when there is no default), and the program always returns TCX_NEXT so a
 * later program on the hook still decides the verdict.
 *
 * tc_shaper_police is the other candidate measured against htb (see
 * docs/execute.md "Shaping"): a token bucket per slot whose rate is a map
 * value, dropping what exceeds it. It is kept for the benchmark.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "tc_shaper_kern_user.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define TCX_NEXT -1
#define TCX_DROP 2
#define READ_ONCE(x) (*(volatile typeof(x) *)&(x))

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, TC_SHAPER_MAX_PREFIXES);
	__type(key, struct tc_shaper_key);
	__type(value, struct tc_shaper_class);
} shaper_prefixes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TC_SHAPER_C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} shaper_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TC_SHAPER_MAX_PREFIXES + 1);
	__type(key, __u32);
	__type(value, struct tc_shaper_policer_cfg);
} policer_cfg SEC(".maps");

struct policer_state {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 tokens; /* bytes */
	__u64 last_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TC_SHAPER_MAX_PREFIXES + 1);
	__type(key, __u32);
	__type(value, struct policer_state);
} policer_state SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&shaper_counters, &idx);
	if (c)
		*c += 1;
}

/* Fills key from the packet's destination; false for non-IP or truncated packets. */
static __always_inline bool dst_key(struct __sk_buff *skb, struct tc_shaper_key *key)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return false;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);
		if ((void *)(ip + 1) > end)
			return false;
		key->prefixlen = 8 + 32;
		key->family = 4;
		__builtin_memcpy(key->addr, &ip->daddr, 4);
		return true;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);
		if ((void *)(ip6 + 1) > end)
			return false;
		key->prefixlen = 8 + 128;
		key->family = 6;
		__builtin_memcpy(key->addr, &ip6->daddr, 16);
		return true;
	}
	return false;
}

static __always_inline struct tc_shaper_class *lookup(struct __sk_buff *skb)
{
	struct tc_shaper_key key = {};

	if (!dst_key(skb, &key))
		return NULL;
	return bpf_map_lookup_elem(&shaper_prefixes, &key);
}

SEC("tc")
int tc_shaper_classify(struct __sk_buff *skb)
{
	struct tc_shaper_class *cls;

	count(TC_SHAPER_C_SEEN);
	cls = lookup(skb);
	if (cls) {
		skb->priority = cls->classid;
		count(TC_SHAPER_C_CLASSIFIED);
	}
	return TCX_NEXT;
}

/* True if len bytes fit the bucket of slot now (and takes them). */
static __always_inline bool police(__u32 slot, __u32 len)
{
	struct tc_shaper_policer_cfg *cfg = bpf_map_lookup_elem(&policer_cfg, &slot);
	struct policer_state *st = bpf_map_lookup_elem(&policer_state, &slot);
	__u64 now, rate, burst, tokens;
	bool pass;

	if (!cfg || !st)
		return true;
	rate = READ_ONCE(cfg->rate_bytes_per_s);
	burst = READ_ONCE(cfg->burst_bytes);
	if (!rate)
		return true;
	now = bpf_ktime_get_ns();
	bpf_spin_lock(&st->lock);
	/* Elapsed time is capped at one burst's worth so the product cannot overflow. */
	__u64 dt = now - st->last_ns;
	__u64 cap = burst * 1000000000ull / rate + 1;
	if (dt > cap)
		dt = cap;
	tokens = st->tokens + dt * rate / 1000000000ull;
	if (tokens > burst)
		tokens = burst;
	pass = tokens >= len;
	if (pass)
		tokens -= len;
	st->tokens = tokens;
	st->last_ns = now;
	bpf_spin_unlock(&st->lock);
	return pass;
}

SEC("tc")
int tc_shaper_police(struct __sk_buff *skb)
{
	struct tc_shaper_class *cls;
	__u32 slot = 0; /* slot 0: the whole interface */

	count(TC_SHAPER_C_SEEN);
	cls = lookup(skb);
	if (cls) {
		slot = cls->slot;
		count(TC_SHAPER_C_CLASSIFIED);
	}
	if (police(slot, skb->len)) {
		count(TC_SHAPER_C_POLICED_PASS);
		return TCX_NEXT;
	}
	count(TC_SHAPER_C_POLICED_DROP);
	return TCX_DROP;
}
