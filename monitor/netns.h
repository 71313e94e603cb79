#pragma once
// Network namespaces as the Monitor sees them: an interface is a name inside
// a namespace, and ifindex, netlink and sysfs answers all depend on which.
// (/sys/class/net shows the namespace sysfs was mounted in, not the caller's,
// so the Monitor asks netlink from a socket created inside the target.)

#include <cstdint>
#include <functional>
#include <string>

#include "common/fd.h"
#include "common/result.h"

namespace reflex::monitor {

struct NetnsHandle {
  std::string name;       // "" = the namespace the Monitor started in
  Fd fd;                  // open nsfs file, for setns(2)
  std::uint32_t ino = 0;  // nsfs inode number: what BPF programs see as net->ns.inum
};

// Opens a namespace by name (/run/netns/NAME, as `ip netns add` makes it), by
// path (anything with a '/'), or the caller's own ("").
Result<NetnsHandle> open_netns(const std::string& name);

// Runs fn with the calling thread inside ns, then returns to where it was.
// Only the calling thread moves (setns(2) is per thread); sockets opened in
// fn keep ns for their lifetime. Used at open time, never per tick.
Status run_in_netns(const NetnsHandle& ns, const std::function<void()>& fn);

// A socket(2) inside ns.
Result<Fd> socket_in_netns(const NetnsHandle& ns, int domain, int type, int protocol);

}  // namespace reflex::monitor
