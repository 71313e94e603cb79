#pragma once
// What end-to-end tests need to run reflex's own binaries as child
// processes: start one with its output in a log file, read that log, and
// pick a loopback port for it to listen on.

#include <sys/types.h>

#include <string>
#include <vector>

namespace reflex::testing {

// The whole file ("" when it cannot be read).
std::string read_file(const std::string& path);

// Runs argv (no shell) with stdout and stderr in `log`; the child is killed
// if the test process dies. Returns its pid.
pid_t spawn_logged(std::vector<std::string> argv, const std::string& log);

// A loopback TCP port free now (the kernel's pick, released for the child).
unsigned short free_loopback_port();

}  // namespace reflex::testing
