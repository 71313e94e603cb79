#pragma once
// Logging: spdlog, structured key=value text, quiet at info.
// libbpf's own messages are routed into spdlog one level quieter, as
// xdp-tools does, so verifier chatter never floods an operator's terminal.

#include <spdlog/spdlog.h>

#include <string_view>

namespace reflex {

// Sets the level from a name (trace|debug|info|warn|error|off) and installs the
// libbpf print callback. Safe to call more than once.
void init_logging(std::string_view level = "info");

}  // namespace reflex
