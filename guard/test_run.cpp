#include "guard/test_run.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <vector>

namespace reflex::guard {

Result<TestRunResult> test_run(int prog_fd, std::span<const std::uint8_t> packet, std::uint32_t repeat) {
  // tc programs may grow the packet (skb_pull_data); give the kernel room to copy it out.
  std::vector<std::uint8_t> out(packet.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = out.data(),
              .data_size_in = static_cast<std::uint32_t>(packet.size()),
              .data_size_out = static_cast<std::uint32_t>(out.size()), .repeat = static_cast<int>(repeat ? repeat : 1));
  if (bpf_prog_test_run_opts(prog_fd, &opts) < 0) return errno_error("BPF_PROG_TEST_RUN", errno);
  return TestRunResult{opts.retval, opts.duration};
}

}  // namespace reflex::guard
