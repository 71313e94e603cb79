// override_batch_bench: how long a POST /v1/overrides of a prefix list holds
// the loop's thread, and what the tick after it costs. reflexd runs its
// io_context on one thread, so a handler that runs is a tick that waits.
//
// In-process, real parts: the real Router and loop routes, the real
// daemon::Loop (the shipped policies, the real Planner and Executor) over a
// real SQLite store in a scratch folder (synchronous=full, as shipped); the
// datapath is the fake actuator (tests/unit/execute/fake_actuator.h), so the
// tick figure leaves out the kernel swap, which execute_bench measures on a
// real guard (docs/execute.md: batch 10k / 1M).
//   post   router.handle() of the body: JSON parse, the strict read, the
//          guardrails, the OverrideBook, the store commit of the override
//          (its whole list), the 201 rendered; anchor: boost::json::parse of
//          the same bytes (the JSON library alone), same run, interleaved
//   tick   the next Loop::step (the planner emits the batch, Execute
//          prepares it, the intent and its list are committed); anchor: an
//          idle tick of the same loop just before
//   verify the tick after that (Execute reviews the batch); same anchor
//   steady the fifth tick after the POST, with the list in force (the
//          snapshot, the plan input and the view copy the overrides each
//          tick); same anchor
// Best and median of N; the host is shared, so say which and quote ratios.

#include "api/http.h"
#include "api/loop_routes.h"
#include "api/override_request.h"
#include "api/router.h"
#include "common/log.h"
#include "daemon/loop.h"
#include "knowledge/store/sqlite_store.h"
#include "plan/policy_loader.h"
#include "tests/unit/execute/fake_actuator.h"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace reflex::bench {
namespace {

namespace fs = std::filesystem;
namespace http = api::http;
constexpr const char* kIface = "eth0";

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

class StepClock final : public Clock {
 public:
  TimeNs now_ns() const override { return now; }
  TimeNs now = 0;
};

std::string body_of(std::size_t n, int round) {
  std::string b = R"({"kind":"block","ttl":"10m","reason":"bench","who":"bench","id":"feed-)" + std::to_string(round) +
                  R"(","prefixes":[)";
  b.reserve(n * 18 + 128);
  for (std::size_t i = 0; i < n; ++i) {
    // 100.64.0.0/10 hosts: n <= 4M distinct, no never_block range.
    const std::uint32_t a = (100u << 24) | (64u << 16) | static_cast<std::uint32_t>(i);
    b += i ? ",\"" : "\"";
    b += std::to_string(a >> 24) + "." + std::to_string(a >> 16 & 255) + "." + std::to_string(a >> 8 & 255) + "." +
         std::to_string(a & 255) + "\"";
  }
  return b + "]}";
}

Observation observe(TimeNs now, std::uint64_t seq) {
  Observation o;
  o.ts_ns = now;
  o.seq = seq;
  o.interval_ns = kNsPerSec;
  InterfaceObservation io;
  io.present = io.oper_up = true;
  io.mode = AttachMode::native;
  o.interfaces[kIface] = io;
  return o;
}

struct Figures {
  std::vector<double> post, parse, tick, verify, idle, steady;
  std::size_t body_bytes = 0, rules = 0;
};

void report(const char* what, std::vector<double> v, std::vector<double> anchor, const char* anchor_name) {
  std::sort(v.begin(), v.end());
  std::sort(anchor.begin(), anchor.end());
  std::printf("  %-6s best %8.2f ms  median %8.2f ms   | anchor %-22s best %8.2f ms  median %8.2f ms  (x%.1f)\n", what,
              v.front(), v[v.size() / 2], anchor_name, anchor.front(), anchor[anchor.size() / 2],
              v.front() / std::max(anchor.front(), 1e-6));
}

int run(std::size_t n, int rounds) {
  const fs::path dir = fs::temp_directory_path() / ("rfx-ovb-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto set = plan::load_policy_set(REFLEX_SOURCE_DIR "/policies");
  if (!set) {
    std::fprintf(stderr, "policies: %s\n", set.error().message().c_str());
    return 1;
  }
  auto policies = std::make_shared<const plan::PolicySet>(std::move(*set));
  Figures f;
  for (int r = 0; r < rounds; ++r) {
    // A fresh loop and store each round: every POST meets the same state.
    auto opened = store::SqliteStore::open((dir / ("store-" + std::to_string(r) + ".db")).string());
    if (!opened) {
      std::fprintf(stderr, "store: %s\n", opened.error().message().c_str());
      return 1;
    }
    StepClock clock;
    std::vector<execute::ActuatorPtr> acts;
    auto act = std::make_unique<testing::FakeActuator>();
    auto* fake = act.get();
    acts.push_back(std::move(act));
    execute::ExecutorConfig ec;
    ec.ifaces = {kIface};
    ec.max_rules = 4'000'000;
    daemon::LoopConfig lc;
    lc.interfaces = {kIface};
    daemon::Loop loop(lc, clock, [&] { return daemon::PolicyHandle{policies, 1}; }, analyze::Analyzer{},
                      std::make_unique<execute::Executor>(ec, std::move(acts)), *opened->store, opened->store.get());
    api::Router router;
    api::add_loop_routes(router, loop, {});
    std::uint64_t seq = 0;
    auto tick = [&] {
      clock.now += kNsPerSec;
      const auto t0 = std::chrono::steady_clock::now();
      loop.step(observe(clock.now, seq++));
      (void)loop.view();
      return ms_since(t0);
    };
    for (int i = 0; i < 3; ++i) tick();  // past start-up
    f.idle.push_back(tick());

    const std::string body = body_of(n, r);
    f.body_bytes = body.size();
    {
      const auto t0 = std::chrono::steady_clock::now();
      auto v = boost::json::parse(body);
      f.parse.push_back(ms_since(t0));
    }
    api::Request req{http::verb::post, "/v1/overrides", 11};
    req.set(http::field::content_type, "application/json");
    req.body() = body;
    req.prepare_payload();
    const auto t0 = std::chrono::steady_clock::now();
    auto res = router.handle(req);
    f.post.push_back(ms_since(t0));
    if (res.result() != http::status::created) {
      std::fprintf(stderr, "POST answered %u: %s\n", res.result_int(), res.body().c_str());
      return 1;
    }
    f.tick.push_back(tick());
    f.verify.push_back(tick());  // Execute's review of the batch (its post-condition, the desired state saved)
    for (int i = 0; i < 3; ++i) tick();
    f.steady.push_back(tick());
    f.rules = fake->kernel.count(kIface) ? fake->kernel.at(kIface).rules.size() : 0;
    if (f.rules < n) {
      std::fprintf(stderr, "the batch did not reach the (fake) datapath: %zu of %zu rules\n", f.rules, n);
      return 1;
    }
  }
  std::printf("override_batch_bench: %zu prefixes, body %.2f MB, %d rounds, %zu rules in the datapath after\n", n,
              static_cast<double>(f.body_bytes) / 1e6, rounds, f.rules);
  report("post", f.post, f.parse, "boost::json::parse");
  report("tick", f.tick, f.idle, "idle tick");
  report("verify", f.verify, f.idle, "idle tick");
  report("steady", f.steady, f.idle, "idle tick");
  std::error_code ec;
  fs::remove_all(dir, ec);
  return 0;
}

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) {
  reflex::init_logging("warn");
  const bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  int rc = 0;
  for (std::size_t n : quick ? std::vector<std::size_t>{1000} : std::vector<std::size_t>{10'000, 100'000})
    rc |= reflex::bench::run(n, quick ? 2 : 7);
  if (rc == 0) std::printf("override_batch_bench: done\n");
  return rc;
}
