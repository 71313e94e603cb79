// Kernel-side failures through the whole Execute path on the real guard:
// each is a failed Outcome that names the cause and the fix, nothing of the
// failed change is left half in, and what was in force before still is,
// checked with packets. (The interface deleted under the daemon and healed
// when it returns is execute_e2e_test's KernelFailuresAreOutcomesWithTheFix.)
// A program the verifier refuses is the test-only guard variant that reads a
// packet byte without a bounds check.

#include "tests/e2e/execute/execute_fixture.h"

#include "xdp_baseline.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>

#include <cstdio>
#include <memory>

using namespace reflex;
using namespace reflex::testing;

namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

// A rule table the operator filled from the command line: the executor
// counts only its own rules, so the limit is found where the rules go in.
TEST_F(ExecuteE2E, AFullRuleTableFailsThePlanWholeAndKeepsTheRulesInForce) {
  constexpr std::size_t kLimit = 8;
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native, {}, kLimit));
  tick(plan_of({act("b", BlockPrefix{key(), P(kA11), {}})}));
  for (int i = 1; i <= 5; ++i) {
    auto r = guard_cli({"block", "10.99.0." + std::to_string(i), "--iface", key()}, 5);
    ASSERT_EQ(r.exit_code, 0) << r.out;
  }
  ASSERT_EQ(g().rule_count(), 6u);
  const auto version = g().active_meta().version;

  // Three more: nine rules, one more than the table holds.
  auto out = tick(plan_of({act("c", BlockPrefix{key(), P(kA12), {}}), act("d", BlockPrefix{key(), P(kA21), {}}),
                           act("e", BlockPrefix{key(), P(kA22), {}})}));
  for (const char* id : {"c", "d", "e"}) {
    const Outcome* f = find(out, id, OutcomeStatus::failed);
    ASSERT_NE(f, nullptr) << id << " was not reported failed";
    EXPECT_NE(f->error.find("limit of " + std::to_string(kLimit)), std::string::npos) << f->error;
    EXPECT_NE(f->hint.find("raise the limit"), std::string::npos) << f->hint;
  }
  std::printf("failed: %s (%s)\n", find(out, "c", OutcomeStatus::failed)->error.c_str(),
              find(out, "c", OutcomeStatus::failed)->hint.c_str());
  EXPECT_EQ(g().active_meta().version, version) << "the rule set was touched";
  EXPECT_EQ(g().rule_count(), 6u) << "part of the plan went in";
  EXPECT_EQ(udp_round(kA11, 50), 0u) << "the daemon's earlier block is no longer enforced";
  EXPECT_EQ(udp_round(kA12, 50), 50u) << "a block of the failed plan is enforced";
  EXPECT_EQ(udp_round(kA21, 50), 50u);
  EXPECT_EQ(udp_round(kA, 50), 50u);
  EXPECT_EQ(ex_->desired().ifaces.at(key()).rules.size(), 1u) << "the desired state holds what failed";
  auto st = ex_->status(snapshot().ts_ns);
  ASSERT_EQ(st.ifaces.size(), 1u);
  EXPECT_FALSE(st.ifaces[0].healthy);
  EXPECT_NE(st.ifaces[0].error.find("limit"), std::string::npos) << st.ifaces[0].error;

  // Room again (the operator's rules go): the same plan goes in whole.
  for (int i = 1; i <= 5; ++i)
    ASSERT_EQ(guard_cli({"unblock", "10.99.0." + std::to_string(i), "--iface", key()}, 5).exit_code, 0);
  out = tick(plan_of({act("c", BlockPrefix{key(), P(kA12), {}}), act("d", BlockPrefix{key(), P(kA21), {}}),
                      act("e", BlockPrefix{key(), P(kA22), {}})}));
  for (const char* id : {"c", "d", "e"}) EXPECT_NE(find(out, id, OutcomeStatus::applied), nullptr) << id;
  EXPECT_EQ(udp_round(kA12, 50), 0u);
  EXPECT_EQ(udp_round(kA, 50), 50u);
}

// Somebody else's XDP program holds the interface (attached the old way,
// through netlink): the guard, in tc mode, cannot step up to native. The
// Outcome says why, the guard stays in tc and keeps enforcing, the other
// program stays.
TEST_F(ExecuteE2E, AnAttachTheKernelRefusesIsAnOutcomeAndTheGuardStaysWhereItWas) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::tc));
  ASSERT_EQ(g().mode(), AttachMode::tc);
  tick(plan_of({act("b", BlockPrefix{key(), P(kA11), {}})}));
  struct D {
    void operator()(xdp_baseline* s) const { xdp_baseline__destroy(s); }
  };
  std::unique_ptr<xdp_baseline, D> other(xdp_baseline__open_and_load());
  ASSERT_TRUE(other);
  const int other_fd = bpf_program__fd(other->progs.xdp_pass_all);
  int ifindex = 0;
  ASSERT_TRUE(b_->run([&] { ifindex = static_cast<int>(if_nametoindex(if_b_.c_str())); }));
  ASSERT_NE(ifindex, 0);
  ASSERT_TRUE(b_->run([&] { ASSERT_EQ(bpf_xdp_attach(ifindex, other_fd, XDP_FLAGS_DRV_MODE, nullptr), 0); }));
  struct Detach {  // the other program goes even if the test fails
    sim::NetNs* ns;
    int ifindex;
    ~Detach() {
      (void)ns->run([&] { (void)bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, nullptr); });
    }
  } detach{b_.get(), ifindex};
  std::uint32_t other_id = 0;
  ASSERT_TRUE(b_->run([&] { ASSERT_EQ(bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &other_id), 0); }));
  ASSERT_NE(other_id, 0u);

  auto out = tick(plan_of({act("m", SetAttachMode{key(), AttachMode::native})}));
  const Outcome* f = find(out, "m", OutcomeStatus::failed);
  ASSERT_NE(f, nullptr);
  std::printf("failed: %s (%s)\n", f->error.c_str(), f->hint.c_str());
  EXPECT_NE(f->error.find("native"), std::string::npos) << f->error;
  EXPECT_NE((f->error + f->hint).find("another XDP program"), std::string::npos) << f->error << " / " << f->hint;
  EXPECT_EQ(g().mode(), AttachMode::tc);
  EXPECT_TRUE(g().link()->attached);
  EXPECT_EQ(ex_->desired().ifaces.at(key()).mode, AttachMode::tc) << "the desired state keeps what is in force";
  std::uint32_t still = 0;
  ASSERT_TRUE(b_->run([&] { ASSERT_EQ(bpf_xdp_query_id(ifindex, XDP_FLAGS_DRV_MODE, &still), 0); }));
  EXPECT_EQ(still, other_id) << "the other program was touched";
  EXPECT_EQ(udp_round(kA11, 50), 0u) << "the guard stopped enforcing";
  EXPECT_EQ(udp_round(kA, 50), 50u);
}

// A swap to a program the verifier refuses: the Outcome carries the
// verifier's reason and the fix, the program that ran before is still the
// one attached, and it still enforces.
TEST_F(ExecuteE2E, AProgramTheVerifierRefusesIsAnOutcomeAndTheOldProgramKeepsEnforcing) {
  ASSERT_NO_FATAL_FAILURE(start(guard::LoadMode::native));
  tick(plan_of({act("b", BlockPrefix{key(), P(kA11), {}})}));
  ASSERT_EQ(udp_round(kA11, 50), 0u);
  auto before = g().link();
  ASSERT_TRUE(before && before->attached);

  auto out = tick(plan_of({act("s", SwapProgram{key(), guard::kProgramTestUnverifiable})}));
  const Outcome* f = find(out, "s", OutcomeStatus::failed);
  ASSERT_NE(f, nullptr) << "the swap was not reported failed";
  std::printf("failed: %s (%s)\n", f->error.c_str(), f->hint.c_str());
  EXPECT_NE(f->error.find("verifier refused xdp_guard"), std::string::npos) << f->error;
  EXPECT_NE(f->error.find("outside of the packet"), std::string::npos) << "not the verifier's reason: " << f->error;
  EXPECT_NE(f->hint.find("keeps running its current program"), std::string::npos) << f->hint;
  EXPECT_NE(f->hint.find("lean"), std::string::npos) << "the fix names no program to use: " << f->hint;

  auto after = g().link();
  ASSERT_TRUE(after && after->attached) << "the guard was detached";
  EXPECT_EQ(after->prog_id, before->prog_id) << "another program is attached";
  EXPECT_EQ(g().program_variant().value(), guard::kProgramDefault);
  EXPECT_EQ(ex_->desired().ifaces.at(key()).program, "") << "the desired state keeps what is in force";
  EXPECT_EQ(udp_round(kA11, 50), 0u) << "the old program stopped enforcing";
  EXPECT_EQ(udp_round(kA, 50), 50u);

  // A program the kernel takes still goes in afterwards, rules and all.
  out = tick(plan_of({act("l", SwapProgram{key(), guard::kProgramLean})}));
  EXPECT_NE(find(out, "l", OutcomeStatus::applied), nullptr);
  EXPECT_EQ(g().program_variant().value(), guard::kProgramLean);
  EXPECT_NE(g().link()->prog_id, before->prog_id);
  EXPECT_EQ(udp_round(kA11, 50), 0u);
  EXPECT_EQ(udp_round(kA, 50), 50u);
}

}  // namespace
