#pragma once
// Address ranges of kernel functions, from /proc/kallsyms: a function runs
// from its address to the next symbol's. Used to tell which kfree_skb call
// sites are XDP verdicts (bpf/drop_reasons.bpf.c).

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace reflex::monitor {

struct SymbolRange {
  std::string name;
  std::uint64_t start = 0, end = 0;
};

// The ranges of those of `names` the kernel has (inlined functions have
// none). Empty when kallsyms hides addresses (kptr_restrict, no CAP_SYSLOG).
Result<std::vector<SymbolRange>> kernel_function_ranges(const std::vector<std::string>& names,
                                                        const std::string& kallsyms = "/proc/kallsyms");

}  // namespace reflex::monitor
