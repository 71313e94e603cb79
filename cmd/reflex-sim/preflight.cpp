#include "cmd/reflex-sim/preflight.h"

#include "guard/guard.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace reflex::cmd {

namespace {

std::uint64_t effective_caps() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  return 0;
}

bool on_path(const std::string& tool) {
  std::string path = getenv("PATH") ? getenv("PATH") : "/usr/sbin:/usr/bin:/sbin:/bin";
  std::stringstream ss(path);
  std::string dir;
  while (std::getline(ss, dir, ':'))
    if (access((dir + "/" + tool).c_str(), X_OK) == 0) return true;
  return false;
}

}  // namespace

std::string preflight(const std::string& pin_root, const std::vector<sim::NodeKind>& nodes, const std::string& reflexd) {
  std::string out;
  const std::uint64_t caps = effective_caps();
  struct Cap {
    int bit;
    const char* name;
    const char* why;
  };
  const Cap needed[] = {{12, "CAP_NET_ADMIN", "network namespaces, veth pairs, XDP attach, qdiscs"},
                        {21, "CAP_SYS_ADMIN", "entering the namespaces (setns) and mounting them"},
                        {13, "CAP_NET_RAW", "the traffic generator's packet sockets"},
                        {39, "CAP_BPF", "loading the guard and the victim's counters"}};
  std::string missing;
  for (const auto& c : needed)
    if (!(caps >> c.bit & 1)) missing += std::string("      ") + c.name + ": " + c.why + "\n";
  if (!missing.empty())
    out += std::string("  - ") + (geteuid() == 0 ? "root, but without" : "not root, and without") +
           " these capabilities:\n" + missing +
           "    Fix: run it as root, e.g. `sudo " + "build/cmd/reflex-sim/reflex-sim run sim/scenarios/flood.yaml`\n";
  for (const char* tool : {"ip", "tc", "bridge"})
    if (!on_path(tool))
      out += std::string("  - `") + tool + "` (iproute2) is not installed. Fix: scripts/install-deps.sh (or apt-get install iproute2)\n";
  if (missing.empty()) {
    guard::GuardOptions o;
    o.pin_root = pin_root;
    if (auto s = guard::Guard::check_bpffs(o); !s) out += "  - " + s.error().message() + "\n";
  }
  for (auto k : nodes)
    if (k == sim::NodeKind::reflex && access(reflexd.c_str(), X_OK) != 0)
      out += "  - the daemon " + reflexd + " is not there. Fix: scripts/build.sh, or --reflexd PATH, or --node none/threshold\n";
  if (out.empty()) return out;
  return "reflex-sim: cannot run the scenario here:\n" + out +
         "reflex-sim builds network namespaces and veth pairs and loads XDP programs; it changes nothing outside them.\n";
}

std::string host_description() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  utsname u{};
  uname(&u);
  return model + ", " + std::to_string(std::thread::hardware_concurrency()) + " CPUs, Linux " + u.release;
}

}  // namespace reflex::cmd
