#pragma once
// Percentiles from a log2 histogram (slot i counts values in [2^i, 2^(i+1)),
// slot 0 also holds 0 and 1), as aggregated by bpf/tcp_rtt.bpf.c: the Monitor
// reads them per tick, the store from the roll-ups that merge them.

#include <cstdint>
#include <span>

namespace reflex {

// The q-quantile (0 < q <= 1), interpolating linearly inside the slot that
// holds it: a log2 slot spans a factor of two, so reporting its lower bound
// would make every percentile a power of two. 0 when the histogram is empty.
double log2_quantile(std::span<const std::uint64_t> slots, double q);

}  // namespace reflex
