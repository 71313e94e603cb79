#include "daemon/config.h"

#include "api/endpoint.h"
#include "common/log.h"
#include "plan/yaml_reader.h"

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace reflex::daemon {
namespace {

using plan::Diagnostic;
using plan::YamlReader;

constexpr std::string_view kTopKeys[] = {"interfaces", "mode",  "tick", "policies", "watch_policies", "pin_root",
                                         "max_rules",  "drain", "api",   "store",   "log",     "monitor", "fleet"};

bool is_log_level(std::string_view s) {
  for (auto l : {"trace", "debug", "info", "warn", "error", "off"})
    if (s == l) return true;
  return false;
}

// A 15-character limit, no '/' or whitespace: what the kernel takes as a name.
bool is_iface_name(std::string_view s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == ':' || c == '@' || static_cast<unsigned char>(c) <= ' ') return false;
  return true;
}

bool is_netns_name(std::string_view s) {
  if (s.empty() || s.size() > 255 || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || static_cast<unsigned char>(c) <= ' ') return false;
  return true;
}

class ConfigParser {
 public:
  ConfigParser(const std::string& name, std::vector<Diagnostic>& out) : r_(name, out) {}

  void parse(const YAML::Node& root, DaemonConfig& c) {
    if (root.IsNull()) return;  // an empty file: every default
    if (!r_.expect_map(root, "")) return;
    check_keys(root, "", kTopKeys);
    if (auto n = root["interfaces"]) interfaces(n, c);
    if (auto n = root["mode"]) {
      if (auto m = mode(n, "mode")) c.mode = *m;
    }
    if (auto n = root["tick"]) {
      if (auto d = r_.duration(n, "tick")) {
        if (*d < kMinTick || *d > kMaxTick)
          r_.error(n, "tick", "expected a tick from 50ms to 60s, got " + YamlReader::describe(n));
        else
          c.tick = *d;
      }
    }
    if (auto n = root["policies"]) set(r_.string(n, "policies"), c.policies);
    if (auto n = root["watch_policies"]) set(r_.boolean(n, "watch_policies"), c.watch_policies);
    if (auto n = root["pin_root"]) set(r_.string(n, "pin_root"), c.pin_root);
    if (auto n = root["max_rules"]) {
      if (auto v = r_.integer(n, "max_rules", 1, static_cast<std::int64_t>(guard::kDefaultMaxRules), "a rule count"))
        c.max_rules = static_cast<std::size_t>(*v);
    }
    if (auto n = root["drain"]) set(r_.duration(n, "drain"), c.drain);
    if (auto n = root["api"]) api(n, c.api);
    if (auto n = root["store"]) store(n, c.store);
    if (auto n = root["log"]) log(n, c.log);
    if (auto n = root["monitor"]) monitor(n, c.monitor);
    if (auto n = root["fleet"]) fleet::parse_fleet_config(n, r_, c.fleet);
  }

 private:
  template <class T, class U>
  static void set(const std::optional<T>& v, U& dst) {
    if (v) dst = *v;
  }

  template <std::size_t N>
  void check_keys(const YAML::Node& map, const std::string& field, const std::string_view (&keys)[N]) {
    // YamlReader takes an initializer_list; build one from the table.
    check_keys_impl(map, field, keys, std::make_index_sequence<N>{});
  }
  template <std::size_t N, std::size_t... I>
  void check_keys_impl(const YAML::Node& map, const std::string& field, const std::string_view (&keys)[N],
                       std::index_sequence<I...>) {
    r_.check_keys(map, field, {keys[I]...});
  }

  std::optional<guard::LoadMode> mode(const YAML::Node& n, const std::string& field) {
    if (n.IsScalar())
      if (auto m = guard::parse_load_mode(n.Scalar())) return m;
    r_.error(n, field, "expected an attach mode (auto, native, generic or tc), got " + YamlReader::describe(n),
             "auto tries native, then generic, then tc");
    return std::nullopt;
  }

  void interfaces(const YAML::Node& n, DaemonConfig& c) {
    if (!n.IsSequence()) {
      r_.error(n, "interfaces", "expected a list of interfaces, got " + YamlReader::describe(n),
               "write a list, e.g. `interfaces: [eth0, veth1@mesh]`");
      return;
    }
    std::size_t i = 0;
    for (const auto& item : n) {
      const std::string field = "interfaces[" + std::to_string(i++) + "]";
      if (item.IsScalar()) {
        auto ic = parse_interface(item.Scalar());
        if (!ic)
          r_.error(item, field, ic.error().what, ic.error().hint);
        else
          c.interfaces.push_back(*ic);
        continue;
      }
      if (!r_.expect_map(item, field)) continue;
      r_.check_keys(item, field, {"name", "netns", "mode"});
      InterfaceConfig ic;
      auto name = item["name"];
      if (!name) {
        r_.error(item, field + ".name", "missing: every interface needs a name");
        continue;
      }
      auto nm = r_.string(name, field + ".name");
      if (!nm) continue;
      if (!is_iface_name(*nm)) {
        r_.error(name, field + ".name", "expected an interface name (1 to 15 characters, no '/', ':', '@' or spaces), got " +
                                            YamlReader::describe(name));
        continue;
      }
      ic.name = *nm;
      if (auto ns = item["netns"]) {
        auto s = r_.string(ns, field + ".netns");
        if (!s) continue;
        if (!is_netns_name(*s)) {
          r_.error(ns, field + ".netns", "expected a network namespace name as `ip netns` shows, got " +
                                             YamlReader::describe(ns));
          continue;
        }
        ic.netns = *s;
      }
      if (auto m = item["mode"]) {
        auto lm = mode(m, field + ".mode");
        if (!lm) continue;
        ic.mode = lm;
      }
      ic.key = ic.netns.empty() ? ic.name : ic.name + "@" + ic.netns;
      c.interfaces.push_back(ic);
    }
  }

  void api(const YAML::Node& n, ApiConfig& a) {
    if (!r_.expect_map(n, "api")) return;
    r_.check_keys(n, "api",
                  {"listen", "unix_socket", "socket_mode", "token_file", "max_connections", "body_limit",
                   "request_timeout"});
    if (auto v = n["listen"]) {
      if (auto s = r_.string(v, "api.listen")) {
        if (!s->empty() && *s != "off") {
          if (auto ep = api::parse_endpoint(*s); !ep)
            r_.error(v, "api.listen", ep.error().what, ep.error().hint);
          else
            a.listen = *s;
        } else {
          a.listen.clear();
        }
      }
    }
    if (auto v = n["unix_socket"]) {
      if (auto s = r_.string(v, "api.unix_socket")) a.unix_socket = *s == "off" ? "" : *s;
    }
    if (auto v = n["socket_mode"]) {
      auto s = r_.string(v, "api.socket_mode");
      if (s) {
        char* end = nullptr;
        unsigned long m = std::strtoul(s->c_str(), &end, 8);
        if (s->empty() || *end || m > 0777)
          r_.error(v, "api.socket_mode", "expected an octal file mode such as 0660, got " + YamlReader::describe(v));
        else
          a.socket_mode = static_cast<std::uint32_t>(m);
      }
    }
    if (auto v = n["token_file"]) set(r_.string(v, "api.token_file"), a.token_file);
    if (auto v = n["max_connections"]) {
      if (auto i = r_.integer(v, "api.max_connections", 1, 100000, "a connection count"))
        a.max_connections = static_cast<std::size_t>(*i);
    }
    if (auto v = n["body_limit"]) {
      if (auto b = r_.byte_size(v, "api.body_limit")) {
        if (*b < 1024 || *b > (64u << 20))
          r_.error(v, "api.body_limit", "expected a size from 1KiB to 64MiB, got " + YamlReader::describe(v));
        else
          a.body_limit = *b;
      }
    }
    if (auto v = n["request_timeout"]) set(r_.duration(v, "api.request_timeout"), a.request_timeout);
  }

  void store(const YAML::Node& n, StoreConfig& s) {
    if (!r_.expect_map(n, "store")) return;
    r_.check_keys(n, "store", {"path", "synchronous", "raw_for", "minutes_for", "hours_for", "max_size"});
    if (auto v = n["path"]) set(r_.string(v, "store.path"), s.path);
    if (auto v = n["synchronous"]) {
      auto str = r_.string(v, "store.synchronous");
      if (str && *str != "normal" && *str != "full")
        r_.error(v, "store.synchronous", "expected normal or full, got " + YamlReader::describe(v),
                 "normal (the default) can lose the last commit on power loss, never on a crash of reflexd");
      else if (str)
        s.synchronous_full = *str == "full";
    }
    if (auto v = n["raw_for"]) set(r_.duration(v, "store.raw_for"), s.raw_for);
    if (auto v = n["minutes_for"]) set(r_.duration(v, "store.minutes_for"), s.minutes_for);
    if (auto v = n["hours_for"]) set(r_.duration(v, "store.hours_for"), s.hours_for);
    if (auto v = n["max_size"]) {
      if (auto b = r_.byte_size(v, "store.max_size")) {
        if (*b < (1u << 20))
          r_.error(v, "store.max_size", "expected at least 1MiB, got " + YamlReader::describe(v));
        else
          s.max_bytes = *b;
      }
    }
  }

  void log(const YAML::Node& n, LogConfig& l) {
    if (!r_.expect_map(n, "log")) return;
    r_.check_keys(n, "log", {"level", "format"});
    if (auto v = n["level"]) {
      auto s = r_.string(v, "log.level");
      if (s && !is_log_level(*s))
        r_.error(v, "log.level", "expected trace, debug, info, warn, error or off, got " + YamlReader::describe(v));
      else if (s)
        l.level = *s;
    }
    if (auto v = n["format"]) {
      auto s = r_.string(v, "log.format");
      if (s && !parse_log_format(*s))
        r_.error(v, "log.format", "expected text or json, got " + YamlReader::describe(v));
      else if (s)
        l.format = *s;
    }
  }

  void monitor(const YAML::Node& n, MonitorSettings& m) {
    if (!r_.expect_map(n, "monitor")) return;
    r_.check_keys(n, "monitor", {"top_talkers", "run_time_every"});
    if (auto v = n["top_talkers"]) {
      if (auto i = r_.integer(v, "monitor.top_talkers", 1, 4096, "talkers per interface"))
        m.top_talkers = static_cast<std::size_t>(*i);
    }
    if (auto v = n["run_time_every"]) {
      if (auto i = r_.integer(v, "monitor.run_time_every", 0, 1000000, "ticks"))
        m.run_time_every = static_cast<unsigned>(*i);
    }
  }

  YamlReader r_;
};

Diagnostic flag_error(const std::string& flag, std::string message, std::string hint = {}) {
  Diagnostic d;
  d.loc.file = "command line";
  d.field = flag;
  d.message = std::move(message);
  d.hint = std::move(hint);
  return d;
}

}  // namespace

Result<InterfaceConfig> parse_interface(const std::string& text) {
  InterfaceConfig ic;
  ic.key = text;
  auto at = text.find('@');
  ic.name = text.substr(0, at);
  if (at != std::string::npos) ic.netns = text.substr(at + 1);
  if (!is_iface_name(ic.name) || (at != std::string::npos && !is_netns_name(ic.netns)))
    return make_error("expected an interface as IF or IF@NETNS, got \"" + text + "\"",
                      "e.g. eth0, or veth1@mesh for veth1 in the namespace `ip netns` calls mesh");
  return ic;
}

ConfigReport parse_config(const std::string& text, const std::string& name) {
  ConfigReport rep;
  if (text.size() > plan::kMaxYamlBytes) {
    Diagnostic d;
    d.loc.file = name;
    d.message = "file is larger than 1 MiB; a reflexd config is a few hundred bytes";
    d.hint = "is this the right file?";
    rep.diagnostics.push_back(d);
    return rep;
  }
  auto docs = plan::parse_yaml_documents(text, name, rep.diagnostics);
  if (docs.size() > 1) {
    Diagnostic d;
    d.loc = {name, 0, 0};
    d.message = "expected one YAML document, found " + std::to_string(docs.size());
    d.hint = "remove the extra `---`";
    rep.diagnostics.push_back(d);
  }
  DaemonConfig cfg;
  cfg.source = name;
  if (!docs.empty()) ConfigParser(name, rep.diagnostics).parse(docs.front(), cfg);
  for (const auto& d : rep.diagnostics)
    if (d.level == Diagnostic::Level::error) return rep;
  rep.config = std::move(cfg);
  return rep;
}

ConfigReport load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigReport rep;
    Diagnostic d;
    d.loc.file = path;
    d.message = "cannot read the config file: " + std::string(std::strerror(errno));
    d.hint = "check the path, or leave --config out to run with the defaults";
    rep.diagnostics.push_back(d);
    return rep;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

std::vector<plan::Diagnostic> apply_flags(DaemonConfig& cfg, const ConfigFlags& f) {
  std::vector<Diagnostic> out;
  if (!f.ifaces.empty()) {
    cfg.interfaces.clear();
    for (const auto& t : f.ifaces) {
      auto ic = parse_interface(t);
      if (!ic)
        out.push_back(flag_error("--iface", ic.error().what, ic.error().hint));
      else
        cfg.interfaces.push_back(*ic);
    }
  }
  if (f.mode) {
    if (auto m = guard::parse_load_mode(*f.mode))
      cfg.mode = *m;
    else
      out.push_back(flag_error("--mode", "expected auto, native, generic or tc, got \"" + *f.mode + "\""));
  }
  if (f.listen) {
    if (f.listen->empty() || *f.listen == "off")
      cfg.api.listen.clear();
    else if (auto ep = api::parse_endpoint(*f.listen); !ep)
      out.push_back(flag_error("--listen", ep.error().what, ep.error().hint));
    else
      cfg.api.listen = *f.listen;
  }
  if (f.unix_socket) cfg.api.unix_socket = *f.unix_socket == "off" ? "" : *f.unix_socket;
  if (f.token_file) cfg.api.token_file = *f.token_file;
  if (f.store) cfg.store.path = *f.store;
  if (f.policies) cfg.policies = *f.policies;
  if (f.pin_root) cfg.pin_root = *f.pin_root;
  if (f.watch_policies) cfg.watch_policies = *f.watch_policies;
  if (f.tick_ms) {
    if (*f.tick_ms * kNsPerMs < kMinTick || *f.tick_ms * kNsPerMs > kMaxTick)
      out.push_back(flag_error("--tick-ms", "expected 50 to 60000 milliseconds, got " + std::to_string(*f.tick_ms)));
    else
      cfg.tick = *f.tick_ms * kNsPerMs;
  }
  if (f.drain_ms) {
    if (*f.drain_ms < 0 || *f.drain_ms > 600'000)
      out.push_back(flag_error("--drain-ms", "expected 0 to 600000 milliseconds, got " + std::to_string(*f.drain_ms)));
    else
      cfg.drain = *f.drain_ms * kNsPerMs;
  }
  if (f.max_rules) {
    if (*f.max_rules < 1 || *f.max_rules > static_cast<std::int64_t>(guard::kDefaultMaxRules))
      out.push_back(flag_error("--max-rules", "expected 1 to " + std::to_string(guard::kDefaultMaxRules) +
                                                  " rules, got " + std::to_string(*f.max_rules)));
    else
      cfg.max_rules = static_cast<std::size_t>(*f.max_rules);
  }
  if (f.log_format) {
    if (!parse_log_format(*f.log_format))
      out.push_back(flag_error("--log-format", "expected text or json, got \"" + *f.log_format + "\""));
    else
      cfg.log.format = *f.log_format;
  }
  if (f.log_level) {
    if (!is_log_level(*f.log_level))
      out.push_back(
          flag_error("--log-level", "expected trace, debug, info, warn, error or off, got \"" + *f.log_level + "\""));
    else
      cfg.log.level = *f.log_level;
  }
  // Whole-config checks, wherever the values came from.
  std::set<std::string> keys;
  for (const auto& i : cfg.interfaces)
    if (!keys.insert(i.key).second)
      out.push_back(flag_error("interfaces", "interface " + i.key + " is named twice", "name each interface once"));
  if (cfg.api.listen.empty() && cfg.api.unix_socket.empty())
    out.push_back(flag_error("api", "neither a TCP listener nor a Unix socket: nothing could reach the daemon",
                             "keep the default Unix socket, or give --listen 127.0.0.1:9470"));
  return out;
}

}  // namespace reflex::daemon
