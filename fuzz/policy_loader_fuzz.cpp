// libFuzzer target: arbitrary bytes as policy files must never crash, hang or
// leak the loader; when they do load, the planner must run on them safely.
// The input is split at "\n---file---\n" into several files, so cross-file
// checks (duplicate ids, a second `global:`) are reached too.

#include "plan/planner.h"
#include "plan/policy_loader.h"

#include <spdlog/spdlog.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  spdlog::set_level(spdlog::level::off);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::vector<reflex::plan::PolicySource> files;
  constexpr std::string_view kSep = "\n---file---\n";
  while (files.size() < 4) {
    auto pos = in.find(kSep);
    files.push_back({"f" + std::to_string(files.size()) + ".yaml", std::string(in.substr(0, pos))});
    if (pos == std::string_view::npos) break;
    in.remove_prefix(pos + kSep.size());
  }
  auto report = reflex::plan::load_policy_sources(files);
  for (const auto& d : report.diagnostics) (void)d.to_string();
  if (!report.ok()) return 0;

  // A valid policy must also be safe to plan with: a few ticks of symptoms of
  // every kind, with traffic so the guardrails do arithmetic.
  using namespace reflex;
  PlannerState state;
  for (int tick = 0; tick < 6; ++tick) {
    plan::PlanInput pin;
    pin.now_ns = tick * 20 * kNsPerSec;
    pin.traffic.ifaces["eth0"] = {1000, 1e6, AttachMode::native};
    pin.traffic.talkers.push_back({"eth0", Prefix::parse("192.0.2.1").value(), 900});
    int k = 0;
    for (auto kind : {SymptomKind::flood, SymptomKind::latency_high, SymptomKind::drop_rate_high,
                      SymptomKind::map_pressure, SymptomKind::attach_degraded}) {
      if (tick >= 4) break;  // let them clear so de-escalation runs
      Symptom s;
      s.kind = kind;
      s.subject.iface = "eth0";
      if (k++ < 3) s.subject.prefix = Prefix::parse(k == 2 ? "2001:db8::1" : "192.0.2.1").value();
      s.subject.map = "rules";
      s.severity = Severity::critical;
      s.score = 1.0;
      pin.symptoms.push_back(s);
    }
    auto out = plan::make_plan(*report.policy, pin, state);
    state = std::move(out.state);
  }
  return 0;
}
