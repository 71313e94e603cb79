#pragma once
// Network namespaces and veth pairs for tests, the demo and the benchmarks:
// real kernels, real packets, isolated from the host. Everything is RAII: a
// namespace is deleted (with the links inside it) when its owner goes away,
// also when a test fails.

#include "common/result.h"

#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace reflex::sim {

// Runs argv (no shell), returns its stdout+stderr; an error if it exits non-zero.
Result<std::string> run_command(const std::vector<std::string>& argv);

class NetNs {
 public:
  // Creates /run/netns/<name> (as `ip netns add` does). Fails if it exists.
  static Result<NetNs> create(const std::string& name);
  NetNs(NetNs&& o) noexcept;
  NetNs& operator=(NetNs&& o) noexcept;
  NetNs(const NetNs&) = delete;
  NetNs& operator=(const NetNs&) = delete;
  ~NetNs();

  const std::string& name() const { return name_; }
  // `ip -n <name> ...`
  Status ip(const std::vector<std::string>& args) const;
  // Runs fn on a thread that has entered this namespace; sockets it opens live here.
  Status run(const std::function<void()>& fn) const;

 private:
  NetNs() = default;
  std::string name_;
};

// A veth pair with one end in each namespace, addressed and up.
struct VethSpec {
  std::string a_name, b_name;  // interface names, <= 15 characters
  std::string a_addr, b_addr;  // "10.9.0.1/24"
  std::vector<std::string> a_extra_addrs;  // more source addresses on the a side
};
Status make_veth(const NetNs& a, const NetNs& b, const VethSpec& spec);

// Adds addr ("10.0.0.1/24", "fd00::1/64") to dev in ns.
Status add_address(const NetNs& ns, const std::string& dev, const std::string& addr);

// A short unique name for this process: prefix + pid + counter, <= 15 chars.
std::string unique_name(const std::string& prefix);

// Opens a socket inside ns (the socket keeps its namespace for its lifetime).
Result<int> socket_in(const NetNs& ns, int domain, int type, int protocol);

}  // namespace reflex::sim
