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
	GUARD_F_EVENT_LOST = GUARD_R_MAX - 4, /* a sampled event found the ring full */
	GUARD_F_FRAGMENT = GUARD_R_MAX - 3,   /* non-first fragment: no L4 ports */
	GUARD_F_L4_TRUNC = GUARD_R_MAX - 2,   /* IP fine, L4 header truncated */
	GUARD_F_CHAIN_LONG = GUARD_R_MAX - 1, /* rule chain longer than the walk bound */
};

enum guard_action {
	GUARD_ACT_NONE = 0, /* slot 0, and rules removed in place: never matches */
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
	GUARD_CF_TALKERS = 1 << 0, /* per-source accounting in the talker table */
};

/*
 * Program variants: const volatile settings fixed at load (guard_variant in
 * .rodata), so the verifier prunes what a variant leaves out. Userspace reads
 * a running program's variant back from its .rodata map.
 */
enum guard_variant_flags {
	GUARD_VF_NO_TALKERS = 1 << 0, /* no top-talker accounting */
	GUARD_VF_NO_EVENTS = 1 << 1,  /* no sampled drop events */
	/*
	 * Tests only: reads a packet byte without a bounds check, so the
	 * verifier refuses the program. It is how the failure path of a program
	 * swap is exercised on a real kernel; every other variant prunes the read.
	 */
	GUARD_VF_TEST_UNVERIFIABLE = 1u << 31,
};

#define GUARD_MAX_CHAIN 32   /* rules walked per packet, at most */
#define GUARD_V6_LENS_CAP 136 /* room for every IPv6 length 0..128 */
/*
 * IPv4 prefixes up to /24 live in a DIR-16-8 table: 65536 first-level entries
 * indexed by the top 16 bits, and 256-entry chunks for /16s that hold longer
 * prefixes. An entry is the head of the longest covering prefix's chain, a
 * chunk reference (CHUNK_BIT), and may carry LONG_BIT: /25../31 prefixes
 * exist inside this /24, look them up in the prefix hash first. Keeping
 * those out of the table bounds its size at 64 MiB + 256 KiB, whatever the
 * rules (a third table level would cost 1 KiB per long prefix).
 */
#define GUARD_V4_L1_SIZE 65536u
#define GUARD_V4_CHUNK 256u
#define GUARD_V4_CHUNK_BIT 0x80000000u
#define GUARD_V4_LONG_BIT 0x40000000u
#define GUARD_V4_HEAD_MASK 0x3fffffffu
#define GUARD_V4_PLEN_BASE 256u /* prefix-hash plen of an IPv4 /25../31: 256 + len */

/*
 * Exact-match tables are open-addressing hash tables laid out in mmapable
 * array maps, one bucket per element: userspace builds them with memcpy (a
 * million entries in milliseconds, where kernel hash inserts take ~0.5 s),
 * and a lookup is one array element read plus a few compares. A key lives in
 * its home bucket or one of the next GUARD_MAX_PROBE - 1; userspace grows
 * the table until that holds. Slots fill in order, so an empty slot ends the
 * search. head == 0 marks an empty slot (rule slot 0 is never a head).
 */
#define GUARD_MAX_PROBE 8
#define GUARD_V6_FILTER_BLOCK_BITS 512u /* filter bits per array element */
#define GUARD_V6_FILTER_SEED 0x2545f491u
#define GUARD_H4_SLOTS 8
#define GUARD_H6_SLOTS 4

struct guard_h4_bucket {
	__u32 addr[GUARD_H4_SLOTS]; /* network byte order */
	__u32 head[GUARD_H4_SLOTS];
};

/* The prefix hash: IPv6 of every length, and IPv4 /25../31 (plen = 256 + len, addr[0] only). */
struct guard_h6_slot {
	__u32 addr[4]; /* masked to the prefix length, network byte order */
	__u32 plen;
	__u32 head;
};

struct guard_h6_bucket {
	struct guard_h6_slot slot[GUARD_H6_SLOTS];
};

/* lowbias32 (Chris Wellons): cheap, well mixed, identical in BPF and C++. */
static inline __u32 guard_mix32(__u32 x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static inline __u32 guard_hash_v4(__u32 addr, __u32 seed)
{
	return guard_mix32(addr ^ seed);
}

/*
 * Two independent 64-bit multiplies, then one finaliser (splitmix64's): the
 * multiplies run in parallel, where a chain of five 32-bit mixes did not, and
 * this runs once per probed length on every packet. The seed is random per
 * build and the keys are the operator's rules, so a collision costs a larger
 * table at build time, never a longer probe in the datapath.
 */
static inline __u32 guard_hash_v6(const __u32 *w, __u32 plen, __u32 seed)
{
	__u64 a = ((__u64)(w[0] ^ seed) << 32 | (w[1] ^ plen)) * 0x9e3779b97f4a7c15ull;
	__u64 b = ((__u64)w[2] << 32 | w[3]) * 0xc2b2ae3d27d4eb4full;
	__u64 h = a ^ (b >> 7) ^ (b << 57);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 32;
	return (__u32)h;
}

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
	__u32 n_rules;    /* entries in the rules array, including slot 0 */
	__u32 h4_buckets; /* IPv4 /32 hash buckets, a power of two; 0 = none */
	__u32 v4_table;   /* 1 if the IPv4 DIR table holds any prefix */
	__u32 h6_buckets; /* IPv6 hash buckets (every length), a power of two; 0 = none */
	__u32 v6_nlens;   /* distinct IPv6 prefix lengths in v6_lens */
	__u32 seed;       /* hash seed, new for every build */
	__u64 version;    /* rule set version, increases with every install */
	__u64 installed_ns; /* CLOCK_BOOTTIME of the install */
	__u8 v6_lens[GUARD_V6_LENS_CAP]; /* distinct lengths, longest first */
	__u32 v4_long_nlens; /* distinct IPv4 lengths /25../31 in v4_long_lens */
	__u8 v4_long_lens[8]; /* longest first */
	__u32 n_disabled; /* entries removed in place (action NONE) since the build */
	/*
	 * IPv6 /32 filter: one bit per hash of the first 32 address bits of every
	 * IPv6 prefix of length 32 or more (a Bloom filter with one hash). A
	 * packet whose bit is clear can only match lengths below 32, which start
	 * at v6_lens[v6_first_short]: most sources skip the per-length probes.
	 */
	__u32 v6_filter_mask; /* filter bits - 1 (a power of two); 0 = no filter, probe every length */
	__u32 v6_first_short; /* index in v6_lens of the first length below 32 (v6_nlens if none) */
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
	__u32 wanted_mode; /* the mode asked for at load (same enum; 0 = not recorded). Userspace only. */
	struct guard_gen_meta meta[2];
};

struct guard_counter {
	__u64 packets;
	__u64 bytes;
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

/*
 * Top-talker accounting: for each CPU a table of GUARD_TALKER_SLOTS slots,
 * the slot picked by a hash of the source address. A source owns its slot
 * while it keeps sending; a colliding source wears the owner's credit down
 * (one per packet, not counted) and takes the slot when it reaches zero, so
 * heavy hitters keep their slots and light sources churn. An inlined array
 * lookup and a few compares cost a fraction of an LRU hash update per
 * packet. Counts are exact for a source that never lost its slot.
 *
 * The tables are one mmapable array of GUARD_TALKER_SLOTS x possible CPUs
 * (CPU c owns elements [c * SLOTS, (c + 1) * SLOTS)), so userspace reads
 * them all with one copy instead of a per-CPU batch lookup.
 */
#define GUARD_TALKER_SLOTS 4096
#define GUARD_TALKER_CREDIT_MAX 64
#define GUARD_TALKER_SEED 0x7a1c3e55u

struct guard_talker {
	__u32 addr[4]; /* network byte order; IPv4 in addr[0] */
	__u8 family;   /* 0 = empty slot */
	__u8 pad[3];
	__u32 credit;  /* the owner's claim: + per own packet (capped), - per intruder's */
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
