/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/drop_reasons.bpf.c and monitor/: kernel packet drops
 * (the skb:kfree_skb tracepoint) counted by (network namespace, interface,
 * drop reason). Fixed-width structs only.
 */
#ifndef REFLEX_DROP_REASONS_KERN_USER_H
#define REFLEX_DROP_REASONS_KERN_USER_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/*
 * ifindex is per namespace, so the namespace (the inode number of its nsfs
 * file, as stat(2) on /run/netns/NAME or /proc/self/ns/net reports it) is part
 * of the key. netns_ino == 0: the skb had no device (dropped after its device
 * was detached, e.g. in a socket's receive queue).
 */
struct drop_key {
	__u32 netns_ino;
	__u32 ifindex;
	__u32 reason; /* enum skb_drop_reason, as the running kernel numbers it */
	__u32 pad;
};

struct drop_val {
	__u64 packets;
	__u64 bytes;
};

/*
 * reflex's own reason code, outside the kernel's numbering (whose subsystem
 * codes use the top 16 bits from 1 up): a drop made on the XDP path of a
 * driver that frees skbs there (veth's XDP, generic XDP), i.e. an XDP
 * program's XDP_DROP. The kernel calls it NOT_SPECIFIED; reflex's guard
 * counts those drops itself, so they must not pass for unintended ones.
 */
#define DROP_REASON_XDP 0x7fff0001u

/* Kernel functions (address ranges) whose drops are XDP verdicts. */
#define DROP_XDP_SITES 8

/* Distinct (namespace, interface, reason) triples the map holds. */
#define DROP_MAX_KEYS 8192

/* Index into the per-CPU stats array. */
enum drop_stat {
	DROP_S_MAP_FULL = 0, /* drops not counted because the keys map was full */
	DROP_S_MAX = 4,
};

#endif /* REFLEX_DROP_REASONS_KERN_USER_H */
