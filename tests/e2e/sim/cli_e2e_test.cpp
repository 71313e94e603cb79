// The reflex-sim command as a user runs it: the report folder, the page
// opened in a real headless browser, Ctrl-C in the middle of an attack, and
// the message for a user without root.
#include "tests/e2e/sim/sim_fixture.h"
#include "tests/support/kernel_env.h"
#include "tests/unit/sim/png_probe.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::sim {
namespace {

using testing::scratch_dir;

std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string write_scenario(const std::string& dir, const std::string& duration) {
  std::string path = dir + "/short.yaml";
  std::ofstream(path) << "name: short\ndescription: a short flood for the command's tests\nduration: " << duration
                      << "\nsettle_max: 6s\nthreshold: {pps: 5000, ttl: 1s}\ntraffic:\n"
                         "  - {name: clients, class: benign, kind: udp, sources: 100.64.1.0/24, count: 10, pps: 500}\n"
                         "  - {name: flood, class: attack, kind: udp, sources: 203.0.113.9/32, count: 1, pps: 20000, "
                         "from: 1s, until: 3s}\n";
  chmod(path.c_str(), 0644);
  chmod(dir.c_str(), 0755);
  return path;
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // stdout and stderr
};

Child spawn(const std::vector<std::string>& argv) {
  int p[2];
  EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
  Child c;
  c.pid = fork();
  if (c.pid == 0) {
    dup2(p[1], 1);
    dup2(p[1], 2);
    std::vector<char*> a;
    for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
    a.push_back(nullptr);
    execvp(a[0], a.data());
    _exit(127);
  }
  close(p[1]);
  c.out = p[0];
  return c;
}

// Reads the child's output until `want` shows up or the deadline passes.
bool read_until(const Child& c, std::string& seen, const std::string& want, std::chrono::seconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (seen.find(want) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    pollfd pfd{c.out, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left)) <= 0) return false;
    ssize_t n = read(c.out, buf, sizeof(buf));
    if (n <= 0) return seen.find(want) != std::string::npos;
    seen.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

int wait_exit(Child& c, std::string& seen, std::chrono::seconds limit) {
  read_until(c, seen, "\x01never\x01", limit);  // drain to EOF (or the limit)
  int status = 0;
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (waitpid(c.pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > end) {
      kill(c.pid, SIGKILL);
      waitpid(c.pid, &status, 0);
      return -1;
    }
    usleep(20'000);  // the child is exiting; nothing to wait on but its pid
  }
  close(c.out);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(SimCli, RunWritesTheReportAndABrowserDrawsTheTimeline) {
  REFLEX_REQUIRE_BPF();
  std::string dir = scratch_dir("cli-report");
  std::string report = dir + "/report";
  auto c = spawn({REFLEX_SIM_BIN, "run", write_scenario(dir, "5s"), "--node", "threshold", "--node", "none", "--report",
                  report, "--pin-root", reflex::testing::test_pin_root() + "/cli"});
  std::string out;
  ASSERT_EQ(wait_exit(c, out, std::chrono::seconds(90)), 0) << out;
  EXPECT_NE(out.find("flood starts"), std::string::npos) << "the live timeline shows the attack: " << out;
  EXPECT_NE(out.find("action: block 203.0.113.9"), std::string::npos) << out;

  auto j = boost::json::parse(slurp(report + "/report.json")).as_object();
  EXPECT_EQ(j["node"].as_string(), "threshold");
  EXPECT_TRUE(j["compare"].as_object().contains("none"));
  EXPECT_FALSE(j["onset_to_drop_ms"].is_null());
  EXPECT_TRUE(j["compare"].as_object()["none"].as_object()["onset_to_drop_ms"].is_null());
  for (const char* f : {"timeline.svg", "timeline.png", "report.html"})
    EXPECT_GT(std::filesystem::file_size(report + "/" + f), 1000u) << f;

  // A real browser opens the page (offline: no network flags) and draws it.
  std::string shot = dir + "/screenshot.png", profile = scratch_dir("chromium-profile");
  auto b = spawn({"timeout", "90", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--user-data-dir=" + profile, "--screenshot=" + shot, "--window-size=1400,1000",
                  "file://" + report + "/report.html"});
  std::string bout;
  EXPECT_EQ(wait_exit(b, bout, std::chrono::seconds(100)), 0) << bout;
  auto red = testing::count_colour(shot, 0xd62728, 12);
  ASSERT_GE(red.pixels, 0) << "no screenshot: " << bout;
  EXPECT_EQ(red.width, 1400);
  EXPECT_GT(red.pixels, 150) << "the attack series is drawn in the page";
  EXPECT_GT(testing::count_colour(shot, 0x2ca02c, 12).pixels, 150) << "the benign series is drawn in the page";
  EXPECT_GT(testing::count_colour(shot, 0x1f77b4, 12).pixels, 10) << "the action marker is drawn in the page";
}

TEST(SimCli, CtrlCDuringTheAttackLeavesTheHostAsItWas) {
  REFLEX_REQUIRE_BPF();
  std::string dir = scratch_dir("cli-sigint");
  auto c = spawn({REFLEX_SIM_BIN, "run", write_scenario(dir, "30s"), "--node", "threshold", "--report", dir + "/report"});
  std::string out;
  ASSERT_TRUE(read_until(c, out, "block 203.0.113.9", std::chrono::seconds(30))) << out;
  // The guard is loaded, a rule is in force, the namespaces exist.
  EXPECT_FALSE(testing::leftover_namespaces(c.pid).empty());
  std::string pins = "/sys/fs/bpf/reflex-sim-" + std::to_string(c.pid);
  EXPECT_TRUE(std::filesystem::exists(pins));
  kill(c.pid, SIGINT);
  EXPECT_EQ(wait_exit(c, out, std::chrono::seconds(30)), 130) << out;
  EXPECT_NE(out.find("cleaning up"), std::string::npos) << out;
  EXPECT_TRUE(testing::leftover_namespaces(c.pid).empty()) << "namespaces left after Ctrl-C";
  EXPECT_FALSE(std::filesystem::exists(pins)) << "pins left after Ctrl-C";
  auto j = boost::json::parse(slurp(dir + "/report/report.json")).as_object();
  EXPECT_TRUE(j["all_runs"].as_array()[0].as_object()["interrupted"].as_bool()) << "the partial report says so";
}

TEST(SimCli, WithoutRootItSaysWhatIsMissingAndHowToGetIt) {
  REFLEX_REQUIRE_BPF();
  std::string dir = scratch_dir("cli-nobody");
  auto c = spawn({"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all", REFLEX_SIM_BIN,
                  "run", write_scenario(dir, "5s"), "--node", "none"});
  std::string out;
  EXPECT_EQ(wait_exit(c, out, std::chrono::seconds(30)), 77) << out;
  EXPECT_NE(out.find("not root"), std::string::npos) << out;
  EXPECT_NE(out.find("CAP_NET_ADMIN"), std::string::npos) << out;
  EXPECT_NE(out.find("CAP_BPF"), std::string::npos) << out;
  EXPECT_NE(out.find("sudo"), std::string::npos) << out;
  EXPECT_TRUE(testing::leftover_namespaces(c.pid).empty());
}

}  // namespace
}  // namespace reflex::sim
