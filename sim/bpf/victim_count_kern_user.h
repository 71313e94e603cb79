/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between sim/bpf/victim_count.bpf.c and the scenario runner: what
 * reached the victim's sockets, by traffic class. Classes are looked up by
 * source prefix (longest match); class 0 is "unclassified".
 */
#ifndef REFLEX_VICTIM_COUNT_KERN_USER_H
#define REFLEX_VICTIM_COUNT_KERN_USER_H

#ifdef __BPF__
#else
#include <linux/types.h>
#endif

#define VC_MAX_CLASSES 64
#define VC_MAX_PREFIXES 4096

/* LPM key: family byte then the address, so one trie holds IPv4 and IPv6.
 * prefixlen counts the family byte's 8 bits. */
struct vc_lpm_key {
	__u32 prefixlen;
	__u8 family; /* 4 or 6 */
	__u8 addr[16];
};

struct vc_counter {
	__u64 packets;
	__u64 bytes;
};

#endif /* REFLEX_VICTIM_COUNT_KERN_USER_H */
