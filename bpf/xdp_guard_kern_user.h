/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/xdp_guard.bpf.c and userspace (guard/): fixed-width
 * structs only, no pointers, explicit padding. The numeric values of the
 * reason and action codes are a stable contract: they are stored in pinned
 * maps that outlive any one reflex binary and are printed by tools, so new
 * codes are appended, never renumbered.
 */
#ifndef REFLEX_XDP_GUARD_KERN_USER_H
#define REFLEX_XDP_GUARD_KERN_USER_H

#ifdef __BPF__
/* vmlinux.h provides __u8.. */
#else
#include <linux/types.h>
#endif

/* Why a packet got its verdict; index into the verdict counter map. */
enum guard_reason {
	GUARD_R_PASS_NO_MATCH = 0, /* no rule matched */
	GUARD_R_PASS_ALLOW = 1,    /* an allow rule matched: always wins */
	GUARD_R_DROP_RULE = 2,     /* a drop rule matched */
	GUARD_R_DROP_RATE = 3,     /* a rate_limit rule's budget was exceeded */
	GUARD_R_PASS_SHADOW = 4,   /* a shadow rule matched: would have dropped */
	GUARD_R_PASS_RATE_OK = 5,  /* a rate_limit rule matched, within budget */
	GUARD_R_PASS_NON_IP = 6,   /* neither IPv4 nor IPv6 */
	GUARD_R_PASS_MALFORMED = 7,/* truncated or invalid L2/L3 header */
	GUARD_R_MAX = 16,          /* size of the verdict counter map */
};

/* Extra per-packet facts, counted in the same map after the reasons. */
enum guard_fact {
	GUARD_F_FRAGMENT = GUARD_R_MAX - 3,   /* non-first fragment: no L4 ports */
	GUARD_F_L4_TRUNC = GUARD_R_MAX - 2,   /* IP fine, L4 header truncated */
	GUARD_F_CHAIN_LONG = GUARD_R_MAX - 1, /* rule chain longer than the walk bound */
};

enum guard_action {
	GUARD_ACT_NONE = 0,
	GUARD_ACT_DROP = 1,
	GUARD_ACT_ALLOW = 2,
	GUARD_ACT_RATE_LIMIT = 3,
	GUARD_ACT_SHADOW = 4,
};

enum guard_rule_flags {
	GUARD_RF_ALLOW_AFTER = 1 << 0, /* an allow rule is at or after this entry in its chain */
	GUARD_RF_PORT = 1 << 1,        /* dst port must match */
	GUARD_RF_PROTO = 1 << 2,       /* L4 protocol must match */
};

/* Control flags in guard_ctl.flags. */
enum guard_ctl_flags {
	GUARD_CF_TALKERS = 1 << 0, /* per-source accounting in the talkers LRU */
};

#define GUARD_MAX_CHAIN 32   /* rules walked per packet, at most */
#define GUARD_MAX_V6_LENS 128 /* distinct IPv6 prefix lengths (< 128) */
#define GUARD_V4_L1_SIZE 65536u /* DIR-16-8-8: first level indexed by the top 16 bits */
#define GUARD_V4_CHUNK 256u
#define GUARD_V4_CHUNK_BIT 0x80000000u /* table entry points to a chunk, not a rule */

/*
 * One compiled rule: an entry of the per-generation rules array. Index 0 is
 * reserved (means "no rule"). Entries form chains: a prefix's own rules, most
 * specific filter first, then (via next) the chain of the nearest covering
 * prefix. The prefix itself is stored so userspace can read the rule set back
 * from the pinned maps after a restart.
 */
struct guard_rule {
	__u32 uid;        /* stable id of the rule's match key, across swaps */
	__u32 next;       /* next entry to try, 0 = end of chain */
	__u8 action;      /* enum guard_action */
	__u8 proto;       /* L4 protocol if GUARD_RF_PROTO */
	__u8 flags;       /* enum guard_rule_flags */
	__u8 family;      /* 4 or 6 */
	__u16 port;       /* dst port, network byte order, if GUARD_RF_PORT */
	__u8 plen;
	__u8 pad0;
	__u64 expires_ns; /* CLOCK_BOOTTIME; 0 = never. Enforced by the datapath. */
	__u64 rate_interval_ns; /* rate_limit: 1e9 / pps */
	__u64 rate_tau_ns;      /* rate_limit: (burst - 1) * interval */
	__u32 pps;
	__u32 burst;
	__u8 addr[16];
};

/* Per generation facts the datapath needs before touching the tables. */
struct guard_gen_meta {
	__u32 n_rules;   /* entries in the rules array, including slot 0 */
	__u32 v4_exact;  /* entries in the IPv4 /32 hash */
	__u32 v4_table;  /* 1 if the IPv4 DIR table holds any prefix */
	__u32 v6_exact;  /* entries in the IPv6 /128 hash */
	__u32 v6_nlens;  /* distinct IPv6 prefix lengths in v6_lens */
	__u32 pad0;
	__u64 version;   /* rule set version, increases with every install */
	__u64 installed_ns; /* CLOCK_BOOTTIME of the install */
	__u8 v6_lens[GUARD_MAX_V6_LENS]; /* distinct lengths, longest first */
};

/*
 * The control block, a single-entry mmapable array. Userspace builds the
 * inactive generation's maps, writes meta[!gen], then flips gen with one
 * aligned 32-bit store: every packet reads gen once and sees one whole rule
 * set.
 */
struct guard_ctl {
	__u32 gen;       /* active generation, 0 or 1 */
	__u32 sample_n;  /* sample 1 in N drops to the events ring; 0 = off */
	__u32 flags;     /* enum guard_ctl_flags */
	__u32 mode;      /* attach mode as recorded by userspace (enum in guard/) */
	__u32 ifindex;
	__u32 pad0;
	struct guard_gen_meta meta[2];
};

struct guard_counter {
	__u64 packets;
	__u64 bytes;
};

struct guard_v6_key {
	__u32 plen;
	__u8 addr[16];
};

struct guard_addr_key {
	__u8 family;
	__u8 pad[3];
	__u8 addr[16];
};

struct guard_rl_key {
	__u32 uid;
	struct guard_addr_key src;
};

struct guard_rl_state {
	__u64 tat_ns; /* GCRA theoretical arrival time */
};

struct guard_talker {
	__u64 packets;
	__u64 bytes;
	__u64 dropped;
};

/* A sampled drop (or shadow would-drop), sent to the events ring buffer. */
struct guard_event {
	__u64 ts_ns;     /* CLOCK_BOOTTIME */
	__u32 rule_uid;
	__u8 reason;     /* enum guard_reason */
	__u8 family;
	__u8 proto;
	__u8 pad0;
	__u16 dport;     /* host byte order, 0 if unknown */
	__u16 pkt_len;
	__u32 pad1;
	__u8 saddr[16];
};

#endif /* REFLEX_XDP_GUARD_KERN_USER_H */
