#include "tests/e2e/guard_cli.h"

#include "tests/support/kernel_env.h"

#include <sys/wait.h>

#include <cstdio>

namespace reflex::testing {

CliResult guard_cli(const std::vector<std::string>& args, int timeout_s) {
  std::string cmd = timeout_s > 0 ? "timeout " + std::to_string(timeout_s) + " " : std::string();
  cmd += std::string(REFLEX_GUARD_BIN) + " --pin-root " + test_pin_root();
  for (const auto& a : args) cmd += " '" + a + "'";
  cmd += " 2>&1";
  CliResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return {127, "popen failed"};
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
  return r;
}

}  // namespace reflex::testing
