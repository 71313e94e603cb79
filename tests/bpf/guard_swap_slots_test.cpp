// A whole-set swap's slot writes and the retired generation's fate: a small
// one stays in the idle slots until it is released (or overwritten, or the
// Guard ends), a large one is freed by the swap itself.
#include "guard/guard.h"
#include "guard/rule_text.h"
#include "guard/test_run.h"
#include "sim/packet.h"
#include "tests/support/detached_guard.h"

#include <gtest/gtest.h>
#include <fcntl.h>

#include <string>

using namespace reflex;
using namespace reflex::guard;

namespace {

constexpr std::uint32_t kDrop = 1, kPass = 2;

class GuardSwapSlots : public reflex::testing::DetachedGuardTest {
 protected:
  std::vector<GuardRule> hosts(int first, int n) {
    std::string text;
    for (int i = first; i < first + n; ++i) text += "10.7." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + " drop\n";
    auto r = parse_rules(text, "t", boottime_ns());
    EXPECT_TRUE(r) << r.error().message();
    return r ? *r : std::vector<GuardRule>{};
  }
  std::uint32_t verdict(const std::string& src) {
    sim::PacketBuilder b;
    b.ipv4(src, "10.99.0.1");
    auto r = test_run(g().xdp_prog_fd(), b.udp(1000, 53).build());
    EXPECT_TRUE(r);
    return r ? r->retval : 0;
  }
  std::uint32_t standby() const { return (__atomic_load_n(&guard_->ctl().gen, __ATOMIC_ACQUIRE) & 1) ^ 1; }
  // How many of the idle generation's six slots hold a table.
  static int filled(const int* outer_fds, std::uint32_t slot) {
    int n = 0;
    for (int i = 0; i < Guard::kOuterCount; ++i) {
      auto inner = inner_map(outer_fds[i], slot);
      EXPECT_TRUE(inner);
      n += inner && inner->valid();
    }
    return n;
  }
  int filled_standby() {
    int fds[Guard::kOuterCount];
    for (int i = 0; i < Guard::kOuterCount; ++i) fds[i] = g().map_fd(static_cast<Guard::MapId>(Guard::kOuterFirst + i));
    return filled(fds, standby());
  }
};

TEST_F(GuardSwapSlots, SmallRetiredGenerationWaitsInTheIdleSlotsUntilReleased) {
  ASSERT_TRUE(g().replace(hosts(0, 100)));
  auto rep = g().replace(hosts(1, 100));  // 10.7.0.1 leaves, 10.7.0.101 arrives
  ASSERT_TRUE(rep) << rep.error().message();
  // Host rules: the rules array, its counters and the exact-match hash.
  EXPECT_EQ(rep->slot_writes, 3u);
  EXPECT_TRUE(rep->retire_deferred);
  EXPECT_EQ(filled_standby(), 3);  // the retired generation, still there
  EXPECT_EQ(verdict("10.7.0.1"), kPass);
  EXPECT_EQ(verdict("10.7.0.101"), kDrop);

  ASSERT_TRUE(g().release_retired());
  EXPECT_EQ(filled_standby(), 0);
  EXPECT_EQ(verdict("10.7.0.101"), kDrop);  // the live generation untouched
  ASSERT_TRUE(g().release_retired());        // nothing left to do
  EXPECT_EQ(g().rule_count(), 100u);
}

TEST_F(GuardSwapSlots, NextSwapOverwritesTheRetiredGenerationAndTheGuardsEndFreesIt) {
  ASSERT_TRUE(g().replace(hosts(0, 100)));
  ASSERT_TRUE(g().replace(hosts(1, 100)));
  auto rep = g().replace(hosts(2, 100));  // written over the retired slots
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_EQ(rep->slot_writes, 3u);
  EXPECT_EQ(verdict("10.7.0.2"), kPass);
  EXPECT_EQ(verdict("10.7.0.102"), kDrop);
  EXPECT_EQ(filled_standby(), 3);

  // Keep the outer maps alive past the Guard, to look at them afterwards.
  int fds[Guard::kOuterCount];
  for (int i = 0; i < Guard::kOuterCount; ++i)
    fds[i] = fcntl(g().map_fd(static_cast<Guard::MapId>(Guard::kOuterFirst + i)), F_DUPFD_CLOEXEC, 3);
  const std::uint32_t idle = standby();
  guard_.reset();
  EXPECT_EQ(filled(fds, idle), 0);
  EXPECT_EQ(filled(fds, idle ^ 1), 3);  // the live generation stays: the guard keeps enforcing
  for (int fd : fds) ::close(fd);
}

TEST_F(GuardSwapSlots, LargeRetiredGenerationIsFreedByTheSwap) {
  // 20,000 /24s in as many /16s: 20,000 DIR chunks of 1 KiB, over the
  // 16 MiB a swap leaves for later.
  std::string text;
  for (int i = 0; i < 20000; ++i) text += std::to_string(11 + i / 256) + "." + std::to_string(i % 256) + ".5.0/24 drop\n";
  auto big = parse_rules(text, "t", boottime_ns());
  ASSERT_TRUE(big) << big.error().message();
  ASSERT_TRUE(g().replace(*big));
  auto rep = g().replace(hosts(0, 10));
  ASSERT_TRUE(rep) << rep.error().message();
  EXPECT_FALSE(rep->retire_deferred);
  EXPECT_EQ(filled_standby(), 0);
  EXPECT_EQ(verdict("11.0.5.1"), kPass);
  EXPECT_EQ(verdict("10.7.0.1"), kDrop);
}

}  // namespace
