#include "guard/attach.h"

#include <linux/if_link.h>

#include <cerrno>
#include <cstring>

namespace reflex::guard {
namespace {

// tcx (kernel 6.6+) is newer than Debian 12's uapi headers and libbpf 1.1:
// the attach type's value is stable ABI, so we name it here.
constexpr auto kBpfTcxIngress = static_cast<enum bpf_attach_type>(46);

std::string attach_hint(AttachMode mode, int err, const std::string& iface) {
  switch (err) {
    case EOPNOTSUPP:
      if (mode == AttachMode::native) return "the driver of " + iface + " has no native XDP; use --mode generic or auto";
      return "the kernel does not support this attach type";
    case EBUSY:
      return "another XDP program (not reflex's) is attached to " + iface + " in this mode; reflex leaves it alone";
    case EEXIST:
      return iface + " has an XDP program in the other XDP mode; native and generic cannot be active together";
    case EPERM:
    case EACCES:
      return "run as root (CAP_BPF and CAP_NET_ADMIN)";
    case EINVAL:
      if (mode == AttachMode::tc) return "the kernel lacks tcx (Linux 6.6+)";
      return "";
    default:
      return "";
  }
}

}  // namespace

std::optional<LoadMode> parse_load_mode(std::string_view s) {
  if (s == "auto") return LoadMode::auto_;
  if (s == "native" || s == "drv") return LoadMode::native;
  if (s == "generic" || s == "skb") return LoadMode::generic;
  if (s == "tc") return LoadMode::tc;
  return std::nullopt;
}

std::string_view to_string(LoadMode m) {
  switch (m) {
    case LoadMode::auto_: return "auto";
    case LoadMode::native: return "native";
    case LoadMode::generic: return "generic";
    case LoadMode::tc: return "tc";
  }
  return "?";
}

Result<Fd> attach_mode(AttachMode mode, int xdp_prog_fd, int tc_prog_fd, int ifindex, const std::string& iface) {
  int fd = -1;
  if (mode == AttachMode::native || mode == AttachMode::generic) {
    LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = mode == AttachMode::native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
    fd = bpf_link_create(xdp_prog_fd, ifindex, BPF_XDP, &opts);
  } else if (mode == AttachMode::tc) {
    fd = bpf_link_create(tc_prog_fd, ifindex, kBpfTcxIngress, nullptr);
  } else {
    return make_error("attach mode none is not a mode");
  }
  if (fd < 0) {
    int err = errno;
    return errno_error("attach to " + iface + " in " + std::string(to_string(mode)) + " mode", err,
                       attach_hint(mode, err, iface));
  }
  return Fd(fd);
}

Result<Attached> attach_ladder(LoadMode want, int xdp_prog_fd, int tc_prog_fd, int ifindex, const std::string& iface) {
  std::vector<AttachMode> ladder;
  switch (want) {
    case LoadMode::auto_: ladder = {AttachMode::native, AttachMode::generic, AttachMode::tc}; break;
    case LoadMode::native: ladder = {AttachMode::native}; break;
    case LoadMode::generic: ladder = {AttachMode::generic}; break;
    case LoadMode::tc: ladder = {AttachMode::tc}; break;
  }
  Attached out;
  Error last;
  for (AttachMode m : ladder) {
    auto link = attach_mode(m, xdp_prog_fd, tc_prog_fd, ifindex, iface);
    if (link) {
      out.attempts.push_back({m, ""});
      out.link = std::move(*link);
      out.mode = m;
      return out;
    }
    last = link.error();
    out.attempts.push_back({m, link.error().message()});
  }
  if (out.attempts.size() > 1)
    return make_error("no attach mode worked on " + iface + ": " + describe(out.attempts), "", last.code);
  return last;
}

Result<LinkState> link_state(int link_fd) {
  bpf_link_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) < 0) return errno_error("link info", errno);
  LinkState s;
  s.link_id = info.id;
  s.prog_id = info.prog_id;
  // xdp and tcx both start their union member with the ifindex, which the
  // kernel zeroes when the link is detached or the device goes away.
  s.ifindex = info.xdp.ifindex;
  s.attached = s.ifindex != 0;
  return s;
}

Status detach_link(int link_fd) {
  if (bpf_link_detach(link_fd) < 0 && errno != ENOLINK && errno != EINVAL)
    return errno_error("detach link", errno);
  return ok();
}

std::string describe(const std::vector<AttachAttempt>& attempts) {
  std::string s;
  for (const auto& a : attempts) {
    if (!s.empty()) s += "; ";
    s += std::string(to_string(a.mode)) + ": " + (a.error.empty() ? "ok" : a.error);
  }
  return s;
}

}  // namespace reflex::guard
