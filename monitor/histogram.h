#pragma once
// The Monitor reads RTT percentiles with the shared log2 histogram helper.

#include "common/log2_histogram.h"

namespace reflex::monitor {
using reflex::log2_quantile;
}  // namespace reflex::monitor
