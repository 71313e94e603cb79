// The loop library over a fake datapath: a flood is blocked with no command,
// the intent is durable before the kernel changes, an operator's pause wins
// over policy, and a restart resumes the desired state.

#include "daemon/loop.h"

#include "knowledge/json/desired_state_json.h"
#include "plan/policy_loader.h"
#include "tests/unit/execute/fake_actuator.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace reflex::daemon {
namespace {

constexpr TimeNs kTick = kNsPerSec;
const char* kIface = "eth0";

class StepClock final : public Clock {
 public:
  TimeNs now_ns() const override { return now; }
  TimeNs now = 0;
};

// Remembers what the fake kernel held each time decisions were committed,
// so a test can tell the intent was durable before the kernel changed.
class WatchingRecorder final : public Recorder {
 public:
  explicit WatchingRecorder(const testing::FakeActuator* kernel) : kernel_(kernel) {}
  Status commit_decisions(const Decisions& d) override {
    for (const auto& i : d.intents) {
      intents.push_back(i);
      kernel_rules_at_intent.push_back(kernel_->kernel.count(kIface) ? kernel_->kernel.at(kIface).rules.size() : 0);
    }
    if (d.desired_state) last_desired = *d.desired_state;
    for (const auto& o : d.overrides) overrides.push_back(o);
    ++commits;
    return ok();
  }
  void record_observation(const Observation&) override { ++observations; }
  void record_symptoms(std::span<const SymptomEvent> events) override { symptom_events += events.size(); }
  void record_event(const LoopEvent&) override {}
  Status flush() override { return ok(); }
  StoreHealth health() const override { return {}; }

  std::vector<Intent> intents;
  std::vector<std::size_t> kernel_rules_at_intent;
  std::vector<OverrideRecord> overrides;
  std::optional<boost::json::value> last_desired;
  int commits = 0, observations = 0;
  std::size_t symptom_events = 0;

 private:
  const testing::FakeActuator* kernel_;
};

TalkerObservation talker(const char* ip, double pps) {
  TalkerObservation t;
  t.iface = kIface;
  t.source = Prefix::parse(ip).value();
  t.pps = pps;
  return t;
}

Observation observe(int i, bool flood) {
  Observation o;
  o.ts_ns = static_cast<TimeNs>(i) * kTick;
  o.seq = static_cast<std::uint64_t>(i);
  o.interval_ns = i ? kTick : 0;
  InterfaceObservation io;
  io.present = io.oper_up = true;
  io.mode = AttachMode::native;
  o.interfaces[kIface] = io;
  for (const char* ip : {"192.0.2.10", "192.0.2.11", "192.0.2.12", "203.0.113.7", "203.0.113.8"})
    o.talkers.push_back(talker(ip, 1500));
  if (flood) o.talkers.push_back(talker("198.51.100.7", 90000));
  return o;
}

struct Rig {
  StepClock clock;
  testing::FakeActuator* fake = nullptr;
  std::unique_ptr<WatchingRecorder> recorder;
  std::shared_ptr<const plan::PolicySet> policies;
  std::unique_ptr<Loop> loop;

  Rig() {
    auto set = plan::load_policy_set(REFLEX_SOURCE_DIR "/policies");
    EXPECT_TRUE(set) << (set ? "" : set.error().message());
    policies = std::make_shared<const plan::PolicySet>(std::move(*set));
    auto act = std::make_unique<testing::FakeActuator>();
    fake = act.get();
    std::vector<execute::ActuatorPtr> acts;
    acts.push_back(std::move(act));
    execute::ExecutorConfig ec;
    ec.ifaces = {kIface};
    auto exec = std::make_unique<execute::Executor>(ec, std::move(acts));
    recorder = std::make_unique<WatchingRecorder>(fake);
    LoopConfig lc;
    lc.interfaces = {kIface};
    loop = std::make_unique<Loop>(lc, clock, [this] { return PolicyHandle{policies, 1}; }, analyze::Analyzer{},
                                  std::move(exec), *recorder);
  }

  // Runs ticks [from, to) and returns the first at which the fake kernel drops the flood source.
  int run(int from, int to, bool flood) {
    int first = -1;
    for (int i = from; i < to; ++i) {
      clock.now = static_cast<TimeNs>(i) * kTick;
      loop->step(observe(i, flood));
      if (first < 0 && blocks_flood()) first = i;
    }
    return first;
  }
  bool blocks_flood() const {
    auto it = fake->kernel.find(kIface);
    if (it == fake->kernel.end()) return false;
    const auto host = Prefix::parse("198.51.100.7").value();
    for (const auto& r : it->second.rules)
      if (r.prefix.contains(host) && (r.verb == RuleVerb::drop || r.verb == RuleVerb::rate_limit)) return true;
    return false;
  }
};

TEST(Loop, AFloodIsBlockedWithNoCommand) {
  Rig rig;
  EXPECT_EQ(rig.run(0, 5, false), -1) << "benign traffic must not be blocked";
  const int first = rig.run(5, 15, true);
  ASSERT_GE(first, 5) << "the flood source was never blocked in the datapath";
  // The shipped policies act on a critical flood after at most 5 s of it.
  EXPECT_LE(first, 11) << "blocking took " << first - 5 << " ticks after onset";
  EXPECT_GT(rig.recorder->symptom_events, 0u);
  EXPECT_EQ(rig.recorder->observations, 15);
  ASSERT_TRUE(rig.loop->last_plan().has_value());
  const auto v = rig.loop->view();
  EXPECT_EQ(v->ticks, 15u);
  EXPECT_FALSE(v->actions.empty());
}

Symptom peer_symptom(const char* prefix) {
  Symptom s;
  s.id = std::string("peer_verdict:") + prefix + ":a-long-enough-id-to-live-on-the-heap";
  s.kind = SymptomKind::peer_verdict;
  s.subject.prefix = Prefix::parse(prefix).value();
  s.severity = Severity::warning;
  s.evidence.value = 1;
  s.evidence.detail = std::string("1 peer (node-7): block, a detail longer than any short string: ") + prefix;
  return s;
}

TEST(Loop, TheSnapshotCarriesTheHooksSymptomsAfterTheAnalyzersAndAHeldOneStaysAsItWas) {
  Rig rig;
  std::vector<Symptom> peers = {peer_symptom("100.64.1.0/24"), peer_symptom("100.64.2.0/24")};
  LoopHooks h;
  h.symptoms = [&](SymptomFill& out) {
    for (const auto& s : peers) out.put(s);
  };
  rig.loop->set_hooks(std::move(h));
  auto kinds_of = [](const Snapshot& s) {
    std::vector<std::string> v;
    for (const auto& x : s.symptoms) v.push_back(std::string(to_string(x.kind)) + " " + x.evidence.detail);
    return v;
  };
  // A flood gives the Analyzer a symptom of its own: it comes first.
  rig.run(0, 5, false);
  rig.run(5, 8, true);
  const SnapshotPtr held = rig.loop->snapshot();
  ASSERT_GE(held->symptoms.size(), 3u);
  EXPECT_NE(held->symptoms.front().kind, SymptomKind::peer_verdict);
  EXPECT_EQ(held->symptoms[held->symptoms.size() - 2], peers[0]);
  EXPECT_EQ(held->symptoms.back(), peers[1]);
  const auto held_before = kinds_of(*held);

  // Held by someone (the API, a test): the next tick must not touch it.
  peers = {peer_symptom("100.64.3.0/24")};
  rig.run(8, 9, true);
  EXPECT_EQ(kinds_of(*held), held_before);
  EXPECT_EQ(rig.loop->snapshot()->symptoms.back(), peers[0]);

  // Held by no one: the next Snapshot reuses its storage, and is exactly the
  // new set (fewer peers than before leave nothing behind).
  auto peers_in = [](const Snapshot& s) {
    return std::count_if(s.symptoms.begin(), s.symptoms.end(), [](const Symptom& x) { return x.kind == SymptomKind::peer_verdict; });
  };
  peers = {};
  rig.run(9, 10, true);
  EXPECT_EQ(peers_in(*rig.loop->snapshot()), 0);
  EXPECT_NE(rig.loop->snapshot()->symptoms.size(), 0u) << "the Analyzer's flood symptom stays";
  peers = {peer_symptom("100.64.4.0/24"), peer_symptom("100.64.5.0/24"), peer_symptom("100.64.6.0/24")};
  rig.run(10, 11, true);
  EXPECT_EQ(peers_in(*rig.loop->snapshot()), 3);
  EXPECT_EQ(rig.loop->snapshot()->symptoms.back(), peers[2]);
}

TEST(Loop, TheIntentIsDurableBeforeTheKernelChanges) {
  Rig rig;
  rig.run(0, 5, false);
  ASSERT_GE(rig.run(5, 15, true), 5);
  ASSERT_FALSE(rig.recorder->intents.empty());
  // The first intent was committed while the kernel held no rule.
  EXPECT_EQ(rig.recorder->kernel_rules_at_intent.front(), 0u);
  EXPECT_TRUE(rig.recorder->last_desired.has_value()) << "the desired state was never committed";
}

TEST(Loop, PauseWinsOverPolicy) {
  Rig rig;
  Override o;
  o.kind = Override::Kind::pause_all;
  o.who = "oncall";
  o.expires_ns = 60 * kTick;
  auto added = rig.loop->add_override({o});
  ASSERT_TRUE(added) << added.error().message();
  ASSERT_EQ(rig.recorder->overrides.size(), 1u) << "an override is durable when it is made";
  rig.run(0, 5, false);
  EXPECT_EQ(rig.run(5, 12, true), -1) << "the paused loop changed the datapath";
  EXPECT_EQ(rig.loop->view()->phase, LoopPhase::paused);
  ASSERT_TRUE(rig.loop->remove_override(added->id, "oncall"));
  EXPECT_GE(rig.run(12, 20, true), 12) << "resumed, the loop must act on the flood still there";
}

TEST(Loop, ARestartResumesTheDesiredState) {
  Rig first;
  first.run(0, 5, false);
  ASSERT_GE(first.run(5, 12, true), 5);
  ASSERT_TRUE(first.recorder->last_desired.has_value());
  DesiredState desired;
  auto st = from_json(*first.recorder->last_desired, desired);
  ASSERT_TRUE(st) << st.error().message();

  Rig second;  // a new process: an empty kernel and an empty loop
  second.clock.now = 12 * kTick;
  second.loop->resume({desired, first.loop->planner().state()});
  second.loop->step(observe(12, true));  // the first tick reconciles the kernel to the desired state
  EXPECT_TRUE(second.blocks_flood()) << "the restarted loop did not put the block back";
}

}  // namespace
}  // namespace reflex::daemon
