/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/tc_shaper.bpf.c and userspace (execute/shaping/):
 * fixed-width structs only, explicit padding. The key layout and the counter
 * indices are stored in pinned maps that outlive one reflex binary, so they
 * only ever grow.
 */
#ifndef REFLEX_TC_SHAPER_KERN_USER_H
#define REFLEX_TC_SHAPER_KERN_USER_H

#ifdef __BPF__
/* vmlinux.h provides __u8.. */
#else
#include <linux/types.h>
#endif

/* Prefixes one interface can shape separately (LPM trie entries, policer slots). */
#define TC_SHAPER_MAX_PREFIXES 1024

/*
 * LPM trie key over the packet's destination: the family byte (4 or 6) is the
 * first 8 bits of the matched data, so IPv4 and IPv6 prefixes share one trie
 * and a v4 prefix never matches a v6 address. prefixlen = 8 + prefix length.
 */
struct tc_shaper_key {
	__u32 prefixlen;
	__u8 family;
	__u8 addr[16]; /* network byte order; IPv4 uses addr[0..3] */
	__u8 pad[3];
};

/* What a matching destination gets. */
struct tc_shaper_class {
	__u32 classid; /* htb class (major:minor) written to skb->priority */
	__u32 slot;    /* policer slot: index into policer_cfg / policer_state */
};

/* A token-bucket policer's settings (userspace writes these; rate 0: off). */
struct tc_shaper_policer_cfg {
	__u64 rate_bytes_per_s;
	__u64 burst_bytes;
};

/* Counters (per-CPU array indices). */
enum tc_shaper_counter {
	TC_SHAPER_C_SEEN = 0,       /* packets the program ran on */
	TC_SHAPER_C_CLASSIFIED = 1, /* destination matched a shaped prefix */
	TC_SHAPER_C_POLICED_PASS = 2,
	TC_SHAPER_C_POLICED_DROP = 3,
	TC_SHAPER_C_MAX = 8,
};

#endif
