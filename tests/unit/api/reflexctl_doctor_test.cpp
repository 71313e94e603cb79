// `reflexctl doctor` on this machine (root, Linux 6.18 with BTF): every check
// passes, attach modes are probed on an interface named IF@NETNS (a veth the
// test makes in its own namespaces), and a missing interface fails with the fix
// and exit code 1. The binary is run as an operator runs it.

#include "sim/netns.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <array>
#include <cstdio>
#include <map>
#include <sstream>
#include <sys/wait.h>

namespace reflex::ctl {
namespace {

namespace json = boost::json;

struct Doctor {
  int exit = -1;
  std::map<std::string, json::object> checks;  // by name
};

Doctor run_doctor(const std::string& args) {
  // popen: the command line is ours, fixed; stdout holds one JSON object a line.
  const std::string cmd = std::string(REFLEXCTL_BIN) + " doctor --json " + args + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  EXPECT_NE(p, nullptr);
  Doctor d;
  if (!p) return d;
  std::string text;
  std::array<char, 4096> buf{};
  while (std::size_t n = std::fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
  const int status = ::pclose(p);
  d.exit = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    boost::system::error_code ec;
    auto v = json::parse(line, ec);
    EXPECT_FALSE(ec) << "not a JSON line: " << line;
    if (ec || !v.is_object()) continue;
    auto& o = v.as_object();
    for (const char* k : {"check", "result", "detail", "fix"}) EXPECT_TRUE(o.contains(k)) << k << " in " << line;
    d.checks[std::string(o.at("check").as_string())] = o;
  }
  return d;
}

TEST(ReflexctlDoctor, EveryCheckPassesHereAndAttachModesAreProbedInANamespace) {
  auto a = sim::NetNs::create(sim::unique_name("rfxdt"));
  ASSERT_TRUE(a) << a.error().message();
  auto b = sim::NetNs::create(sim::unique_name("rfxdt"));
  ASSERT_TRUE(b) << b.error().message();
  ASSERT_TRUE(sim::make_veth(*a, *b, {"rfxdt0", "rfxdt1", "10.252.0.1/30", "10.252.0.2/30", {}}));

  const std::string key = "rfxdt0@" + a->name();
  const auto d = run_doctor("--no-veth --iface " + key);
  EXPECT_EQ(d.exit, 0);
  for (const char* c : {"kernel", "btf", "bpffs", "cap_bpf", "cap_net_admin", "cap_perfmon", "bpf_prog_load", "ringbuf",
                        "maps", "tracepoint kfree_skb", "tracepoint tcp_retransmit_skb"}) {
    ASSERT_TRUE(d.checks.count(c)) << c;
    EXPECT_EQ(d.checks.at(c).at("result"), "ok") << c << ": " << json::serialize(d.checks.at(c));
  }
  for (const char* mode : {"native", "generic", "tc"}) {
    const std::string name = "attach " + key + " " + mode;
    ASSERT_TRUE(d.checks.count(name)) << name;
    EXPECT_EQ(d.checks.at(name).at("result"), "ok") << json::serialize(d.checks.at(name));
  }
}

TEST(ReflexctlDoctor, AMissingInterfaceFailsWithTheFix) {
  const auto d = run_doctor("--no-veth --iface rfxnosuch0");
  EXPECT_EQ(d.exit, 1);
  ASSERT_TRUE(d.checks.count("attach rfxnosuch0"));
  const auto& c = d.checks.at("attach rfxnosuch0");
  EXPECT_EQ(c.at("result"), "fail");
  EXPECT_NE(std::string(c.at("fix").as_string()).find("ip link"), std::string::npos) << json::serialize(c);
}

}  // namespace
}  // namespace reflex::ctl
