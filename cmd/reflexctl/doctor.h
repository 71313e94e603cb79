#pragma once
// `reflexctl doctor`: checks this machine for what reflexd needs, each with
// the fix when it fails. The checks are real, not guesses from version
// numbers: a BPF program is loaded, maps of each kind reflex uses are made,
// every raw tracepoint reflex attaches to is attached to (with a program that
// does nothing), and each attach mode is tried with an XDP_PASS / tcx-next
// program that is detached again at once:
//   - on a throwaway veth pair in a namespace doctor creates and deletes
//     (what this kernel can do), and
//   - on each interface given (--iface, or those in the daemon's config),
//     unless --no-attach. An interface that already has an XDP program (the
//     running daemon's guard, or someone else's) is not touched in the XDP
//     modes: doctor reports the program and mode it found. A native attach
//     may briefly reset the link on some NIC drivers; --no-attach avoids it.

#include <iosfwd>
#include <string>
#include <vector>

namespace reflex::ctl {

enum class CheckResult { ok, warn, fail, skip };

struct Check {
  std::string name;    // "kernel", "cap_bpf", "attach eth0 native", ...
  CheckResult result = CheckResult::ok;
  std::string detail;  // what was found
  std::string fix;     // for warn/fail: what to do
};

struct DoctorOptions {
  std::vector<std::string> ifaces;  // "eth0", "veth1@ns"
  bool attach = true;               // probe attach modes on those interfaces
  bool veth = true;                 // probe attach modes on a throwaway veth pair
  std::string pin_root = "/sys/fs/bpf/reflex";
};

std::vector<Check> run_doctor(const DoctorOptions& opts);

// Table (or JSON lines) to out; returns 1 if any check failed, else 0.
int print_doctor(const std::vector<Check>& checks, bool json, std::ostream& out);

std::string_view to_string(CheckResult r);

}  // namespace reflex::ctl
