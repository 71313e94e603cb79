#pragma once
// qdiscs and htb classes over rtnetlink, through libnl-route-3: one netlink
// socket opened inside the interface's network namespace (a socket keeps the
// namespace it was made in), so every call after open() acts there without
// moving any thread. Only reflex's handles are ever written or deleted.

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "execute/shaping/shape_tree.h"
#include "monitor/netns.h"

struct nl_sock;

namespace reflex::execute::shaping {

struct RootQdisc {
  bool present = false;  // false: the dump had no root qdisc for the interface
  std::string kind;
  std::uint32_t handle = 0;
  std::uint32_t defcls = 0;  // htb only
};

class TcNetlink {
 public:
  // `where` names the interface in messages ("veth0@ns1").
  static Result<TcNetlink> open(const monitor::NetnsHandle& ns, std::string where);
  TcNetlink(TcNetlink&&) noexcept;
  TcNetlink& operator=(TcNetlink&&) noexcept;
  ~TcNetlink();

  Result<int> ifindex(const std::string& iface) const;
  Result<RootQdisc> root(int ifindex) const;
  // reflex's htb classes (major kMajor) on the interface, sorted by classid, with their counters.
  Result<std::vector<HtbClass>> classes(int ifindex) const;

  Status add_root(int ifindex)
      const;  // htb RF: default RF:2; fails if a root qdisc other than the kernel's default is there
  Status delete_root(int ifindex) const;  // only if the root is still RF:
  // create: a new class (fails if it exists); else change it in place (fails if it does not).
  Status put_class(int ifindex, const HtbClass& c, bool create) const;
  Status delete_class(int ifindex, std::uint32_t classid) const;  // gone already: fine

 private:
  TcNetlink() = default;
  struct SockDeleter {
    void operator()(nl_sock* s) const;
  };
  std::unique_ptr<nl_sock, SockDeleter> sock_;
  std::string where_;
};

}  // namespace reflex::execute::shaping
