#include "sim/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

extern char** environ;

namespace reflex::sim {

Result<std::string> run_command(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) < 0) return errno_error("pipe", errno);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  int err = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(pipefd[1]);
  if (err) {
    close(pipefd[0]);
    return errno_error("run " + argv[0], err, "is it installed? (scripts/install-deps.sh)");
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipefd[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return make_error("`" + cmd + "` failed: " + out);
  }
  return out;
}

Result<NetNs> NetNs::create(const std::string& name) {
  if (auto r = run_command({"ip", "netns", "add", name}); !r) return r.error();
  NetNs ns;
  ns.name_ = name;
  if (auto s = ns.ip({"link", "set", "lo", "up"}); !s) return s.error();
  return ns;
}

NetNs::NetNs(NetNs&& o) noexcept : name_(std::move(o.name_)) { o.name_.clear(); }

NetNs& NetNs::operator=(NetNs&& o) noexcept {
  if (this != &o) {
    if (!name_.empty()) (void)run_command({"ip", "netns", "del", name_});
    name_ = std::move(o.name_);
    o.name_.clear();
  }
  return *this;
}

NetNs::~NetNs() {
  if (!name_.empty()) (void)run_command({"ip", "netns", "del", name_});
}

Status NetNs::ip(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{"ip", "-n", name_};
  argv.insert(argv.end(), args.begin(), args.end());
  if (auto r = run_command(argv); !r) return r.error();
  return ok();
}

Status NetNs::run(const std::function<void()>& fn) const {
  Status result = ok();
  std::thread t([&] {
    int fd = ::open(("/run/netns/" + name_).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      result = errno_error("open netns " + name_, errno);
      return;
    }
    // unshare(CLONE_FS) is not needed: only the network namespace changes.
    if (setns(fd, CLONE_NEWNET) < 0) {
      result = errno_error("enter netns " + name_, errno);
      close(fd);
      return;
    }
    close(fd);
    fn();
  });
  t.join();
  return result;
}

Status add_address(const NetNs& ns, const std::string& dev, const std::string& addr) {
  std::vector<std::string> args{"addr", "add", addr, "dev", dev};
  // IPv6 addresses skip duplicate address detection: usable at once, not after a second.
  if (addr.find(':') != std::string::npos) args.push_back("nodad");
  return ns.ip(args);
}

Status make_veth(const NetNs& a, const NetNs& b, const VethSpec& s) {
  if (auto r = run_command({"ip", "link", "add", s.a_name, "netns", a.name(), "type", "veth", "peer", "name", s.b_name,
                            "netns", b.name()});
      !r)
    return r.error();
  for (auto [ns, name, addr] : {std::tuple{&a, s.a_name, s.a_addr}, std::tuple{&b, s.b_name, s.b_addr}}) {
    if (!addr.empty())
      if (auto st = add_address(*ns, name, addr); !st) return st;
    if (auto st = ns->ip({"link", "set", name, "up"}); !st) return st;
  }
  for (const auto& extra : s.a_extra_addrs)
    if (auto st = add_address(a, s.a_name, extra); !st) return st;
  return ok();
}

std::string unique_name(const std::string& prefix) {
  static std::atomic<unsigned> counter{0};
  std::string name = prefix + std::to_string(getpid() % 100000) + "x" + std::to_string(counter++);
  if (name.size() > 15) name = name.substr(name.size() - 15);
  return name;
}

Result<int> socket_in(const NetNs& ns, int domain, int type, int protocol) {
  int fd = -1, err = 0;
  auto st = ns.run([&] {
    fd = ::socket(domain, type | SOCK_CLOEXEC, protocol);
    if (fd < 0) err = errno;
  });
  if (!st) return st.error();
  if (fd < 0) return errno_error("socket in netns " + ns.name(), err);
  return fd;
}

}  // namespace reflex::sim
