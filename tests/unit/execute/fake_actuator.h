#pragma once
// An in-memory datapath behind the Actuator interface, for the executor's
// unit tests: it holds what a kernel would, keeps rules it was not given
// (an operator's), and fails a facet on demand.

#include "execute/actuator.h"

#include <algorithm>
#include <map>

namespace reflex::testing {

class FakeActuator final : public execute::Actuator {
 public:
  struct Iface {
    bool present = true, attached = true;
    AttachMode mode = AttachMode::native;
    std::string program = "default";
    std::vector<DesiredRule> rules;  // sorted by key
    std::vector<DesiredShape> shapes;
  };
  std::map<std::string, Iface> kernel;
  std::map<std::pair<std::string, execute::Facet>, Error> fail;  // the next converges of these fail
  int converges = 0;

  std::string_view name() const override { return "fake"; }
  unsigned facets() const override { return 0xf; }

  Result<execute::ActualInterface> read(const std::string& iface, TimeNs) override {
    execute::ActualInterface a;
    auto& k = kernel[iface];
    a.present = k.present;
    a.guarded = true;
    a.attached = k.attached;
    a.mode = k.attached ? k.mode : AttachMode::none;
    a.program = k.program;
    for (auto r : k.rules) {
      r.action_id.clear();
      a.rules.push_back(r);
    }
    a.shapes = k.shapes;
    return a;
  }

  Result<execute::ConvergeReport> converge(const std::string& iface, execute::Facet f, const DesiredInterface& want,
                                           const DesiredInterface& before, TimeNs) override {
    ++converges;
    if (auto it = fail.find({iface, f}); it != fail.end()) return it->second;
    auto& k = kernel[iface];
    switch (f) {
      case execute::Facet::attach:
        if (want.mode != AttachMode::none) k.mode = want.mode, k.attached = true;
        break;
      case execute::Facet::program: k.program = want.program.empty() ? "default" : want.program; break;
      case execute::Facet::shapes: k.shapes = want.shapes; break;
      case execute::Facet::rules: {
        auto in = [](const std::vector<DesiredRule>& v, const DesiredRule& r) {
          return std::binary_search(v.begin(), v.end(), r, rule_key_less);
        };
        std::vector<DesiredRule> next;
        for (const auto& r : k.rules)
          if (!in(want.rules, r) && !in(before.rules, r)) next.push_back(r);  // somebody else's
        for (const auto& r : want.rules) next.push_back(r);
        std::sort(next.begin(), next.end(), rule_key_less);
        k.rules = std::move(next);
        break;
      }
    }
    return execute::ConvergeReport{true, std::string(to_string(f)) + " set", 0};
  }

  static const DesiredRule* find(const Iface& k, const std::string& prefix) {
    for (const auto& r : k.rules)
      if (r.prefix.to_string() == prefix) return &r;
    return nullptr;
  }
};

}  // namespace reflex::testing
