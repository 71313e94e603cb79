// bench: see bench/guard/guard_bench.h.
#include "bench/guard/guard_bench.h"
#include "cli.h"

namespace reflex::guard::cli {

int cmd_bench(const Context& ctx, const std::vector<std::string>& sizes, bool quick) {
  (void)ctx;
  bench::GuardBenchOptions o;
  o.quick = quick;
  for (const auto& s : sizes) o.sizes.push_back(std::stoul(s));
  auto r = bench::run_guard_bench(o, stdout);
  if (!r) return fail(r.error());
  return 0;
}

}  // namespace reflex::guard::cli
