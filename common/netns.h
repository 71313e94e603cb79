#pragma once
// Network namespaces as reflex sees them: an interface is a name inside a
// namespace, and ifindex, netlink, sysfs and attaching a program all depend
// on which. (/sys/class/net shows the namespace sysfs was mounted in, not the
// caller's, so callers ask netlink from a socket created inside the target.)
// The Monitor reads interfaces through these; the guard attaches through them.

#include <cstdint>
#include <functional>
#include <string>

#include "common/fd.h"
#include "common/result.h"

namespace reflex {

struct NetnsHandle {
  std::string name;       // "" = the namespace the caller started in
  Fd fd;                  // open nsfs file, for setns(2)
  std::uint32_t ino = 0;  // nsfs inode number: what BPF programs see as net->ns.inum
};

// Opens a namespace by name (/run/netns/NAME, as `ip netns add` makes it), by
// path (anything with a '/'), or the caller's own ("").
Result<NetnsHandle> open_netns(const std::string& name);

// Runs fn with the calling thread inside ns, then returns to where it was.
// Only the calling thread moves (setns(2) is per thread); sockets opened in
// fn keep ns for their lifetime. Used at open and attach time, never per packet.
Status run_in_netns(const NetnsHandle& ns, const std::function<void()>& fn);

// Opens the namespace by name and runs fn inside it ("" runs fn here).
Status run_in_netns(const std::string& name, const std::function<void()>& fn);

// A socket(2) inside ns.
Result<Fd> socket_in_netns(const NetnsHandle& ns, int domain, int type, int protocol);

}  // namespace reflex
