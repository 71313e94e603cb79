#pragma once
// `reflexd run` as a child process, for tests that need the real thing:
// real signals, a real exit code. Every wait has a deadline; the destructor
// kills (SIGKILL) and reaps only the child this object started.

#include <sys/types.h>

#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace reflex::api::testing {

class DaemonProcess {
 public:
  // Starts `binary args...`; stdout is read through a pipe, stderr goes to
  // `stderr_path` (read it with stderr_text()).
  DaemonProcess(const std::string& binary, const std::vector<std::string>& args, std::string stderr_path);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Waits for the "listening on http://ADDR:PORT" line; nullopt if the child
  // exited or the deadline passed first.
  std::optional<boost::asio::ip::tcp::endpoint> wait_listening(std::chrono::milliseconds deadline);

  // Waits up to `timeout` for output on the child's stdout and appends what
  // one read returns; false once stdout is closed (the child exited).
  bool read_stdout(std::chrono::milliseconds timeout);

  void signal(int signo) const;
  // The exit status (as from waitpid) once the child has exited; nullopt if
  // it is still running at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds deadline);

  std::string stdout_text() const { return stdout_; }
  std::string stderr_text() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  int pidfd_ = -1;
  std::string stdout_;
  std::string stderr_path_;
  std::optional<int> status_;
};

}  // namespace reflex::api::testing
