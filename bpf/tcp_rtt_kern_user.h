/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/tcp_rtt.bpf.c and monitor/: TCP round-trip times as a
 * log2 histogram per (network namespace, interface the ACK came in on).
 */
#ifndef REFLEX_TCP_RTT_KERN_USER_H
#define REFLEX_TCP_RTT_KERN_USER_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* Slot i counts RTTs in [2^i, 2^(i+1)) microseconds; slot 0 also holds 0..1 us. */
#define RTT_SLOTS 32

struct rtt_key {
	__u32 netns_ino; /* nsfs inode of the socket's namespace */
	__u32 ifindex;   /* skb_iif of the segment that carried the ACK */
};

struct rtt_hist {
	__u64 slots[RTT_SLOTS];
	__u64 count;
	__u64 sum_us;
};

#define RTT_MAX_KEYS 1024

enum rtt_stat {
	RTT_S_MAP_FULL = 0, /* samples not counted because the keys map was full */
	RTT_S_MAX = 4,
};

#endif /* REFLEX_TCP_RTT_KERN_USER_H */
