#pragma once
// Two namespaces for the Monitor's benchmarks ("a" sends, "b" receives and
// may be guarded), and the guards loaded on b's interfaces, pinned under a
// root of this process's own; all released in reverse on every way out.

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "guard/guard.h"
#include "sim/netns.h"

namespace reflex::bench {

class Testbed {
 public:
  static Result<std::unique_ptr<Testbed>> create();
  ~Testbed();
  Testbed(const Testbed&) = delete;
  Testbed& operator=(const Testbed&) = delete;

  // Loads the guard on b_iface (an interface in b), unloaded with the testbed.
  Result<guard::Guard> load_guard(const std::string& b_iface);

  const std::string& pin_root() const { return pin_root_; }
  const sim::NetNs& a() const { return *a_; }
  const sim::NetNs& b() const { return *b_; }

 private:
  Testbed() = default;
  std::string pin_root_;
  std::unique_ptr<sim::NetNs> a_, b_;
  std::vector<std::string> guarded_;
};

}  // namespace reflex::bench
