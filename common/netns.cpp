#include "common/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

namespace reflex {

Result<NetnsHandle> open_netns(const std::string& name) {
  std::string path = name.empty()                          ? "/proc/thread-self/ns/net"
                     : name.find('/') != std::string::npos ? name
                                                           : "/run/netns/" + name;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("open network namespace " + (name.empty() ? std::string("(own)") : name), errno,
                       errno == ENOENT ? "check `ip netns list`" : "");
  NetnsHandle h;
  h.name = name;
  h.fd = Fd(fd);
  struct stat st {};
  if (::fstat(fd, &st) < 0) return errno_error("stat network namespace " + path, errno);
  h.ino = static_cast<std::uint32_t>(st.st_ino);
  return h;
}

Status run_in_netns(const NetnsHandle& ns, const std::function<void()>& fn) {
  int self = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (self < 0) return errno_error("open own network namespace", errno);
  Fd back(self);
  struct stat st {};
  if (::fstat(self, &st) == 0 && static_cast<std::uint32_t>(st.st_ino) == ns.ino) {
    fn();  // already there
    return ok();
  }
  if (::setns(ns.fd.get(), CLONE_NEWNET) < 0)
    return errno_error("enter network namespace " + ns.name, errno, "needs CAP_SYS_ADMIN");
  fn();
  if (::setns(back.get(), CLONE_NEWNET) < 0)
    // The thread now sits in the wrong namespace; nothing sane can follow.
    return errno_error("return from network namespace " + ns.name, errno);
  return ok();
}

Status run_in_netns(const std::string& name, const std::function<void()>& fn) {
  if (name.empty()) {
    fn();
    return ok();
  }
  auto ns = open_netns(name);
  if (!ns) return ns.error();
  return run_in_netns(*ns, fn);
}

Result<Fd> socket_in_netns(const NetnsHandle& ns, int domain, int type, int protocol) {
  int fd = -1, err = 0;
  auto st = run_in_netns(ns, [&] {
    fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) err = errno;
  });
  if (!st) return st.error();
  if (fd < 0) return errno_error("socket in network namespace " + ns.name, err);
  return Fd(fd);
}

}  // namespace reflex
