/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Shared between bpf/ringbuf_bench.bpf.c and bench/monitor/: the producer of
 * the ring-buffer consumer benchmark.
 */
#ifndef REFLEX_RINGBUF_BENCH_KERN_USER_H
#define REFLEX_RINGBUF_BENCH_KERN_USER_H

#ifndef __BPF__
#include <linux/types.h>
#endif

/* 16 bytes: the size the Monitor's throughput target is stated for. */
struct rb_bench_event {
	__u64 seq;
	__u64 payload;
};

#endif /* REFLEX_RINGBUF_BENCH_KERN_USER_H */
