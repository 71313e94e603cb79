#pragma once
// Logging: spdlog, quiet at info, on stderr (stdout belongs to machine-readable
// output). Each stage logs through its own named logger (monitor, analyze,
// plan, execute, knowledge, api, loop), so an operator can tell at a glance
// which stage spoke and raise one stage's level alone. libbpf's own messages
// are routed into spdlog one level quieter, as xdp-tools does, so verifier
// chatter never floods an operator's terminal.

#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string_view>

namespace reflex {

enum class LogFormat { text, json };
std::optional<LogFormat> parse_log_format(std::string_view s);  // text|json

// Sets the level from a name (trace|debug|info|warn|error|off), the format
// (json: one object a line, {"ts","level","logger","msg"}) and installs the
// libbpf print callback. Safe to call more than once; every logger follows.
void init_logging(std::string_view level = "info", LogFormat format = LogFormat::text);

// The named logger of a stage, sharing the default logger's sink, level and
// format. Cheap after the first call; call it once and keep the pointer.
std::shared_ptr<spdlog::logger> stage_logger(std::string_view stage);

}  // namespace reflex
