#include "tests/unit/api/daemon_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "api/endpoint.h"

namespace reflex::api::testing {

DaemonProcess::DaemonProcess(const std::string& binary, const std::vector<std::string>& args,
                             std::string stderr_path)
    : stderr_path_(std::move(stderr_path)) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  std::vector<std::string> argv_s{binary};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    // Child: only async-signal-safe calls until exec.
    ::dup2(out[1], STDOUT_FILENO);
    int err = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (err >= 0) ::dup2(err, STDERR_FILENO);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  stdout_fd_ = out[0];
  // Lets wait_exit() poll with a deadline. The raw syscall: glibc 2.36's
  // <sys/pidfd.h> lacks extern "C" for C++.
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

DaemonProcess::~DaemonProcess() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);  // our own child only
    int st = 0;
    ::waitpid(pid_, &st, 0);
  }
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
  if (pidfd_ >= 0) ::close(pidfd_);
}

std::optional<boost::asio::ip::tcp::endpoint> DaemonProcess::wait_listening(
    std::chrono::milliseconds timeout) {
  static const std::regex kLine(R"(listening on http://(\S+) )");
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::smatch m;
    if (std::regex_search(stdout_, m, kLine)) {
      auto ep = parse_endpoint(m[1].str());
      if (ep) return *ep;
      return std::nullopt;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    if (!read_stdout(left)) return std::nullopt;  // the child closed stdout: it exited
  }
}

bool DaemonProcess::read_stdout(std::chrono::milliseconds timeout) {
  for (;;) {
    pollfd p{stdout_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, timeout.count())));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return true;  // nothing within the timeout
    char buf[4096];
    ssize_t n = ::read(stdout_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    stdout_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
}

void DaemonProcess::signal(int signo) const {
  if (pid_ > 0 && !status_) ::kill(pid_, signo);
}

std::optional<int> DaemonProcess::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  pollfd p{pidfd_, POLLIN, 0};
  for (;;) {
    int r = ::poll(&p, 1, static_cast<int>(timeout.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    break;
  }
  int st = 0;
  if (::waitpid(pid_, &st, 0) != pid_) return std::nullopt;
  status_ = st;
  return status_;
}

std::string DaemonProcess::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace reflex::api::testing
