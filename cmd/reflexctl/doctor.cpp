#include "cmd/reflexctl/doctor.h"

#include "cmd/reflexctl/table.h"
#include "common/fd.h"
#include "guard/attach.h"
#include "monitor/netns.h"
#include "sim/netns.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ostream>

namespace reflex::ctl {
namespace {

constexpr unsigned long kBpfFsMagic = 0xcafe4a11;
constexpr int kMinMajor = 5, kMinMinor = 9;  // bpf_link for XDP
constexpr int kTcxMajor = 6, kTcxMinor = 6;  // tcx links: the tc rung of the ladder

Check ok(std::string name, std::string detail) { return {std::move(name), CheckResult::ok, std::move(detail), ""}; }
Check bad(std::string name, CheckResult r, std::string detail, std::string fix) {
  return {std::move(name), r, std::move(detail), std::move(fix)};
}

std::string errno_text(int err) { return std::strerror(err); }

// A program that does nothing: r0 = ret; exit.
Fd load_trivial(bpf_prog_type type, int ret, bpf_attach_type expected, std::string* error) {
  const bpf_insn insns[] = {
      {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .src_reg = 0, .off = 0, .imm = ret},
      {.code = BPF_JMP | BPF_EXIT, .dst_reg = 0, .src_reg = 0, .off = 0, .imm = 0},
  };
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = expected);
  int fd = bpf_prog_load(type, "rfx_doctor", "GPL", insns, 2, &opts);
  if (fd < 0) {
    *error = errno_text(errno);
    return Fd();
  }
  return Fd(fd);
}

Check kernel_check() {
  utsname u{};
  ::uname(&u);
  int major = 0, minor = 0;
  std::sscanf(u.release, "%d.%d", &major, &minor);
  const std::string rel = u.release;
  auto at_least = [&](int ma, int mi) { return major > ma || (major == ma && minor >= mi); };
  if (!at_least(kMinMajor, kMinMinor))
    return bad("kernel", CheckResult::fail, "Linux " + rel,
               "reflex needs Linux 5.9 or newer (XDP through bpf_link); 6.6+ for the tc fallback");
  if (!at_least(kTcxMajor, kTcxMinor))
    return bad("kernel", CheckResult::warn, "Linux " + rel + ": no tcx, so no tc rung on the attach ladder",
               "Linux 6.6 or newer gives the native -> generic -> tc ladder its last rung");
  return ok("kernel", "Linux " + rel);
}

Check btf_check() {
  struct stat st {};
  if (::stat("/sys/kernel/btf/vmlinux", &st) != 0)
    return bad("btf", CheckResult::fail, "/sys/kernel/btf/vmlinux: " + errno_text(errno),
               "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (Debian's are)");
  return ok("btf", "/sys/kernel/btf/vmlinux, " + bytes_text(static_cast<double>(st.st_size)));
}

Check bpffs_check(const std::string& pin_root) {
  struct statfs fs {};
  if (::statfs("/sys/fs/bpf", &fs) != 0 || static_cast<unsigned long>(fs.f_type) != kBpfFsMagic)
    return bad("bpffs", CheckResult::fail, "/sys/fs/bpf is not a bpf filesystem",
               "mount -t bpf bpf /sys/fs/bpf (and add `bpf /sys/fs/bpf bpf defaults 0 0` to /etc/fstab)");
  struct stat st {};
  if (::stat(pin_root.c_str(), &st) == 0)
    return ok("bpffs", "/sys/fs/bpf mounted; " + pin_root + " exists (pins of a previous run are re-adopted)");
  return ok("bpffs", "/sys/fs/bpf mounted");
}

std::vector<Check> capability_checks() {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  std::vector<Check> out;
  if (::syscall(SYS_capget, &hdr, data) != 0) {
    out.push_back(bad("capabilities", CheckResult::fail, "capget: " + errno_text(errno), ""));
    return out;
  }
  auto has = [&](int cap) { return (data[cap / 32].effective >> (cap % 32)) & 1u; };
  struct Need {
    const char* name;
    int cap;
    CheckResult missing;
    const char* why;
  };
  const Need needs[] = {
      {"cap_bpf", CAP_BPF, CheckResult::fail, "load BPF programs and maps"},
      {"cap_net_admin", CAP_NET_ADMIN, CheckResult::fail, "attach XDP and tc programs, change qdiscs"},
      {"cap_perfmon", CAP_PERFMON, CheckResult::fail, "load the tracing probes (drop reasons, TCP RTT, retransmits)"},
      {"cap_sys_admin", CAP_SYS_ADMIN, CheckResult::warn,
       "enter other network namespaces (IF@NETNS) and turn on BPF run-time statistics"},
  };
  for (const auto& n : needs) {
    if (has(n.cap))
      out.push_back(ok(n.name, std::string("present: ") + n.why));
    else
      out.push_back(bad(n.name, n.missing, std::string("missing: needed to ") + n.why,
                        std::string("run reflexd as root, or grant it (systemd: AmbientCapabilities=") +
                            (n.cap == CAP_BPF ? "CAP_BPF" : n.cap == CAP_NET_ADMIN ? "CAP_NET_ADMIN"
                                                          : n.cap == CAP_PERFMON   ? "CAP_PERFMON"
                                                                                   : "CAP_SYS_ADMIN") +
                            "); packaging/systemd/reflexd.service does"));
  }
  return out;
}

std::vector<Check> bpf_feature_checks() {
  std::vector<Check> out;
  std::string err;
  if (auto p = load_trivial(BPF_PROG_TYPE_XDP, XDP_PASS, BPF_XDP, &err); p.valid())
    out.push_back(ok("bpf_prog_load", "an XDP program loads and passes the verifier"));
  else
    out.push_back(bad("bpf_prog_load", CheckResult::fail, "loading a trivial XDP program: " + err,
                      "run as root (CAP_BPF, CAP_NET_ADMIN); check kernel.unprivileged_bpf_disabled is not the cause"));

  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "rfx_doctor_rb", 0, 0, 4096, nullptr);
  if (fd >= 0) {
    ::close(fd);
    out.push_back(ok("ringbuf", "BPF ring buffers (sampled drop events)"));
  } else {
    out.push_back(bad("ringbuf", CheckResult::fail, "BPF_MAP_TYPE_RINGBUF: " + errno_text(errno),
                      "Linux 5.8+ with CAP_BPF; the guard's events need it"));
  }
  LIBBPF_OPTS(bpf_map_create_opts, mm, .map_flags = BPF_F_MMAPABLE);
  fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "rfx_doctor_mm", 4, 8, 1, &mm);
  if (fd >= 0) {
    LIBBPF_OPTS(bpf_map_create_opts, outer, .inner_map_fd = static_cast<__u32>(fd));
    int ofd = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "rfx_doctor_aom", 4, 4, 2, &outer);
    const int oerr = errno;
    ::close(fd);
    if (ofd >= 0) {
      ::close(ofd);
      out.push_back(ok("maps", "mmapable arrays and arrays of maps (the guard's atomic rule swaps)"));
    } else {
      out.push_back(bad("maps", CheckResult::fail, "BPF_MAP_TYPE_ARRAY_OF_MAPS: " + errno_text(oerr), ""));
    }
  } else {
    out.push_back(bad("maps", CheckResult::fail, "mmapable array: " + errno_text(errno),
                      "Linux 5.5+; the guard's rule tables are mmapable arrays"));
  }
  return out;
}

std::vector<Check> tracepoint_checks() {
  struct Tp {
    const char* name;
    const char* probe;
  };
  const Tp tps[] = {{"kfree_skb", "kernel drop reasons"},
                    {"tcp_probe", "TCP RTT"},
                    {"tcp_retransmit_skb", "TCP retransmits"}};
  std::vector<Check> out;
  std::string err;
  Fd prog = load_trivial(BPF_PROG_TYPE_RAW_TRACEPOINT, 0, static_cast<bpf_attach_type>(0), &err);
  for (const auto& tp : tps) {
    const std::string name = std::string("tracepoint ") + tp.name;
    if (!prog.valid()) {
      out.push_back(bad(name, CheckResult::fail, "cannot load a raw tracepoint program: " + err,
                        "run as root (CAP_BPF and CAP_PERFMON)"));
      continue;
    }
    int link = bpf_raw_tracepoint_open(tp.name, prog.get());
    if (link >= 0) {
      ::close(link);  // detaches
      out.push_back(ok(name, std::string("attachable: the ") + tp.probe + " probe works"));
    } else {
      out.push_back(bad(name, CheckResult::warn, std::string("raw_tp/") + tp.name + ": " + errno_text(errno),
                        std::string("the kernel lacks it; reflexd runs without the ") + tp.probe +
                            " probe and says so in /v1/state"));
    }
  }
  return out;
}

struct Programs {
  Fd xdp, tc;
  std::string error;
};

Programs trivial_programs() {
  Programs p;
  p.xdp = load_trivial(BPF_PROG_TYPE_XDP, XDP_PASS, BPF_XDP, &p.error);
  // tcx: TCX_NEXT (-1) hands the packet on, so a probe never changes traffic.
  std::string terr;
  p.tc = load_trivial(BPF_PROG_TYPE_SCHED_CLS, -1, static_cast<bpf_attach_type>(46), &terr);
  if (!p.tc.valid() && p.error.empty()) p.error = terr;
  return p;
}

// Tries each mode on one interface (in the calling thread's namespace).
void attach_checks(const std::string& key, const std::string& ifname, const Programs& progs, bool xdp_busy_ok,
                   std::vector<Check>& out) {
  const unsigned ifindex = ::if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    out.push_back(bad("attach " + key, CheckResult::fail, "no interface " + ifname + ": " + errno_text(errno),
                      "check the name (ip link); for another namespace write IF@NETNS"));
    return;
  }
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  std::string busy;
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &q) == 0 && q.prog_id != 0) {
    const char* mode = q.attach_mode == XDP_ATTACHED_DRV   ? "native"
                       : q.attach_mode == XDP_ATTACHED_SKB ? "generic"
                       : q.attach_mode == XDP_ATTACHED_HW  ? "offload"
                                                           : "multiple modes";
    busy = "XDP program id " + std::to_string(q.prog_id) + " is attached in " + mode + " mode";
  }
  for (AttachMode mode : {AttachMode::native, AttachMode::generic, AttachMode::tc}) {
    const std::string name = "attach " + key + " " + std::string(to_string(mode));
    if (mode != AttachMode::tc && !busy.empty()) {
      out.push_back({name, xdp_busy_ok ? CheckResult::skip : CheckResult::warn, busy + "; not probed",
                     xdp_busy_ok ? "" : "if it is not reflex's guard, reflexd will refuse to replace it"});
      continue;
    }
    if (!progs.xdp.valid() || !progs.tc.valid()) {
      out.push_back(bad(name, CheckResult::fail, "no probe program: " + progs.error, "run as root"));
      continue;
    }
    auto link = guard::attach_mode(mode, progs.xdp.get(), progs.tc.get(), static_cast<int>(ifindex), ifname);
    if (link) {
      out.push_back(ok(name, "attached and detached a pass-through program"));
      continue;  // the link fd closes here, which detaches it
    }
    const bool fatal_mode = mode == AttachMode::generic;  // generic works on any device: its failure is real trouble
    out.push_back(bad(name, fatal_mode ? CheckResult::fail : CheckResult::warn, link.error().what,
                      link.error().hint.empty() ? "reflexd steps down the ladder (native -> generic -> tc) by itself"
                                                : link.error().hint));
  }
}

void veth_checks(const Programs& progs, std::vector<Check>& out) {
  auto no_namespace = [&](const Error& e) {
    out.push_back(bad("attach veth (probe)", CheckResult::warn, "cannot make a throwaway namespace: " + e.message(),
                      "needs root and iproute2; the per-interface checks still say what works"));
  };
  auto ns_a = sim::NetNs::create(sim::unique_name("rfxdoc"));
  if (!ns_a) return no_namespace(ns_a.error());
  auto ns_b = sim::NetNs::create(sim::unique_name("rfxdoc"));
  if (!ns_b) return no_namespace(ns_b.error());
  if (auto st = sim::make_veth(*ns_a, *ns_b, {"rfxdoc0", "rfxdoc1", "10.251.0.1/30", "10.251.0.2/30", {}}); !st) {
    out.push_back(bad("attach veth (probe)", CheckResult::warn, st.error().message(), ""));
    return;
  }
  auto handle = monitor::open_netns(ns_a->name());
  if (!handle) {
    out.push_back(bad("attach veth (probe)", CheckResult::warn, handle.error().message(), ""));
    return;
  }
  std::vector<Check> found;
  auto st = monitor::run_in_netns(*handle, [&] { attach_checks("veth (probe)", "rfxdoc0", progs, false, found); });
  if (!st) found.push_back(bad("attach veth (probe)", CheckResult::warn, st.error().message(), ""));
  // A mode that fails on veth is the kernel's doing, not a driver's.
  for (auto& c : found) out.push_back(std::move(c));
}

}  // namespace

std::string_view to_string(CheckResult r) {
  switch (r) {
    case CheckResult::ok: return "ok";
    case CheckResult::warn: return "WARN";
    case CheckResult::fail: return "FAIL";
    case CheckResult::skip: return "skip";
  }
  return "?";
}

std::vector<Check> run_doctor(const DoctorOptions& opts) {
  libbpf_set_print(nullptr);  // its chatter would bury the table; each failure is reported below
  std::vector<Check> out;
  out.push_back(kernel_check());
  out.push_back(btf_check());
  out.push_back(bpffs_check(opts.pin_root));
  for (auto& c : capability_checks()) out.push_back(std::move(c));
  for (auto& c : bpf_feature_checks()) out.push_back(std::move(c));
  for (auto& c : tracepoint_checks()) out.push_back(std::move(c));

  Programs progs = trivial_programs();
  if (opts.veth) veth_checks(progs, out);
  for (const auto& key : opts.ifaces) {
    const auto at = key.find('@');
    const std::string ifname = key.substr(0, at);
    const std::string netns = at == std::string::npos ? "" : key.substr(at + 1);
    if (!opts.attach) {
      out.push_back({"attach " + key, CheckResult::skip, "--no-attach", ""});
      continue;
    }
    auto handle = monitor::open_netns(netns);
    if (!handle) {
      out.push_back(bad("attach " + key, CheckResult::fail, handle.error().what, handle.error().hint));
      continue;
    }
    std::vector<Check> found;
    auto st = monitor::run_in_netns(*handle, [&] { attach_checks(key, ifname, progs, true, found); });
    if (!st) found.push_back(bad("attach " + key, CheckResult::fail, st.error().what, st.error().hint));
    for (auto& c : found) out.push_back(std::move(c));
  }
  return out;
}

int print_doctor(const std::vector<Check>& checks, bool json, std::ostream& out) {
  bool failed = false;
  for (const auto& c : checks) failed |= c.result == CheckResult::fail;
  if (json) {
    for (const auto& c : checks) {
      boost::json::object o;
      o["check"] = c.name;
      o["result"] = c.result == CheckResult::ok     ? "ok"
                    : c.result == CheckResult::warn ? "warn"
                    : c.result == CheckResult::fail ? "fail"
                                                    : "skip";
      o["detail"] = c.detail;
      o["fix"] = c.fix;
      out << boost::json::serialize(o) << "\n";
    }
    return failed ? 1 : 0;
  }
  Table t({"CHECK", "RESULT", "DETAIL"});
  for (const auto& c : checks) t.add({c.name, std::string(to_string(c.result)), c.detail});
  out << t.render();
  bool header = false;
  for (const auto& c : checks) {
    if (c.fix.empty() || c.result == CheckResult::ok || c.result == CheckResult::skip) continue;
    if (!header) out << "\nFIXES\n";
    header = true;
    out << "  " << c.name << ": " << c.fix << "\n";
  }
  std::size_t fails = 0, warns = 0;
  for (const auto& c : checks) {
    fails += c.result == CheckResult::fail;
    warns += c.result == CheckResult::warn;
  }
  out << "\n" << checks.size() << " checks: " << fails << " failed, " << warns << " warning(s)\n";
  return failed ? 1 : 0;
}

}  // namespace reflex::ctl
