#include "monitor/kernel_symbols.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <memory>

namespace reflex::monitor {

Result<std::vector<SymbolRange>> kernel_function_ranges(const std::vector<std::string>& names,
                                                        const std::string& kallsyms) {
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(kallsyms.c_str(), "re"), std::fclose);
  if (!f) return errno_error("open " + kallsyms, errno);
  std::vector<std::uint64_t> addrs;  // every symbol's, to find where each wanted one ends
  std::vector<SymbolRange> found;
  char line[512];
  while (std::fgets(line, sizeof(line), f.get())) {
    std::uint64_t addr = 0;
    char type = 0;
    char name[256] = {};
    if (std::sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3 || addr == 0) continue;
    addrs.push_back(addr);
    if (type != 't' && type != 'T') continue;
    for (const auto& n : names)
      if (n == name) found.push_back({n, addr, 0});
  }
  if (addrs.empty()) return found;  // addresses hidden (all zero)
  std::sort(addrs.begin(), addrs.end());
  for (auto& r : found) {
    auto next = std::upper_bound(addrs.begin(), addrs.end(), r.start);
    r.end = next == addrs.end() ? r.start + 4096 : *next;
  }
  return found;
}

}  // namespace reflex::monitor
