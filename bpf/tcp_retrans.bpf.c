// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * tcp_retrans: TCP segments retransmitted, and data segments sent, per
 * namespace and the interface the socket's route leaves by.
 *
 * The counts are the kernel's own per socket: tp->total_retrans (what
 * RetransSegs and tcp_info's total_retrans count: every retransmitted
 * segment handed to IP) and tp->data_segs_out (data segments sent, first
 * transmissions and retransmits). Each socket's values when it was last
 * charged are kept in socket-local storage; the difference is charged to
 * its (namespace, route device) at
 *  - tcp:tcp_retransmit_skb, after every retransmit (the signal, at once,
 *    also on a path where no ACK comes back),
 *  - tcp:tcp_probe, every segment an established socket receives (so a
 *    sender's segments are counted within a round trip),
 *  - tcp:tcp_destroy_sock, for what it did after its last ACK.
 * sock:inet_sock_set_state marks a socket as it becomes established, so a
 * new connection counts from its first segment (a server's SYN-ACK
 * retransmits included); a socket that predates the probe counts from the
 * first time it is seen.
 *
 * Deltas of the kernel's counter rather than each traced skb's
 * tcp_skb_pcount(): under load, about one retransmit in a hundred raised
 * total_retrans by more than the skb the tracepoint was handed holds (8
 * segments against 6), and a delta cannot miss what the kernel counted.
 *
 * The interface is the device of the socket's cached route,
 * sk->sk_dst_cache->dev, which the segment just left by. Not skb->dev: a
 * segment in the retransmit queue sits in an rb-tree whose node overlays
 * skb->next, prev and dev.
 *
 * tp_btf (BTF-typed raw tracepoints): direct loads instead of probe-read
 * helper calls, and socket-local storage, which plain raw tracepoints do not
 * get. No kprobes or fentry (not available on every kernel reflex runs on).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tcp_retrans_kern_user.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, RETRANS_MAX_KEYS);
	__type(key, struct retrans_key);
	__type(value, struct retrans_val);
} retrans_counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, RETRANS_S_MAX);
	__type(key, __u32);
	__type(value, __u64);
} retrans_stats SEC(".maps");

/* Per socket: its counters when it was last charged. Freed with the socket. */
struct charged {
	__u32 retrans;   /* tp->total_retrans */
	__u32 data_segs; /* tp->data_segs_out */
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct charged);
} retrans_socks SEC(".maps");

/* The counters of sk's namespace and route device, created on first use. */
static __always_inline struct retrans_val *counts_of(const struct sock *sk)
{
	struct retrans_key k = {};
	k.netns_ino = sk->__sk_common.skc_net.net->ns.inum;
	struct dst_entry *dst = sk->sk_dst_cache;
	if (dst) {
		struct net_device *dev = dst->dev;
		if (dev)
			k.ifindex = dev->ifindex;
	}
	struct retrans_val *v = bpf_map_lookup_elem(&retrans_counts, &k);
	if (v)
		return v;
	struct retrans_val zero = {};
	if (bpf_map_update_elem(&retrans_counts, &k, &zero, BPF_NOEXIST) < 0) {
		v = bpf_map_lookup_elem(&retrans_counts, &k); /* another CPU made it meanwhile */
		if (!v) {
			__u32 idx = RETRANS_S_MAP_FULL;
			__u64 *full = bpf_map_lookup_elem(&retrans_stats, &idx);
			if (full)
				*full += 1;
		}
		return v;
	}
	return bpf_map_lookup_elem(&retrans_counts, &k);
}

/*
 * Charges what sk retransmitted and sent since it was last charged. On
 * first sight of a socket that predates the probe, only `known`
 * retransmitted segments (the ones the caller saw leave just now) count:
 * what it did before is history nobody watched.
 */
static __always_inline void charge(struct sock *sk, __u32 known)
{
	struct tcp_sock *tp = bpf_skc_to_tcp_sock(sk);
	if (!tp)
		return;
	__u32 retrans = tp->total_retrans, sent = tp->data_segs_out;
	/* Nothing sent or retransmitted yet (a pure receiver): nothing to charge, no mark needed. */
	if (!retrans && !sent)
		return;
	struct charged *c = bpf_sk_storage_get(&retrans_socks, sk, 0, 0);
	__u32 d_retrans, d_sent;
	if (c) {
		/* u32 arithmetic: wraps with the kernel's counters. */
		d_retrans = retrans - c->retrans;
		d_sent = sent - c->data_segs;
		if (!d_retrans && !d_sent)
			return;
	} else {
		c = bpf_sk_storage_get(&retrans_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (!c)
			return;
		d_retrans = known < retrans ? known : retrans;
		d_sent = d_retrans < sent ? d_retrans : sent;
	}
	c->retrans = retrans;
	c->data_segs = sent;
	struct retrans_val *v = counts_of(sk);
	if (!v)
		return;
	v->retrans_segs += d_retrans;
	v->data_segs += d_sent;
}

/* TP_PROTO(const struct sock *sk, const struct sk_buff *skb[, int err]) */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retrans_skb, struct sock *sk, const struct sk_buff *skb)
{
	/* This retransmit's segments (tcp_skb_pcount), for a socket seen for the first time. */
	const struct tcp_skb_cb *cb = (const struct tcp_skb_cb *)skb->cb;
	charge(sk, cb->tcp_gso_segs);
	return 0;
}

/* TP_PROTO(struct sock *sk, const struct sk_buff *skb) */
SEC("tp_btf/tcp_probe")
int BPF_PROG(tcp_retrans_probe, struct sock *sk, const struct sk_buff *skb)
{
	charge(sk, 0);
	return 0;
}

/* TP_PROTO(struct sock *sk) */
SEC("tp_btf/tcp_destroy_sock")
int BPF_PROG(tcp_retrans_destroy, struct sock *sk)
{
	charge(sk, 0);
	return 0;
}

/* TP_PROTO(const struct sock *sk, const int oldstate, const int newstate) */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_retrans_state, struct sock *sk, int oldstate, int newstate)
{
	if (newstate != TCP_ESTABLISHED || sk->sk_protocol != IPPROTO_TCP)
		return 0;
	/*
	 * From zero: all the connection does counts, its handshake's
	 * retransmits included (a client's SYNs were charged as they went, and
	 * it has a mark already; a server's child starts with the SYN-ACKs
	 * its request retransmitted).
	 */
	bpf_sk_storage_get(&retrans_socks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	return 0;
}
