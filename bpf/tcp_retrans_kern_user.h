/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/tcp_retrans.bpf.c and monitor/: TCP segments
 * retransmitted, and data segments sent, by the sockets whose route leaves
 * through an interface, per (network namespace, interface).
 */
#ifndef REFLEX_TCP_RETRANS_KERN_USER_H
#define REFLEX_TCP_RETRANS_KERN_USER_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/*
 * ifindex: the device of the socket's cached route (sk->sk_dst_cache->dev)
 * when the segments were charged; 0 when the socket had no route then.
 */
struct retrans_key {
	__u32 netns_ino; /* nsfs inode of the socket's namespace */
	__u32 ifindex;
};

struct retrans_val {
	__u64 retrans_segs; /* segments retransmitted (the sockets' tp->total_retrans, as RetransSegs counts them) */
	__u64 data_segs;    /* data segments sent, first transmissions and retransmits (tp->data_segs_out) */
};

/* Distinct (namespace, interface) pairs the map holds. */
#define RETRANS_MAX_KEYS 1024

/* Index into the per-CPU stats array. */
enum retrans_stat {
	RETRANS_S_MAP_FULL = 0, /* charges lost because the keys map was full */
	RETRANS_S_MAX = 4,
};

#endif /* REFLEX_TCP_RETRANS_KERN_USER_H */
