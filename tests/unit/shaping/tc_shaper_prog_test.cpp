// bpf/tc_shaper.bpf.c run in the kernel on built packets (BPF_PROG_TEST_RUN),
// as tables: which destinations the classifier maps to which htb class
// (longest prefix wins, IPv4 and IPv6 in one trie, everything else untouched),
// and the policer's bucket.
#include <bpf/bpf.h>
#include <gtest/gtest.h>

#include "execute/shaping/shape_tree.h"
#include "execute/shaping/trie_key.h"
#include "sim/packet.h"
#include "tc_shaper.skel.h"
#include "tests/support/kernel_env.h"

using namespace reflex;
using namespace reflex::execute::shaping;

namespace {

constexpr std::uint32_t kUntouched = 7;  // the priority a packet comes with
constexpr std::uint32_t kTcxNext = static_cast<std::uint32_t>(-1);

struct ProgRun {
  std::uint32_t retval = 0, priority = 0;
};

class TcShaperProg : public ::testing::Test {
 protected:
  void SetUp() override {
    REFLEX_REQUIRE_BPF();
    skel_ = tc_shaper__open_and_load();
    ASSERT_NE(skel_, nullptr) << "load tc_shaper: " << errno;
  }
  void TearDown() override {
    if (skel_) tc_shaper__destroy(skel_);
  }
  void classify(const char* prefix, std::uint32_t classid, std::uint32_t slot = 0) {
    tc_shaper_key k = trie_key(*Prefix::parse(prefix));
    tc_shaper_class v{classid, slot};
    ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.shaper_prefixes), &k, &v, BPF_ANY), 0);
  }
  ProgRun run(bpf_program* prog, const std::vector<std::uint8_t>& pkt) {
    __sk_buff in{}, out{};
    in.priority = kUntouched;
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = pkt.data(),
                .data_size_in = static_cast<std::uint32_t>(pkt.size()), .ctx_in = &in, .ctx_out = &out,
                .ctx_size_in = sizeof in, .ctx_size_out = sizeof out);
    EXPECT_EQ(bpf_prog_test_run_opts(bpf_program__fd(prog), &opts), 0) << errno;
    return {opts.retval, out.priority};
  }
  tc_shaper* skel_ = nullptr;
};

std::vector<std::uint8_t> udp4(const char* dst, std::size_t payload = 32) {
  return sim::PacketBuilder().ipv4("192.0.2.1", dst).udp(1000, 2000).payload(payload).build();
}
std::vector<std::uint8_t> udp6(const char* dst) {
  return sim::PacketBuilder().ipv6("2001:db8:ffff::1", dst).udp(1000, 2000).payload(32).build();
}

}  // namespace

TEST_F(TcShaperProg, ClassifiesByLongestDestinationPrefix) {
  const std::uint32_t wide = tc_handle(kMajor, 0x10), narrow = tc_handle(kMajor, 0x11),
                      v6 = tc_handle(kMajor, 0x12), host = tc_handle(kMajor, 0x13);
  classify("10.1.0.0/16", wide);
  classify("10.1.2.0/24", narrow);
  classify("2001:db8::/32", v6);
  classify("2001:db8:1::7", host);
  struct Case {
    const char* what;
    std::vector<std::uint8_t> pkt;
    std::uint32_t priority;
  } cases[] = {
      {"v4 in the /16", udp4("10.1.9.9"), wide},
      {"v4 in the /24 inside it", udp4("10.1.2.3"), narrow},
      {"v4 elsewhere", udp4("10.2.0.1"), kUntouched},
      {"v6 in the /32", udp6("2001:db8:5::1"), v6},
      {"v6 host route", udp6("2001:db8:1::7"), host},
      {"v6 elsewhere", udp6("2001:db9::1"), kUntouched},
      // 10.1.x.x's bytes as the top of an IPv6 address: the family byte keeps them apart.
      {"v6 whose first bytes are 10.1", udp6("a01:200::1"), kUntouched},
      {"ARP", sim::PacketBuilder().ethertype(0x0806).payload(28).build(), kUntouched},
      // (A truncated IP header cannot be fed in: the kernel's test run refuses one.)
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    ProgRun r = run(skel_->progs.tc_shaper_classify, c.pkt);
    EXPECT_EQ(r.retval, kTcxNext) << c.what;  // never a verdict of its own
    EXPECT_EQ(r.priority, c.priority) << c.what;
  }
}

TEST_F(TcShaperProg, PolicerPassesItsBurstThenDrops) {
  // 1000 bytes/s with a 3100-byte bucket: three 1000-byte frames pass at once,
  // the fourth finds the bucket empty (the refill in between is a fraction of a byte).
  tc_shaper_policer_cfg cfg{1000, 3100};
  std::uint32_t slot = 1;
  classify("10.1.0.0/16", 0, slot);
  ASSERT_EQ(bpf_map_update_elem(bpf_map__fd(skel_->maps.policer_cfg), &slot, &cfg, BPF_ANY), 0);
  auto pkt = udp4("10.1.2.3", 1000 - 42);
  ASSERT_EQ(pkt.size(), 1000u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run(skel_->progs.tc_shaper_police, pkt).retval, kTcxNext) << i;
  EXPECT_EQ(run(skel_->progs.tc_shaper_police, pkt).retval, 2u);  // TCX_DROP
  // Slot 0 (the whole interface) has no rate: other destinations pass.
  EXPECT_EQ(run(skel_->progs.tc_shaper_police, udp4("10.9.9.9", 1000 - 42)).retval, kTcxNext);
}
