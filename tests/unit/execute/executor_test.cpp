// The executor against an in-memory datapath: folding plans into the desired
// state, verification and rollback from observed traffic, expiry, atomicity
// across interfaces, aggregation, and reconciliation.

#include "execute/executor.h"

#include "tests/unit/execute/fake_actuator.h"

#include <gtest/gtest.h>

namespace reflex::execute {
namespace {

using testing::FakeActuator;

Prefix P(const char* s) { return Prefix::parse(s).value(); }

// Cumulative counters that advance with chosen rates, as the Monitor reports them.
struct World {
  TimeNs t = 1000 * kNsPerSec;
  std::map<std::string, std::uint64_t> passed;
  struct Src {
    std::string iface;
    Prefix p;
    std::uint64_t packets = 0, dropped = 0;
    double pps = 0;
  };
  std::vector<Src> srcs;
  std::vector<Symptom> symptoms;
  std::map<std::string, std::uint64_t> rules;  // guard rules in force, as the Monitor reports them

  // secs of traffic: benign pps passing on every interface; each source sends
  // `pps` of which the share `dropped` is dropped.
  void run(double secs, double benign_pps, double src_pps, double dropped_share) {
    t += static_cast<TimeNs>(secs * 1e9);
    for (auto& [i, v] : passed) v += static_cast<std::uint64_t>(benign_pps * secs);
    for (auto& s : srcs) {
      auto n = static_cast<std::uint64_t>(src_pps * secs);
      auto d = static_cast<std::uint64_t>(static_cast<double>(n) * dropped_share);
      s.packets += n;
      s.dropped += d;
      s.pps = src_pps;
      passed[s.iface] += n - d;
    }
  }
  Snapshot snap() const {
    Snapshot s;
    s.ts_ns = t;
    s.observation.ts_ns = t;
    for (const auto& [i, v] : passed) {
      auto& io = s.observation.interfaces[i];
      io.present = true;
      io.mode = AttachMode::native;
      io.xdp.pass = v;
      io.rx_packets = v;
      if (auto r = rules.find(i); r != rules.end()) io.rules = r->second;
    }
    for (const auto& src : srcs)
      s.observation.talkers.push_back(TalkerObservation{src.iface, src.p, src.packets, 0, src.dropped, src.pps});
    s.symptoms = symptoms;
    return s;
  }
};

Action act(std::string id, ActionSpec spec, TimeNs ttl = 0) {
  Action a;
  a.id = std::move(id);
  a.spec = std::move(spec);
  a.ttl_ns = ttl;
  return a;
}

Plan plan_of(std::vector<Action> actions) {
  Plan p;
  p.id = "plan";
  p.actions = std::move(actions);
  return p;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto f = std::make_unique<FakeActuator>();
    fake_ = f.get();
    std::vector<ActuatorPtr> acts;
    acts.push_back(std::move(f));
    ExecutorConfig cfg;
    cfg.ifaces = {"eth0", "eth1"};
    ex_ = std::make_unique<Executor>(cfg, std::move(acts));
    w_.passed = {{"eth0", 0}, {"eth1", 0}};
  }

  // One loop tick: review, prepare the plan, apply. Returns every outcome.
  std::vector<Outcome> tick(const Plan& plan = {}) {
    auto snap = w_.snap();
    auto r = ex_->review(snap);
    auto p = ex_->prepare(plan, snap);
    auto out = r.outcomes;
    for (auto& o : p.outcomes) out.push_back(o);
    for (auto& o : ex_->apply(p)) out.push_back(o);
    last_ = p;
    return out;
  }

  static const Outcome* find(const std::vector<Outcome>& v, const std::string& id, OutcomeStatus s) {
    for (const auto& o : v)
      if (o.action_id == id && o.status == s) return &o;
    return nullptr;
  }

  World w_;
  FakeActuator* fake_ = nullptr;
  std::unique_ptr<Executor> ex_;
  Prepared last_;
};

TEST_F(ExecutorTest, ABlockThatStopsTheFloodIsVerified) {
  w_.srcs = {{"eth0", P("198.51.100.7")}};
  w_.run(1, 1000, 5000, 0);
  tick();
  w_.run(1, 1000, 5000, 0);
  auto out = tick(plan_of({act("p1/0", BlockPrefix{"eth0", P("198.51.100.7"), {}}, 60 * kNsPerSec)}));
  ASSERT_NE(find(out, "p1/0", OutcomeStatus::applied), nullptr);
  ASSERT_NE(FakeActuator::find(fake_->kernel["eth0"], "198.51.100.7"), nullptr);
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth1"], "198.51.100.7"), nullptr);
  ASSERT_EQ(last_.intents.size(), 1u);
  ASSERT_EQ(last_.intents[0].inverse.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<Unblock>(last_.intents[0].inverse[0]));
  // Before it settled: nothing said yet.
  w_.run(1, 1000, 5000, 1.0);
  out = tick();
  EXPECT_EQ(find(out, "p1/0", OutcomeStatus::verified), nullptr);
  EXPECT_EQ(ex_->status(w_.t).pending.size(), 1u);
  w_.run(2, 1000, 5000, 1.0);
  out = tick();
  auto* v = find(out, "p1/0", OutcomeStatus::verified);
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->detail.find("5000 pps before, 0 pps after"), std::string::npos) << v->detail;
  EXPECT_LT(v->effect, -4000);
  EXPECT_TRUE(ex_->status(w_.t).pending.empty());
}

TEST_F(ExecutorTest, ABlockThatHurtsBystandersIsRolledBack) {
  w_.srcs = {{"eth0", P("198.51.100.7")}};
  w_.run(1, 2000, 3000, 0);
  tick();
  w_.run(1, 2000, 3000, 0);
  // Made to fail on purpose: a /24 that covers the bystanders too.
  tick(plan_of({act("p1/0", BlockPrefix{"eth0", P("198.51.100.0/24"), {}}, 60 * kNsPerSec)}));
  ASSERT_NE(FakeActuator::find(fake_->kernel["eth0"], "198.51.100.0/24"), nullptr);
  w_.run(3, 200, 3000, 1.0);  // benign traffic fell from 2000 to 200 pps
  auto snap = w_.snap();
  auto r = ex_->review(snap);
  const Outcome* rb = nullptr;
  for (const auto& o : r.outcomes)
    if (o.action_id == "p1/0" && o.status == OutcomeStatus::rolled_back) rb = &o;
  ASSERT_NE(rb, nullptr);
  EXPECT_NE(rb->detail.find("traffic outside the action fell from 2000 to 200 pps"), std::string::npos) << rb->detail;
  EXPECT_TRUE(r.changed);
  ASSERT_EQ(r.intents.size(), 1u);
  EXPECT_EQ(r.intents[0].action.rationale.decision, "rollback");
  EXPECT_TRUE(std::holds_alternative<Unblock>(r.intents[0].action.spec));
  // Not in the kernel until apply (after the loop committed the rollback).
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "198.51.100.0/24"), nullptr);
  auto p = ex_->prepare({}, snap);
  ex_->apply(p);
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "198.51.100.0/24"), nullptr);
  EXPECT_TRUE(ex_->desired().ifaces.at("eth0").rules.empty());
}

TEST_F(ExecutorTest, AFloodThatArrivedWithinTheBaselineIsNotCountedAsBystanders) {
  // The attack reaches this node between the two samples the baseline is
  // made of (a moving flood, a block a peer's verdict asked for): its
  // sources are talkers only in the later one, yet their packets are in the
  // interface's counters of the window.
  w_.run(1, 1000, 0, 0);
  tick();
  w_.srcs = {{"eth0", P("198.18.7.10")}, {"eth0", P("198.18.7.11")}};
  w_.run(1, 1000, 4000, 0);
  Action a = act("p1/0", BlockPrefix{"eth0", P("198.18.7.0/24"), {}}, 60 * kNsPerSec);
  a.rationale.subject.prefix = P("198.18.7.0/24");
  tick(plan_of({a}));
  ASSERT_NE(FakeActuator::find(fake_->kernel["eth0"], "198.18.7.0/24"), nullptr);
  // The block drops the flood; the benign 1000 pps pass as before.
  bool verified = false;
  for (int i = 0; i < 4; ++i) {
    w_.run(1, 1000, 4000, 1.0);
    auto out = tick();
    const Outcome* rb = find(out, "p1/0", OutcomeStatus::rolled_back);
    ASSERT_EQ(rb, nullptr) << rb->detail;
    verified = verified || find(out, "p1/0", OutcomeStatus::verified);
  }
  EXPECT_TRUE(verified);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "198.18.7.0/24"), nullptr) << "the block stays in force";
}

TEST_F(ExecutorTest, AShadowIsNotBlamedForWhatABlockBesideItDropped) {
  w_.srcs = {{"eth0", P("198.51.100.7")}};
  w_.run(1, 1000, 5000, 0);
  tick();
  w_.run(1, 1000, 5000, 0);
  // One plan: block the flood, and shadow a prefix a peer reported.
  tick(plan_of({act("p1/0", BlockPrefix{"eth0", P("198.51.100.7"), {}}, 60 * kNsPerSec),
                act("p1/1", ShadowPrefix{"eth0", P("192.0.2.0/24"), {}}, 60 * kNsPerSec)}));
  bool block_verified = false, shadow_verified = false;
  for (int i = 0; i < 4; ++i) {
    w_.run(1, 1000, 5000, 1.0);  // everything but the flood passes as before
    auto out = tick();
    const Outcome* rb = find(out, "p1/1", OutcomeStatus::rolled_back);
    ASSERT_EQ(rb, nullptr) << rb->detail;
    block_verified = block_verified || find(out, "p1/0", OutcomeStatus::verified);
    shadow_verified = shadow_verified || find(out, "p1/1", OutcomeStatus::verified);
  }
  EXPECT_TRUE(block_verified);
  EXPECT_TRUE(shadow_verified);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "192.0.2.0/24"), nullptr) << "the shadow stays in force";
}

TEST_F(ExecutorTest, ABlockThatMissesTheFloodIsRolledBackAtTheDeadline) {
  w_.srcs = {{"eth0", P("198.51.100.7")}};
  w_.run(1, 1000, 5000, 0);
  tick();
  w_.run(1, 1000, 5000, 0);
  // The flood is UDP; this block only matches TCP, so nothing changes.
  tick(plan_of({act("p1/0", BlockPrefix{"eth0", P("198.51.100.7"), L4Match{6, std::nullopt}})}));
  for (int i = 0; i < 4; ++i) {
    w_.run(2, 1000, 5000, 0);
    auto out = tick();
    EXPECT_EQ(find(out, "p1/0", OutcomeStatus::rolled_back), nullptr) << "rolled back before the deadline, tick " << i;
  }
  w_.run(3, 1000, 5000, 0);  // past the 10 s deadline
  auto out = tick();
  auto* rb = find(out, "p1/0", OutcomeStatus::rolled_back);
  ASSERT_NE(rb, nullptr);
  EXPECT_NE(rb->detail.find("more than the 2500 pps the action should leave"), std::string::npos) << rb->detail;
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "198.51.100.7"), nullptr);
}

TEST_F(ExecutorTest, ARateLimitHoldsWithinItsToleranceOrIsRolledBack) {
  w_.srcs = {{"eth0", P("203.0.113.5")}, {"eth0", P("203.0.113.6")}};
  w_.run(1, 1000, 4000, 0);
  tick();
  w_.run(1, 1000, 4000, 0);
  tick(plan_of({act("p1/0", RateLimitPrefix{"eth0", P("203.0.113.0/24"), 1000, 0, {}})}));
  w_.run(3, 1000, 4000, 0.75);  // each source now passes 1000 pps
  auto out = tick();
  auto* v = find(out, "p1/0", OutcomeStatus::verified);
  ASSERT_NE(v, nullptr);
  EXPECT_NE(v->detail.find("8000 pps before, 2000 pps after"), std::string::npos) << v->detail;
}

TEST_F(ExecutorTest, ARenewalChangesTheExpiryAndIsNotWatched) {
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("p1/0", BlockPrefix{"eth0", P("192.0.2.9"), {}}, 10 * kNsPerSec)}));
  const TimeNs first = ex_->desired().ifaces.at("eth0").rules.at(0).expires_ns;
  w_.run(5, 100, 0, 0);
  tick(plan_of({act("p2/0", BlockPrefix{"eth0", P("192.0.2.9"), {}}, 10 * kNsPerSec)}));
  const auto& r = ex_->desired().ifaces.at("eth0").rules.at(0);
  EXPECT_EQ(r.expires_ns, first + 5 * kNsPerSec);
  EXPECT_EQ(r.action_id, "p2/0");
  EXPECT_TRUE(last_.checks.empty()) << "a renewal changes nothing a packet sees";
}

TEST_F(ExecutorTest, RulesExpireWithOneOutcomeForTheirAction) {
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("p1/0", BlockPrefix{"", P("192.0.2.9"), {}}, 3 * kNsPerSec)}));
  EXPECT_EQ(ex_->desired().ifaces.at("eth0").rules.size(), 1u);
  EXPECT_EQ(ex_->desired().ifaces.at("eth1").rules.size(), 1u);  // empty iface: every guarded interface
  w_.run(2, 100, 0, 0);
  EXPECT_EQ(find(tick(), "p1/0", OutcomeStatus::expired), nullptr);
  w_.run(2, 100, 0, 0);
  auto out = tick();
  int expired = 0;
  for (const auto& o : out) expired += o.action_id == "p1/0" && o.status == OutcomeStatus::expired;
  EXPECT_EQ(expired, 1);
  EXPECT_TRUE(ex_->desired().ifaces.at("eth0").rules.empty());
  EXPECT_TRUE(fake_->kernel["eth1"].rules.empty());
}

TEST_F(ExecutorTest, AnActionThatFailsOnOneInterfaceIsTakenBackOnTheOthers) {
  fake_->fail[{"eth1", Facet::rules}] = make_error("create map rules: Argument list too long", "the rule set is too large",
                                                   E2BIG);
  w_.run(1, 100, 0, 0);
  auto out = tick(plan_of({act("p1/0", BlockPrefix{"", P("192.0.2.0/24"), {}}),
                           act("p1/1", BlockPrefix{"eth0", P("198.51.100.1"), {}})}));
  auto* f = find(out, "p1/0", OutcomeStatus::failed);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->error.find("Argument list too long"), std::string::npos);
  EXPECT_EQ(f->hint, "the rule set is too large");
  ASSERT_NE(find(out, "p1/1", OutcomeStatus::applied), nullptr);
  // Whole or not at all: not on eth0 either, while eth0's own block stays.
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "192.0.2.0/24"), nullptr);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "198.51.100.1"), nullptr);
  EXPECT_EQ(ex_->desired().ifaces.at("eth0").rules.size(), 1u);
  EXPECT_TRUE(ex_->desired().ifaces.at("eth1").rules.empty());
  EXPECT_FALSE(ex_->status(w_.t).ifaces.at(1).healthy);
}

TEST_F(ExecutorTest, ActionsDecidedWithoutTheKernel) {
  w_.run(1, 100, 0, 0);
  Action dry = act("p1/0", BlockPrefix{"eth0", P("192.0.2.1"), {}});
  dry.dry_run = true;
  auto out = tick(plan_of({dry, act("p1/1", BlockPrefix{"wlan9", P("192.0.2.1"), {}}),
                           act("p1/2", RateLimitPrefix{"eth0", P("192.0.2.2"), 5'000'000'000ull, 0, {}}),
                           act("p1/3", RateLimitPrefix{"eth0", P("192.0.2.3"), 0, 0, {}}),
                           act("p1/4", Alert{"look at this"}), act("p1/5", Unblock{"eth0", P("192.0.2.77"), {}}),
                           act("p1/6", SwapProgram{"eth0", "turbo"}),
                           act("p1/7", BlockPrefix{"eth0", P("192.0.2.0/24"), L4Match{1, 80}})}));
  EXPECT_NE(find(out, "p1/0", OutcomeStatus::dry_run), nullptr);
  auto* unknown = find(out, "p1/1", OutcomeStatus::failed);
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->error, "wlan9 is not an interface reflex guards");
  auto* big = find(out, "p1/2", OutcomeStatus::failed);
  ASSERT_NE(big, nullptr);
  EXPECT_NE(big->error.find("more than the guard's 32-bit limit"), std::string::npos) << big->error;
  EXPECT_NE(find(out, "p1/3", OutcomeStatus::failed), nullptr);
  EXPECT_NE(find(out, "p1/4", OutcomeStatus::applied), nullptr);
  EXPECT_NE(find(out, "p1/5", OutcomeStatus::skipped), nullptr);
  auto* prog = find(out, "p1/6", OutcomeStatus::failed);
  ASSERT_NE(prog, nullptr);
  EXPECT_NE(prog->hint.find("default, lean"), std::string::npos);
  auto* icmp = find(out, "p1/7", OutcomeStatus::failed);
  ASSERT_NE(icmp, nullptr);
  EXPECT_NE(icmp->error.find("has no ports"), std::string::npos) << icmp->error;
  EXPECT_TRUE(fake_->kernel["eth0"].rules.empty());
  EXPECT_EQ(fake_->converges, 0) << "nothing reached the datapath";
}

TEST_F(ExecutorTest, AFullRuleTableRefusesWithTheFix) {
  std::vector<ActuatorPtr> acts;
  auto f = std::make_unique<FakeActuator>();
  acts.push_back(std::move(f));
  ExecutorConfig cfg;
  cfg.ifaces = {"eth0"};
  cfg.max_rules = 2;
  Executor ex(cfg, std::move(acts));
  auto p = ex.prepare(plan_of({act("a", BlockPrefix{"eth0", P("192.0.2.1"), {}}),
                               act("b", BlockPrefix{"eth0", P("192.0.2.2"), {}}),
                               act("c", BlockPrefix{"eth0", P("192.0.2.3"), {}})}),
                      w_.snap());
  ASSERT_EQ(p.outcomes.size(), 1u);
  EXPECT_EQ(p.outcomes[0].action_id, "c");
  EXPECT_NE(p.outcomes[0].error.find("the rule table is full (2 rules)"), std::string::npos);
  EXPECT_NE(p.outcomes[0].hint.find("aggregate"), std::string::npos);
  EXPECT_EQ(p.desired->ifaces.at("eth0").rules.size(), 2u);
}

TEST_F(ExecutorTest, PrepareIsPureAndTouchesNothing) {
  w_.run(1, 100, 0, 0);
  auto snap = w_.snap();
  auto plan = plan_of({act("a", BlockPrefix{"", P("192.0.2.1"), {}}, kNsPerSec),
                       act("b", SetAttachMode{"eth1", AttachMode::generic})});
  auto p1 = ex_->prepare(plan, snap);
  auto p2 = ex_->prepare(plan, snap);
  EXPECT_EQ(*p1.desired, *p2.desired);
  EXPECT_EQ(p1.intents.size(), 2u);
  EXPECT_TRUE(p1.changed);
  EXPECT_TRUE(ex_->desired().ifaces.at("eth0").rules.empty());
  EXPECT_EQ(fake_->converges, 0);
  ex_->apply(p1);
  EXPECT_EQ(fake_->kernel["eth1"].mode, AttachMode::generic);
  EXPECT_EQ(ex_->desired(), *p1.desired);
}

TEST_F(ExecutorTest, AggregationReplacesHostRulesWithinTheGuardrails) {
  std::vector<Action> blocks;
  for (int i = 1; i <= 20; ++i)
    blocks.push_back(act("b/" + std::to_string(i), BlockPrefix{"eth0", P(("10.1.2." + std::to_string(i)).c_str()), {}},
                         (100 + i) * kNsPerSec));
  for (int i = 1; i <= 20; ++i)  // as many in a protected /24
    blocks.push_back(act("k/" + std::to_string(i), BlockPrefix{"eth0", P(("10.9.9." + std::to_string(i)).c_str()), {}}));
  for (int i = 1; i <= 3; ++i)  // too few to merge
    blocks.push_back(act("c/" + std::to_string(i), BlockPrefix{"eth0", P(("10.1.3." + std::to_string(i)).c_str()), {}}));
  w_.run(1, 100, 0, 0);
  tick(plan_of(blocks));
  ASSERT_EQ(fake_->kernel["eth0"].rules.size(), 43u);

  AggregateRules agg{"eth0", RuleVerb::drop, 24, 64, 16, {P("10.9.0.0/16")}};
  auto out = tick(plan_of({act("agg", agg)}));
  auto* a = find(out, "agg", OutcomeStatus::applied);
  ASSERT_NE(a, nullptr);
  const auto& rules = fake_->kernel["eth0"].rules;
  EXPECT_EQ(rules.size(), 1u + 20 + 3);
  const auto* cover = FakeActuator::find(fake_->kernel["eth0"], "10.1.2.0/24");
  ASSERT_NE(cover, nullptr);
  EXPECT_EQ(cover->verb, RuleVerb::drop);
  EXPECT_EQ(cover->absorbed.size(), 20u);
  EXPECT_EQ(cover->expires_ns, w_.t + 120 * kNsPerSec) << "as long as the longest host it replaced";
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "10.1.2.7"), nullptr);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "10.9.9.7"), nullptr) << "never_block range left alone";
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "10.1.3.1"), nullptr);
  ASSERT_EQ(last_.intents.size(), 1u);
  EXPECT_EQ(last_.intents[0].inverse.size(), 21u);  // 20 hosts back, the cover removed

  // A renewal of an absorbed host renews the cover instead of coming back.
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("r", BlockPrefix{"eth0", P("10.1.2.7"), {}}, 500 * kNsPerSec)}));
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "10.1.2.7"), nullptr);
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "10.1.2.0/24")->expires_ns, w_.t + 500 * kNsPerSec);
  // Unblocking every absorbed host takes the cover with the last one.
  std::vector<Action> unblocks;
  for (int i = 1; i <= 20; ++i)
    unblocks.push_back(act("u/" + std::to_string(i), Unblock{"eth0", P(("10.1.2." + std::to_string(i)).c_str()), {}}));
  w_.run(1, 100, 0, 0);
  tick(plan_of(unblocks));
  EXPECT_EQ(FakeActuator::find(fake_->kernel["eth0"], "10.1.2.0/24"), nullptr);
  EXPECT_EQ(fake_->kernel["eth0"].rules.size(), 23u);
}

TEST_F(ExecutorTest, AnAggregationThatHurtsIsRolledBackToTheHostRules) {
  std::vector<Action> blocks;
  for (int i = 1; i <= 16; ++i)
    blocks.push_back(act("b/" + std::to_string(i), BlockPrefix{"eth0", P(("10.1.2." + std::to_string(i)).c_str()), {}}));
  w_.run(1, 1000, 0, 0);
  tick(plan_of(blocks));
  w_.run(1, 1000, 0, 0);
  tick();
  w_.run(1, 1000, 0, 0);
  tick(plan_of({act("agg", AggregateRules{"eth0", RuleVerb::drop, 24, 64, 16, {}})}));
  EXPECT_EQ(fake_->kernel["eth0"].rules.size(), 1u);
  w_.run(3, 100, 0, 0);  // the cover took the bystanders in the /24 with it
  auto out = tick();
  ASSERT_NE(find(out, "agg", OutcomeStatus::rolled_back), nullptr);
  EXPECT_EQ(fake_->kernel["eth0"].rules.size(), 16u);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "10.1.2.16"), nullptr);
}

TEST_F(ExecutorTest, ReconcileHealsWhatChangedOutsideAndKeepsOthersRules) {
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("a", BlockPrefix{"eth0", P("192.0.2.1"), {}}), act("b", BlockPrefix{"eth0", P("192.0.2.2"), {}}),
                act("m", SetAttachMode{"eth0", AttachMode::generic})}));
  // From outside: one of our rules deleted, the link detached, an operator's rule added.
  auto& k = fake_->kernel["eth0"];
  k.rules.erase(k.rules.begin());
  k.attached = false;
  DesiredRule op;
  op.prefix = P("203.0.113.0/24");
  k.rules.insert(k.rules.begin(), op);
  auto out = ex_->reconcile(w_.t);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action_id, "reconcile:eth0");
  EXPECT_EQ(out[0].status, OutcomeStatus::applied);
  EXPECT_NE(out[0].detail.find("attach: link detached, healed"), std::string::npos) << out[0].detail;
  EXPECT_NE(out[0].detail.find("rules: 1 rule(s) missing"), std::string::npos) << out[0].detail;
  EXPECT_TRUE(k.attached);
  EXPECT_EQ(k.mode, AttachMode::generic);
  EXPECT_EQ(k.rules.size(), 3u) << "ours healed, the operator's kept";
  EXPECT_TRUE(ex_->reconcile(w_.t).empty()) << "a second reconcile finds nothing";
}

TEST_F(ExecutorTest, RestoreResumesTheDesiredState) {
  DesiredState s;
  s.version = 41;
  DesiredRule r;
  r.prefix = P("192.0.2.0/24");
  r.action_id = "old/0";
  s.ifaces["eth0"].rules = {r};
  ex_->restore(s, w_.t);
  EXPECT_EQ(ex_->desired().version, 41u);
  EXPECT_TRUE(ex_->desired().ifaces.count("eth1")) << "a configured interface the state lacked";
  auto out = ex_->reconcile(w_.t);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "192.0.2.0/24"), nullptr);
}

// ---- RuleBatch: many rules as one action ----

std::vector<Prefix> hosts(const char* net24, int from, int to) {
  std::vector<Prefix> out;
  for (int i = from; i <= to; ++i) out.push_back(P((std::string(net24) + std::to_string(i)).c_str()));
  return out;
}

TEST_F(ExecutorTest, ARuleBatchIsOneActionOneOutcomeWithACheapInverse) {
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("before/0", RateLimitPrefix{"eth0", P("192.0.2.5"), 100, 0, {}}),
                act("before/1", ShadowPrefix{"eth0", P("192.0.2.6"), {}})}));
  const auto before = ex_->desired().ifaces.at("eth0").rules;
  RuleBatch b{"eth0", hosts("192.0.2.", 1, 100), {}};
  b.prefixes.push_back(P("192.0.2.7"));  // a repeat is one key
  w_.run(1, 100, 0, 0);
  auto out = tick(plan_of({act("batch", b, 60 * kNsPerSec)}));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].action_id, "batch");
  EXPECT_EQ(out[0].status, OutcomeStatus::applied);
  const auto& k = fake_->kernel["eth0"].rules;
  ASSERT_EQ(k.size(), 100u);
  for (const auto& r : k) {
    EXPECT_EQ(r.verb, RuleVerb::drop) << r.prefix.to_string();
    EXPECT_EQ(r.expires_ns, w_.t + 60 * kNsPerSec);
    EXPECT_EQ(r.action_id, "batch");
  }
  EXPECT_TRUE(fake_->kernel["eth1"].rules.empty());
  // One intent; its inverse: the 98 new keys go, the two rules there come back.
  ASSERT_EQ(last_.intents.size(), 1u);
  const auto& inv = last_.intents[0].inverse;
  ASSERT_EQ(inv.size(), 3u);
  const auto& fresh = std::get<RuleBatch>(inv[0]);
  EXPECT_TRUE(fresh.remove);
  EXPECT_EQ(fresh.prefixes.size(), 98u);
  EXPECT_FALSE(std::binary_search(fresh.prefixes.begin(), fresh.prefixes.end(), P("192.0.2.5")));
  std::vector<RuleBatch> back = {std::get<RuleBatch>(inv[1]), std::get<RuleBatch>(inv[2])};
  std::sort(back.begin(), back.end(), [](const auto& x, const auto& y) { return x.verb < y.verb; });
  EXPECT_EQ(back[0].verb, RuleVerb::rate_limit);
  EXPECT_EQ(back[0].pps, 100u);
  EXPECT_EQ(back[0].prefixes, std::vector<Prefix>{P("192.0.2.5")});
  EXPECT_EQ(back[1].verb, RuleVerb::shadow);
  EXPECT_EQ(back[1].prefixes, std::vector<Prefix>{P("192.0.2.6")});
  ASSERT_EQ(last_.checks.size(), 1u);
  EXPECT_TRUE(last_.checks[0].rules.empty()) << "one pre-image list, not a RuleBefore per key";

  // The inverse, applied as a plan, gives back exactly what was there.
  std::vector<Action> undo;
  for (std::size_t i = 0; i < inv.size(); ++i) undo.push_back(act("undo/" + std::to_string(i), inv[i]));
  w_.run(1, 100, 0, 0);
  out = tick(plan_of(undo));
  const auto& after = ex_->desired().ifaces.at("eth0").rules;
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].prefix, before[i].prefix);
    EXPECT_EQ(after[i].verb, before[i].verb);
    EXPECT_EQ(after[i].pps, before[i].pps);
  }
}

TEST_F(ExecutorTest, ARuleBatchIsVerifiedWhenItsRulesAreInForce) {
  RuleBatch b{"eth0", hosts("198.51.100.", 1, 50), {}};
  w_.run(1, 1000, 0, 0);
  tick(plan_of({act("batch", b)}));
  w_.rules["eth0"] = 50;
  w_.run(3, 1000, 0, 0);
  auto out = tick();
  auto* v = find(out, "batch", OutcomeStatus::verified);
  ASSERT_NE(v, nullptr);
  EXPECT_EQ(v->detail, "the batch's 50 rules are in force");
}

TEST_F(ExecutorTest, ARuleBatchNotInForceIsRolledBackToExactlyWhatWasThere) {
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("before/0", RateLimitPrefix{"eth0", P("203.0.113.9"), 250, 20, {}}, 300 * kNsPerSec)}));
  const auto before = ex_->desired().ifaces.at("eth0").rules;
  const auto kernel_before = fake_->kernel["eth0"].rules;
  tick(plan_of({act("batch", RuleBatch{"eth0", hosts("203.0.113.", 1, 20), {}})}));
  EXPECT_EQ(fake_->kernel["eth0"].rules.size(), 20u);
  w_.rules["eth0"] = 3;  // the Monitor never sees them
  std::vector<Outcome> out;
  for (int i = 0; i < 6 && !find(out, "batch", OutcomeStatus::rolled_back); ++i) {
    w_.run(2, 100, 0, 0);
    out = tick();
  }
  auto* rb = find(out, "batch", OutcomeStatus::rolled_back);
  ASSERT_NE(rb, nullptr);
  EXPECT_NE(rb->detail.find("3 rules in force, fewer than the batch's 20"), std::string::npos) << rb->detail;
  EXPECT_EQ(ex_->desired().ifaces.at("eth0").rules, before) << "the rate limit is back with its own expiry and id";
  EXPECT_EQ(fake_->kernel["eth0"].rules, kernel_before);
}

TEST_F(ExecutorTest, ARemovalBatchRemovesItsKeysEverywhereLeavesOthersRulesAndSkipsWhenNothingIsThere) {
  fake_->kernel["eth0"].rules.push_back(DesiredRule{P("192.0.2.200"), {}, RuleVerb::allow});  // an operator's, not ours
  w_.run(1, 100, 0, 0);
  tick(plan_of({act("b", RuleBatch{"", hosts("192.0.2.", 1, 10), {}})}));
  EXPECT_EQ(ex_->desired().ifaces.at("eth1").rules.size(), 10u);
  RuleBatch rm{"", hosts("192.0.2.", 1, 5), {}};
  rm.remove = true;
  auto out = tick(plan_of({act("rm", rm)}));
  ASSERT_NE(find(out, "rm", OutcomeStatus::applied), nullptr);
  EXPECT_EQ(ex_->desired().ifaces.at("eth0").rules.size(), 5u);
  EXPECT_EQ(ex_->desired().ifaces.at("eth1").rules.size(), 5u);
  EXPECT_NE(FakeActuator::find(fake_->kernel["eth0"], "192.0.2.200"), nullptr);
  EXPECT_TRUE(last_.checks.empty() || last_.checks[0].deadline_ns == 0) << "a removal has no post-condition";
  out = tick(plan_of({act("rm2", rm)}));
  auto* sk = find(out, "rm2", OutcomeStatus::skipped);
  ASSERT_NE(sk, nullptr);
  EXPECT_EQ(sk->detail, "none of the batch's 5 keys holds a rule");
}

TEST_F(ExecutorTest, ARuleBatchIsWholeOrNothing) {
  // Too many for the table: refused, nothing of it anywhere.
  {
    std::vector<ActuatorPtr> acts;
    acts.push_back(std::make_unique<FakeActuator>());
    ExecutorConfig cfg;
    cfg.ifaces = {"eth0", "eth1"};
    cfg.max_rules = 30;
    Executor ex(cfg, std::move(acts));
    auto p = ex.prepare(plan_of({act("small", BlockPrefix{"eth1", P("192.0.2.250"), {}}),
                                 act("big", RuleBatch{"", hosts("192.0.2.", 1, 30), {}})}),
                        w_.snap());
    ASSERT_EQ(p.outcomes.size(), 1u);
    EXPECT_EQ(p.outcomes[0].action_id, "big");
    EXPECT_NE(p.outcomes[0].error.find("eth1: the rule table is full"), std::string::npos) << p.outcomes[0].error;
    EXPECT_TRUE(p.desired->ifaces.at("eth0").rules.empty());
    EXPECT_EQ(p.desired->ifaces.at("eth1").rules.size(), 1u);
  }
  // A kernel failure on one interface takes it back on the other.
  fake_->fail[{"eth1", Facet::rules}] = make_error("create map rules: Cannot allocate memory", "free memory", ENOMEM);
  w_.run(1, 100, 0, 0);
  auto out = tick(plan_of({act("big", RuleBatch{"", hosts("192.0.2.", 1, 30), {}})}));
  ASSERT_NE(find(out, "big", OutcomeStatus::failed), nullptr);
  EXPECT_TRUE(fake_->kernel["eth0"].rules.empty());
  EXPECT_TRUE(ex_->desired().ifaces.at("eth0").rules.empty());
  // Bad rules are refused before anything is touched.
  RuleBatch allow{"eth0", hosts("192.0.2.", 1, 2), {}, RuleVerb::allow};
  RuleBatch icmp{"eth0", hosts("192.0.2.", 1, 2), L4Match{1, 80}};
  out = tick(plan_of({act("allow", allow), act("icmp", icmp), act("empty", RuleBatch{"eth0", {}, {}})}));
  EXPECT_NE(find(out, "allow", OutcomeStatus::failed), nullptr);
  auto* f = find(out, "icmp", OutcomeStatus::failed);
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->error.find("has no ports"), std::string::npos) << f->error;
  EXPECT_NE(find(out, "empty", OutcomeStatus::failed), nullptr);
}

}  // namespace
}  // namespace reflex::execute
