#include "common/log.h"

#include <bpf/libbpf.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>

#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <string>

namespace reflex {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list args) {
  char buf[1024];
  int n = std::vsnprintf(buf, sizeof(buf), fmt, args);
  if (n <= 0) return n;
  std::string msg(buf, std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1));
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  static auto log = stage_logger("libbpf");
  switch (level) {
    case LIBBPF_WARN: log->info("{}", msg); break;
    case LIBBPF_INFO: log->debug("{}", msg); break;
    default: log->trace("{}", msg); break;
  }
  return n;
}

// %j: the message as the inside of a JSON string.
class JsonEscapedMessage final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        case '\r': dest.append(std::string_view("\\r")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            const char esc[] = {'\\', 'u', '0', '0', kHex[(c >> 4) & 0xf], kHex[c & 0xf]};
            dest.append(esc, esc + sizeof(esc));
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

std::unique_ptr<spdlog::formatter> make_formatter(LogFormat format) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (format == LogFormat::json) {
    f->add_flag<JsonEscapedMessage>('j');
    f->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%f%z","level":"%l","logger":"%n","msg":"%j"})");
  } else {
    f->set_pattern("%^%L%$ %H:%M:%S.%e %n: %v");
  }
  return f;
}

std::mutex g_mu;
LogFormat g_format = LogFormat::text;

std::shared_ptr<spdlog::logger> default_logger_locked() {
  if (auto l = spdlog::get("reflex")) return l;
  auto logger = spdlog::stderr_color_mt("reflex");
  logger->set_formatter(make_formatter(g_format));
  spdlog::set_default_logger(logger);
  libbpf_set_print(libbpf_print);
  return logger;
}

}  // namespace

std::optional<LogFormat> parse_log_format(std::string_view s) {
  if (s == "text") return LogFormat::text;
  if (s == "json") return LogFormat::json;
  return std::nullopt;
}

void init_logging(std::string_view level, LogFormat format) {
  std::lock_guard lock(g_mu);
  g_format = format;
  default_logger_locked();
  // Every registered logger (the default and the stages') follows.
  spdlog::apply_all([&](const std::shared_ptr<spdlog::logger>& l) { l->set_formatter(make_formatter(format)); });
  spdlog::set_level(spdlog::level::from_str(std::string(level)));
}

std::shared_ptr<spdlog::logger> stage_logger(std::string_view stage) {
  std::lock_guard lock(g_mu);
  std::string name(stage);
  if (auto l = spdlog::get(name)) return l;
  auto base = default_logger_locked();
  auto l = std::make_shared<spdlog::logger>(name, base->sinks().begin(), base->sinks().end());
  l->set_formatter(make_formatter(g_format));
  l->set_level(base->level());
  spdlog::register_logger(l);
  return l;
}

}  // namespace reflex
