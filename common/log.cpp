#include "common/log.h"

#include <bpf/libbpf.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdarg>
#include <cstdio>
#include <string>

namespace reflex {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  if (n <= 0) return n;
  std::string msg(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  switch (level) {
    case LIBBPF_WARN: spdlog::info("libbpf: {}", msg); break;
    case LIBBPF_INFO: spdlog::debug("libbpf: {}", msg); break;
    default: spdlog::trace("libbpf: {}", msg); break;
  }
  return n;
}

}  // namespace

void init_logging(std::string_view level) {
  static bool installed = false;
  if (!installed) {
    // stderr: stdout belongs to machine-readable output (JSON, tables).
    auto logger = spdlog::stderr_color_mt("reflex");
    logger->set_pattern("%^%L%$ %H:%M:%S.%e %v");
    spdlog::set_default_logger(logger);
    libbpf_set_print(libbpf_print);
    installed = true;
  }
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

}  // namespace reflex
