#pragma once
// The attach ladder: native XDP -> generic XDP -> tc ingress, each through a
// bpf_link so that detaching removes exactly what reflex attached and never
// somebody else's program.

#include "common/result.h"
#include "guard/bpf_util.h"
#include "knowledge/attach_mode.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::guard {

enum class LoadMode { auto_, native, generic, tc };
std::optional<LoadMode> parse_load_mode(std::string_view s);  // auto|native|drv|generic|skb|tc
std::string_view to_string(LoadMode m);

struct AttachAttempt {
  AttachMode mode = AttachMode::none;
  std::string error;  // empty when it worked
};

struct Attached {
  Fd link;
  AttachMode mode = AttachMode::none;
  std::vector<AttachAttempt> attempts;  // in order; the last one worked
};

// One mode, no fallback. The error says why and what the operator can do.
Result<Fd> attach_mode(AttachMode mode, int xdp_prog_fd, int tc_prog_fd, int ifindex, const std::string& iface);

// The ladder: `auto` tries native, generic, tc in turn; a named mode tries only that.
Result<Attached> attach_ladder(LoadMode want, int xdp_prog_fd, int tc_prog_fd, int ifindex, const std::string& iface);

struct LinkState {
  bool attached = false;  // false once the interface is gone or someone detached it
  std::uint32_t ifindex = 0;
  std::uint32_t prog_id = 0;
  std::uint32_t link_id = 0;
};
Result<LinkState> link_state(int link_fd);

// Detaches the link's program now, even if other processes hold the link.
Status detach_link(int link_fd);

// One line: "native: refused (...); generic: ok".
std::string describe(const std::vector<AttachAttempt>& attempts);

}  // namespace reflex::guard
