#include "bench/monitor/testbed.h"

#include <unistd.h>

#include <filesystem>
#include <optional>

namespace reflex::bench {

Result<std::unique_ptr<Testbed>> Testbed::create() {
  std::unique_ptr<Testbed> tb(new Testbed());
  tb->pin_root_ = "/sys/fs/bpf/reflex-bench-" + std::to_string(getpid());
  auto a = sim::NetNs::create(sim::unique_name("rfxba"));
  if (!a) return a.error();
  tb->a_ = std::make_unique<sim::NetNs>(std::move(*a));
  auto b = sim::NetNs::create(sim::unique_name("rfxbb"));
  if (!b) return b.error();
  tb->b_ = std::make_unique<sim::NetNs>(std::move(*b));
  return tb;
}

Result<guard::Guard> Testbed::load_guard(const std::string& b_iface) {
  guarded_.push_back(b_iface);  // unloaded on the way out even if the load fails halfway
  std::optional<Result<guard::Guard>> g;
  if (auto st = b_->run(
          [&] { g = guard::Guard::load(b_iface, guard::LoadMode::auto_, guard::GuardOptions{pin_root_}); });
      !st)
    return st.error();
  return std::move(*g);
}

Testbed::~Testbed() {
  for (const auto& i : guarded_) (void)guard::Guard::unload(i, guard::GuardOptions{pin_root_});
  b_.reset();
  a_.reset();
  std::error_code ec;
  std::filesystem::remove_all(pin_root_, ec);
}

}  // namespace reflex::bench
