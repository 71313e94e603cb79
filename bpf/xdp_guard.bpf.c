// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * xdp_guard: reflex's packet filter, the same logic for XDP and tc ingress.
 *
 * Rule sets live in per-generation inner maps behind array-of-maps outers; the
 * control block names the active generation. Userspace builds a whole new
 * generation off to the side and flips one 32-bit word, so a packet sees
 * either the old rule set or the new one, never a mix.
 *
 * Source lookup, per family:
 *   IPv4: exact /32 hash, then a DIR-16-8 table (1 or 2 array loads) for
 *         /0../24; /25../31 sit in the prefix hash, probed only for /24s
 *         that hold some. Cost does not grow with the number of rules.
 *   IPv6: one hash keyed by (length, masked address), probed once per
 *         distinct length present, longest first (cost grows with the
 *         number of distinct lengths, not with rules).
 * The hashes are open-addressing tables in mmapable arrays (see
 * xdp_guard_kern_user.h), so a million rules install with a memcpy.
 * The lookup yields the head of a rule chain: the prefix's own rules (most
 * specific L4 filter first) followed by the chains of covering prefixes, so
 * a rule narrowed by port falls back to broader rules when the port differs.
 * Allow rules win over everything on the chain; otherwise the first match
 * (the most specific) decides.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "xdp_guard_kern_user.h"

/*
 * Inner map templates below give key_size/value_size, not __type(): clang
 * emits only forward declarations for structs reached through
 * __array(values, ...), and libbpf cannot size a forward declaration.
 */

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88A8
#define IP_OFFSET 0x1fff
#define IP6_OFFSET_MASK 0xfff8
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2

#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#define NEXTHDR_MAX_WALK 6

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set between open and load (enum guard_variant_flags); 0 is the full program. */
const volatile __u32 guard_variant = 0;

struct guard_vlan_hdr {
	__be16 tci;
	__be16 proto;
};

struct guard_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;
};

struct guard_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;
	__be32 identification;
};

/* ---- maps ---------------------------------------------------------------- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct guard_ctl);
} ctl SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GUARD_R_MAX);
	__type(key, __u32);
	__type(value, struct guard_counter);
} verdicts SEC(".maps");

/*
 * Every per-generation table is an mmapable array (userspace fills it with a
 * copy) behind a two-slot array-of-maps, one slot per generation.
 * BPF_F_INNER_MAP lets each generation's array have its own size.
 */
#define GENERATIONS_OF(name, elem_size)                                       \
	struct {                                                              \
		__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);                     \
		__uint(max_entries, 2);                                       \
		__type(key, __u32);                                           \
		__array(values, struct {                                      \
			__uint(type, BPF_MAP_TYPE_ARRAY);                     \
			__uint(map_flags, BPF_F_INNER_MAP | BPF_F_MMAPABLE);  \
			__uint(max_entries, 1);                               \
			__uint(key_size, sizeof(__u32));                      \
			__uint(value_size, elem_size);                        \
		});                                                           \
	} name SEC(".maps")

/* The compiled rules (chains), indexed by rule slot. */
GENERATIONS_OF(outer_rules, sizeof(struct guard_rule));

/*
 * Per-rule counters, indexed like the rules array. A per-CPU array would avoid
 * the atomic add, but the kernel only lets plain arrays vary in size as inner
 * maps (BPF_F_INNER_MAP); a fixed-size per-CPU array for a million rules
 * costs 16 MB per CPU per generation. Mmapable, so userspace reads a million
 * counters with one copy.
 */
GENERATIONS_OF(outer_rcnt, sizeof(struct guard_counter));

/* The IPv4 DIR-16-8 table, in 256-entry blocks. */
GENERATIONS_OF(outer_v4t, GUARD_V4_CHUNK * sizeof(__u32));

/* Exact-match hashes (see guard_h4_bucket): IPv4 /32; IPv6 of every length and IPv4 /25../31. */
GENERATIONS_OF(outer_h4, sizeof(struct guard_h4_bucket));
GENERATIONS_OF(outer_h6, sizeof(struct guard_h6_bucket));
/* The IPv6 /32 filter (see guard_gen_meta), in blocks of 512 bits. */
GENERATIONS_OF(outer_v6f, GUARD_V6_FILTER_BLOCK_BITS / 8);

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct guard_rl_key);
	__type(value, struct guard_rl_state);
} rl_state SEC(".maps");

/* max_entries is set to GUARD_TALKER_SLOTS x possible CPUs before load. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, GUARD_TALKER_SLOTS);
	__type(key, __u32);
	__type(value, struct guard_talker);
} talkers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

/* ---- parsing ------------------------------------------------------------- */

struct pkt {
	__u8 family; /* 4 or 6 */
	__u8 proto;
	__u8 l4_known; /* dport is valid */
	__u8 pad;
	__be16 dport;
	__u16 pad2;
	__u8 saddr[16]; /* IPv4 in saddr[0..3] */
};

static __always_inline int l4_is_ported(__u8 proto)
{
	return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP ||
	       proto == IPPROTO_UDPLITE;
}

/* Returns 0, or GUARD_F_L4_TRUNC when the ports are cut off. */
static __always_inline int parse_l4(void *l4, void *data_end, struct pkt *p)
{
	if (!l4_is_ported(p->proto))
		return 0;
	if (l4 + 4 > data_end)
		return GUARD_F_L4_TRUNC;
	p->dport = *(__be16 *)(l4 + 2);
	p->l4_known = 1;
	return 0;
}

/* Returns -1 on success-with-no-fact, a guard_reason to pass with, or a fact. */
static __always_inline int parse_v4(void *cur, void *data_end, struct pkt *p)
{
	struct iphdr *ip = cur;

	if ((void *)(ip + 1) > data_end)
		return GUARD_R_PASS_MALFORMED;
	if (ip->version != 4 || ip->ihl < 5)
		return GUARD_R_PASS_MALFORMED;
	__u32 hl = ip->ihl * 4;
	if (cur + hl > data_end)
		return GUARD_R_PASS_MALFORMED;
	p->family = 4;
	p->proto = ip->protocol;
	__builtin_memcpy(p->saddr, &ip->saddr, 4);
	if (ip->frag_off & bpf_htons(IP_OFFSET))
		return GUARD_F_FRAGMENT;
	int r = parse_l4(cur + hl, data_end, p);
	return r ? r : -1;
}

static __always_inline int parse_v6(void *cur, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = cur;

	if ((void *)(ip6 + 1) > data_end)
		return GUARD_R_PASS_MALFORMED;
	if (ip6->version != 6)
		return GUARD_R_PASS_MALFORMED;
	p->family = 6;
	__builtin_memcpy(p->saddr, &ip6->saddr, 16);

	__u8 nh = ip6->nexthdr;
	cur = ip6 + 1;
	for (int i = 0; i < NEXTHDR_MAX_WALK; i++) {
		if (nh == NEXTHDR_HOP || nh == NEXTHDR_ROUTING || nh == NEXTHDR_DEST ||
		    nh == NEXTHDR_AUTH) {
			struct guard_opt_hdr *h = cur;
			if ((void *)(h + 1) > data_end) {
				p->proto = nh;
				return GUARD_F_L4_TRUNC;
			}
			nh = h->nexthdr;
			if (nh == NEXTHDR_AUTH)
				cur += ((__u32)h->hdrlen + 2) * 4;
			else
				cur += ((__u32)h->hdrlen + 1) * 8;
			continue;
		}
		if (nh == NEXTHDR_FRAGMENT) {
			struct guard_frag_hdr *f = cur;
			if ((void *)(f + 1) > data_end) {
				p->proto = nh;
				return GUARD_F_L4_TRUNC;
			}
			nh = f->nexthdr;
			if (f->frag_off & bpf_htons(IP6_OFFSET_MASK)) {
				p->proto = nh;
				return GUARD_F_FRAGMENT;
			}
			cur = f + 1;
			continue;
		}
		break;
	}
	p->proto = nh;
	int r = parse_l4(cur, data_end, p);
	return r ? r : -1;
}

/*
 * Fills p. Returns a guard_reason to pass the packet with (non-IP, malformed),
 * a guard_fact (fragment, truncated L4: rules still apply, ports unknown), or
 * -1 for a fully parsed packet.
 */
static __always_inline int parse(void *data, void *data_end, struct pkt *p)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return GUARD_R_PASS_MALFORMED;
	__be16 proto = eth->h_proto;
	void *cur = eth + 1;

#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct guard_vlan_hdr *vh = cur;
		if ((void *)(vh + 1) > data_end)
			return GUARD_R_PASS_MALFORMED;
		proto = vh->proto;
		cur = vh + 1;
	}
	if (proto == bpf_htons(ETH_P_IP))
		return parse_v4(cur, data_end, p);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_v6(cur, data_end, p);
	return GUARD_R_PASS_NON_IP;
}

/* ---- rule lookup --------------------------------------------------------- */

/*
 * The DIR table is stored as blocks of 256 entries, one block per array
 * element: array elements are 8-byte aligned, so single u32 elements would
 * waste half the memory and break the flat layout userspace writes via mmap.
 */
static __always_inline __u32 table_entry(void *tbl, __u32 idx)
{
	__u32 blk = idx / GUARD_V4_CHUNK;
	__u32 *e = bpf_map_lookup_elem(tbl, &blk);
	return e ? e[idx & (GUARD_V4_CHUNK - 1)] : 0;
}

static __always_inline __u32 h4_lookup(const struct guard_gen_meta *m, __u32 gen, __be32 saddr)
{
	__u32 mask = m->h4_buckets - 1;
	void *h4 = bpf_map_lookup_elem(&outer_h4, &gen);
	if (!h4)
		return 0;
	__u32 home = guard_hash_v4(saddr, m->seed);
	for (__u32 p = 0; p < GUARD_MAX_PROBE; p++) {
		__u32 b = (home + p) & mask;
		struct guard_h4_bucket *bk = bpf_map_lookup_elem(h4, &b);
		if (!bk)
			return 0;
#pragma unroll
		for (int i = 0; i < GUARD_H4_SLOTS; i++) {
			if (!bk->head[i])
				return 0; /* slots fill in order: the key is not here or later */
			if (bk->addr[i] == saddr)
				return bk->head[i];
		}
	}
	return 0;
}

static __always_inline __u32 h6_lookup(void *h6, __u32 mask, __u32 seed, const __u32 *w, __u32 plen)
{
	__u32 home = guard_hash_v6(w, plen, seed);
	for (__u32 p = 0; p < GUARD_MAX_PROBE; p++) {
		__u32 b = (home + p) & mask;
		struct guard_h6_bucket *bk = bpf_map_lookup_elem(h6, &b);
		if (!bk)
			return 0;
#pragma unroll
		for (int i = 0; i < GUARD_H6_SLOTS; i++) {
			struct guard_h6_slot *s = &bk->slot[i];
			if (!s->head)
				return 0;
			if (s->plen == plen && s->addr[0] == w[0] && s->addr[1] == w[1] && s->addr[2] == w[2] &&
			    s->addr[3] == w[3])
				return s->head;
		}
	}
	return 0;
}

static __always_inline __u32 mask_word(__u32 w, int bits)
{
	if (bits <= 0)
		return 0;
	if (bits >= 32)
		return w;
	return w & bpf_htonl(0xffffffffu << (32 - bits));
}

/*
 * Prefix-hash walks, longest length first, one probe per distinct length.
 * bpf_loop keeps verification to one pass over the body however many
 * lengths there are (open-coded, 129 lengths blow the verifier's budget).
 */
struct pfx_walk {
	const struct guard_gen_meta *m;
	void *h6;
	__u32 w[4];
	__u32 head;
	__u32 first; /* index of the first length to probe */
};

/* Probes the source at v6_lens[i] (i < GUARD_V6_LENS_CAP): that prefix's head, or 0. */
static __always_inline __u32 v6_probe(const struct pfx_walk *c, __u32 i)
{
	int plen = c->m->v6_lens[i];
	__u32 mw[4] = {
		mask_word(c->w[0], plen), mask_word(c->w[1], plen - 32),
		mask_word(c->w[2], plen - 64), mask_word(c->w[3], plen - 96),
	};
	return h6_lookup(c->h6, c->m->h6_buckets - 1, c->m->seed, mw, plen);
}

static int v6_step(__u32 i, struct pfx_walk *c)
{
	i += c->first;
	if (i >= GUARD_V6_LENS_CAP)
		return 1;
	c->head = v6_probe(c, i);
	return c->head ? 1 : 0;
}

static int v4_long_step(__u32 i, struct pfx_walk *c)
{
	if (i >= 8)
		return 1;
	int len = c->m->v4_long_lens[i];
	__u32 mw[4] = { mask_word(c->w[0], len), 0, 0, 0 };
	c->head = h6_lookup(c->h6, c->m->h6_buckets - 1, c->m->seed, mw, GUARD_V4_PLEN_BASE + len);
	return c->head ? 1 : 0;
}

static __always_inline __u32 head_v4(const struct guard_gen_meta *m, __u32 gen, const struct pkt *p)
{
	__be32 saddr;

	__builtin_memcpy(&saddr, p->saddr, 4);
	if (m->h4_buckets) {
		__u32 h = h4_lookup(m, gen, saddr);
		if (h)
			return h;
	}
	if (!m->v4_table)
		return 0;
	void *tbl = bpf_map_lookup_elem(&outer_v4t, &gen);
	if (!tbl)
		return 0;
	__u32 a = bpf_ntohl(saddr);
	__u32 v = table_entry(tbl, a >> 16);
	if (v & GUARD_V4_CHUNK_BIT)
		v = table_entry(tbl, GUARD_V4_L1_SIZE + (v & GUARD_V4_HEAD_MASK) * GUARD_V4_CHUNK + ((a >> 8) & 0xff));
	if ((v & GUARD_V4_LONG_BIT) && m->h6_buckets) {
		struct pfx_walk c = { .m = m, .head = 0 };
		c.h6 = bpf_map_lookup_elem(&outer_h6, &gen);
		if (c.h6) {
			c.w[0] = saddr;
			bpf_loop(m->v4_long_nlens < 8 ? m->v4_long_nlens : 8, v4_long_step, &c, 0);
			if (c.head)
				return c.head;
		}
	}
	return v & GUARD_V4_HEAD_MASK;
}

/* Whether the /32 filter lets this source match a length of 32 or more. */
static __always_inline int v6_filter_pass(const struct guard_gen_meta *m, __u32 gen, __u32 w0)
{
	if (!m->v6_filter_mask)
		return 1;
	void *f = bpf_map_lookup_elem(&outer_v6f, &gen);
	if (!f)
		return 1;
	__u32 bit = guard_mix32(w0 ^ GUARD_V6_FILTER_SEED ^ m->seed) & m->v6_filter_mask;
	__u32 blk = bit / GUARD_V6_FILTER_BLOCK_BITS;
	__u64 *words = bpf_map_lookup_elem(f, &blk);
	if (!words)
		return 1;
	return (words[(bit / 64) & (GUARD_V6_FILTER_BLOCK_BITS / 64 - 1)] >> (bit & 63)) & 1;
}

#define GUARD_V6_INLINE_LENS 4

static __always_inline __u32 head_v6(const struct guard_gen_meta *m, __u32 gen, const struct pkt *p)
{
	__u32 n = m->v6_nlens;
	if (!m->h6_buckets || !n)
		return 0;
	if (n > GUARD_V6_LENS_CAP)
		n = GUARD_V6_LENS_CAP;
	struct pfx_walk c = { .m = m, .head = 0 };
	__builtin_memcpy(c.w, p->saddr, 16);
	/* Lengths of 32 and more come first in v6_lens; skip them all when the filter says no. */
	__u32 start = v6_filter_pass(m, gen, c.w[0]) ? 0 : m->v6_first_short;
	if (start >= n)
		return 0;
	c.h6 = bpf_map_lookup_elem(&outer_h6, &gen);
	if (!c.h6)
		return 0;
	/*
	 * The first lengths are probed inline: a bpf_loop callback is a call and
	 * a return per length, and returns are not cheap under return-thunk
	 * mitigations. Past these, bpf_loop keeps the verifier's work bounded.
	 */
#pragma unroll
	for (int k = 0; k < GUARD_V6_INLINE_LENS; k++) {
		__u32 i = start + k;
		if (i >= n || i >= GUARD_V6_LENS_CAP)
			return 0;
		__u32 h = v6_probe(&c, i);
		if (h)
			return h;
	}
	start += GUARD_V6_INLINE_LENS;
	if (start >= n)
		return 0;
	c.first = start;
	bpf_loop(n - start, v6_step, &c, 0);
	return c.head;
}

static __always_inline __u64 now_ns(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_boot_ns();
	return *now;
}

static __always_inline int rule_matches(const struct guard_rule *r, const struct pkt *p, __u64 *now)
{
	if (r->action == GUARD_ACT_NONE) /* removed in place: the walk goes on to covering rules */
		return 0;
	if ((r->flags & GUARD_RF_PROTO) && r->proto != p->proto)
		return 0;
	if ((r->flags & GUARD_RF_PORT) && (!p->l4_known || r->port != p->dport))
		return 0;
	if (r->expires_ns && now_ns(now) >= r->expires_ns)
		return 0;
	return 1;
}

/* GCRA: one 64-bit word of state per (rule, source); returns 1 if within budget. */
static __always_inline int rate_allows(const struct guard_rule *r, const struct pkt *p, __u64 *now)
{
	struct guard_rl_key k = { .uid = r->uid };

	k.src.family = p->family;
	__builtin_memcpy(k.src.addr, p->saddr, 16);
	__u64 t = now_ns(now);
	struct guard_rl_state *st = bpf_map_lookup_elem(&rl_state, &k);
	if (!st) {
		struct guard_rl_state fresh = { .tat_ns = t + r->rate_interval_ns };
		bpf_map_update_elem(&rl_state, &k, &fresh, BPF_NOEXIST);
		return 1;
	}
	for (int i = 0; i < 4; i++) {
		__u64 tat = *(volatile __u64 *)&st->tat_ns;
		__u64 t0 = tat > t ? tat : t;
		if (t0 - t > r->rate_tau_ns)
			return 0;
		if (__sync_val_compare_and_swap(&st->tat_ns, tat, t0 + r->rate_interval_ns) == tat)
			return 1;
	}
	return 0; /* lost every race: we are under a flood from this source */
}

/* ---- accounting ---------------------------------------------------------- */

/* Returns this CPU's packet count for idx, this packet included (0 if unknown). */
static __always_inline __u64 count(__u32 idx, __u32 len)
{
	struct guard_counter *c = bpf_map_lookup_elem(&verdicts, &idx);
	if (!c)
		return 0;
	c->bytes += len;
	return ++c->packets;
}

static __always_inline void count_talker(const struct pkt *p, __u32 len, int dropped)
{
	__u32 w[4];

	__builtin_memcpy(w, p->saddr, 16); /* IPv4: bytes 4..15 are zero */
	__u32 slot = bpf_get_smp_processor_id() * GUARD_TALKER_SLOTS +
		     (guard_hash_v6(w, p->family, GUARD_TALKER_SEED) & (GUARD_TALKER_SLOTS - 1));
	struct guard_talker *t = bpf_map_lookup_elem(&talkers, &slot);
	if (!t)
		return;
	if (t->family == p->family && t->addr[0] == w[0] && t->addr[1] == w[1] && t->addr[2] == w[2] &&
	    t->addr[3] == w[3]) {
		t->packets++;
		t->bytes += len;
		t->dropped += dropped;
		if (t->credit < GUARD_TALKER_CREDIT_MAX)
			t->credit++;
		return;
	}
	if (t->family && t->credit) {
		t->credit--;
		return;
	}
	__builtin_memcpy(t->addr, w, 16);
	t->family = p->family;
	t->credit = 1;
	t->packets = 1;
	t->bytes = len;
	t->dropped = dropped;
}

/*
 * Every nth packet of a reason on a CPU (nth: its count there) is sampled:
 * exactly 1 in N, and no helper call (a random draw was one on every drop,
 * and calls are not cheap under return-thunk mitigations).
 */
static __always_inline void sample_event(const struct guard_ctl *c, const struct pkt *p, __u32 len,
					 __u32 reason, __u32 uid, __u64 nth, __u64 *now)
{
	__u32 n = c->sample_n;
	if (!n || (n > 1 && nth % n))
		return;
	struct guard_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(GUARD_F_EVENT_LOST, len); /* the reader is behind: say so */
		return;
	}
	e->ts_ns = now_ns(now);
	e->rule_uid = uid;
	e->reason = reason;
	e->family = p->family;
	e->proto = p->proto;
	e->pad0 = 0;
	e->dport = p->l4_known ? bpf_ntohs(p->dport) : 0;
	e->pkt_len = len > 0xffff ? 0xffff : len;
	e->pad1 = 0;
	__builtin_memcpy(e->saddr, p->saddr, 16);
	bpf_ringbuf_submit(e, 0);
}

/* ---- the decision -------------------------------------------------------- */

/* Returns 1 to drop the packet, 0 to pass it. */
static __always_inline int guard_run(void *data, void *data_end, __u32 len)
{
	__u32 zero = 0;
	struct guard_ctl *c = bpf_map_lookup_elem(&ctl, &zero);
	if (!c)
		return 0;

	struct pkt p = {};
	int pr = parse(data, data_end, &p);
	if (pr == GUARD_R_PASS_NON_IP || pr == GUARD_R_PASS_MALFORMED) {
		count(pr, len);
		return 0;
	}
	if (pr >= 0)
		count(pr, len); /* a fact: fragment or truncated L4; rules still apply */

	__u32 gen = *(volatile __u32 *)&c->gen & 1;
	const struct guard_gen_meta *m = &c->meta[gen];
	__u32 idx = p.family == 4 ? head_v4(m, gen, &p) : head_v6(m, gen, &p);

	__u64 now = 0;
	struct guard_rule *hit = NULL;
	__u32 hit_idx = 0;
	if (idx) {
		void *rules = bpf_map_lookup_elem(&outer_rules, &gen);
		if (rules) {
			int i;
			for (i = 0; i < GUARD_MAX_CHAIN && idx; i++) {
				struct guard_rule *r = bpf_map_lookup_elem(rules, &idx);
				if (!r)
					break;
				if (rule_matches(r, &p, &now)) {
					if (r->action == GUARD_ACT_ALLOW) {
						hit = r;
						hit_idx = idx;
						break;
					}
					if (!hit) {
						hit = r;
						hit_idx = idx;
						if (!(r->flags & GUARD_RF_ALLOW_AFTER))
							break;
					}
				}
				idx = r->next;
			}
			if (i == GUARD_MAX_CHAIN && idx)
				count(GUARD_F_CHAIN_LONG, len);
		}
	}

	__u32 reason = GUARD_R_PASS_NO_MATCH;
	if (hit) {
		switch (hit->action) {
		case GUARD_ACT_DROP:
			reason = GUARD_R_DROP_RULE;
			break;
		case GUARD_ACT_ALLOW:
			reason = GUARD_R_PASS_ALLOW;
			break;
		case GUARD_ACT_SHADOW:
			reason = GUARD_R_PASS_SHADOW;
			break;
		case GUARD_ACT_RATE_LIMIT:
			reason = rate_allows(hit, &p, &now) ? GUARD_R_PASS_RATE_OK : GUARD_R_DROP_RATE;
			break;
		}
		void *rc = bpf_map_lookup_elem(&outer_rcnt, &gen);
		if (rc) {
			struct guard_counter *cnt = bpf_map_lookup_elem(rc, &hit_idx);
			if (cnt) {
				__sync_fetch_and_add(&cnt->packets, 1);
				__sync_fetch_and_add(&cnt->bytes, len);
			}
		}
	}
	__u64 nth = count(reason, len);

	int drop = reason == GUARD_R_DROP_RULE || reason == GUARD_R_DROP_RATE;
	if (!(guard_variant & GUARD_VF_NO_TALKERS) && (c->flags & GUARD_CF_TALKERS))
		count_talker(&p, len, drop);
	if (!(guard_variant & GUARD_VF_NO_EVENTS) && (drop || reason == GUARD_R_PASS_SHADOW))
		sample_event(c, &p, len, reason, hit ? hit->uid : 0, nth, &now);
	return drop;
}

SEC("xdp")
int xdp_guard(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	/* No bounds check on purpose (GUARD_VF_TEST_UNVERIFIABLE). */
	if ((guard_variant & GUARD_VF_TEST_UNVERIFIABLE) && *(volatile __u8 *)(data + 64) == 0xff)
		return XDP_DROP;
	return guard_run(data, data_end, data_end - data) ? XDP_DROP : XDP_PASS;
}

/* The tc fallback: same decision on the skb at ingress (clsact or tcx). */
SEC("tc")
int tc_guard(struct __sk_buff *skb)
{
	/* Headers may sit in paged data; make the first bytes linear once. */
	__u32 len = skb->len;
	__u32 want = len < 128 ? len : 128;
	if ((long)skb->data + want > (long)skb->data_end)
		bpf_skb_pull_data(skb, want);
	/*
	 * Make skb opaque so clang reloads data/data_end from ctx instead of
	 * keeping a computed ctx pointer (ctx + offset) alive across the call,
	 * which the verifier rejects.
	 */
	asm volatile("" : "+r"(skb));

	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	return guard_run(data, data_end, len) ? TC_ACT_SHOT : TC_ACT_OK;
}
