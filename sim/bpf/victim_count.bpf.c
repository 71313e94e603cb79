// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * A socket filter on the victim's service sockets (and, inherited, on every
 * connection they accept): counts each packet that reached the victim, by
 * the class of its source, and keeps it. It runs where the packet is handed
 * to the socket, after XDP, tc and the IP stack, so it counts what the node
 * under test let through, whatever hook the guard sits on.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "victim_count_kern_user.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, VC_MAX_PREFIXES);
	__type(key, struct vc_lpm_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} classes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VC_MAX_CLASSES);
	__type(key, __u32);
	__type(value, struct vc_counter);
} counts SEC(".maps");

static __always_inline __u32 class_of(struct __sk_buff *skb)
{
	struct vc_lpm_key key = {};
	__u8 ver = 0;

	if (bpf_skb_load_bytes_relative(skb, 0, &ver, 1, BPF_HDR_START_NET) < 0)
		return 0;
	ver >>= 4;
	if (ver == 4) {
		key.family = 4;
		key.prefixlen = 8 + 32;
		if (bpf_skb_load_bytes_relative(skb, 12, key.addr, 4, BPF_HDR_START_NET) < 0)
			return 0;
	} else if (ver == 6) {
		key.family = 6;
		key.prefixlen = 8 + 128;
		if (bpf_skb_load_bytes_relative(skb, 8, key.addr, 16, BPF_HDR_START_NET) < 0)
			return 0;
	} else {
		return 0;
	}
	__u32 *cls = bpf_map_lookup_elem(&classes, &key);
	return cls && *cls < VC_MAX_CLASSES ? *cls : 0;
}

SEC("socket")
int victim_count(struct __sk_buff *skb)
{
	__u32 cls = class_of(skb);
	struct vc_counter *c = bpf_map_lookup_elem(&counts, &cls);

	if (c) {
		c->packets++;
		c->bytes += skb->len;
	}
	return skb->len; /* keep the whole packet */
}
