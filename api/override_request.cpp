#include "api/override_request.h"

#include "api/query.h"
#include "plan/policy.h"
#include "plan/units.h"

#include <pwd.h>

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <optional>

namespace reflex::api {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxText = 1000;

// Reads the fields of one JSON object strictly: unknown fields and wrong
// types are errors that name the field (with its path, "action.prefix").
class Fields {
 public:
  Fields(const json::object& o, std::string path) : o_(o), path_(std::move(path)) {}

  Status only(std::initializer_list<std::string_view> allowed, std::string_view what) const {
    for (const auto& kv : o_) {
      if (std::find(allowed.begin(), allowed.end(), kv.key()) != allowed.end()) continue;
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return make_error("unknown field \"" + name(kv.key()) + "\" for " + std::string(what),
                        "it takes " + list);
    }
    return ok();
  }

  const json::value* find(std::string_view key) const {
    auto* v = o_.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
  }

  Result<std::optional<std::string>> text(std::string_view key, std::size_t max = kMaxText) const {
    const auto* v = find(key);
    if (!v) return std::optional<std::string>{};
    if (!v->is_string()) return type_error(key, "a string");
    std::string s(v->get_string());
    if (s.size() > max) return make_error(name(key) + " is longer than " + std::to_string(max) + " characters", "");
    return std::optional<std::string>{std::move(s)};
  }

  Result<std::optional<std::uint64_t>> count(std::string_view key, std::uint64_t max) const {
    const auto* v = find(key);
    if (!v) return std::optional<std::uint64_t>{};
    std::uint64_t out = 0;
    if (v->is_uint64())
      out = v->get_uint64();
    else if (v->is_int64() && v->get_int64() >= 0)
      out = static_cast<std::uint64_t>(v->get_int64());
    else if (v->is_double() && v->get_double() >= 0 && v->get_double() == std::floor(v->get_double()) &&
             v->get_double() <= 1.8e19)
      out = static_cast<std::uint64_t>(v->get_double());
    else
      return type_error(key, "a whole number");
    if (out > max) return make_error(name(key) + " must be at most " + std::to_string(max), "");
    return std::optional<std::uint64_t>{out};
  }

  Result<std::optional<Prefix>> prefix(std::string_view key) const {
    auto s = text(key, 64);
    if (!s) return s.error();
    if (!*s) return std::optional<Prefix>{};
    auto p = Prefix::parse(**s);
    if (!p) return make_error(name(key) + ": \"" + **s + "\" is not an IP prefix", "e.g. 203.0.113.0/24 or 2001:db8::/32");
    return std::optional<Prefix>{*p};
  }

  // "10m", "1h30m", or a number of seconds.
  Result<std::optional<TimeNs>> duration(std::string_view key) const {
    const auto* v = find(key);
    if (!v) return std::optional<TimeNs>{};
    if (v->is_string()) {
      auto d = plan::parse_duration(std::string_view(v->get_string()));
      if (!d) return make_error(name(key) + ": \"" + std::string(v->get_string()) + "\" is not a duration",
                                "e.g. \"90s\", \"10m\", \"1h30m\"");
      return std::optional<TimeNs>{*d};
    }
    if (v->is_number()) {
      const double secs = v->to_number<double>();
      if (!std::isfinite(secs) || secs < 0 || secs > 1e9) return type_error(key, "a duration");
      return std::optional<TimeNs>{static_cast<TimeNs>(std::llround(secs * 1e9))};
    }
    return type_error(key, "a duration (\"10m\") or seconds");
  }

  std::string name(std::string_view key) const { return path_.empty() ? std::string(key) : path_ + "." + std::string(key); }

 private:
  Error type_error(std::string_view key, std::string_view want) const {
    return make_error(name(key) + " must be " + std::string(want), "");
  }
  const json::object& o_;
  std::string path_;
};

Status required(bool present, const Fields& f, std::string_view key, std::string_view kind, std::string_view example) {
  if (present) return ok();
  return make_error(std::string(kind) + " needs " + f.name(key), "send e.g. \"" + std::string(key) + "\": " + std::string(example));
}

#define TRY(var, expr)            \
  auto var = (expr);              \
  if (!var) return var.error();

}  // namespace

// Stops at the first bad entry: the request is refused whole, so naming one
// (by index and value, with the fix) is enough to act on, and a hostile list
// costs no more than the entries before its first mistake.
Result<std::vector<Prefix>> parse_prefix_list(const json::value& v) {
  if (!v.is_array())
    return make_error("prefixes must be an array of prefix strings, got " + std::string(json::to_string(v.kind())),
                      "send e.g. \"prefixes\": [\"203.0.113.0/24\", \"198.51.100.7\"]");
  const json::array& a = v.get_array();
  if (a.empty()) return make_error("prefixes is empty", "send at least one prefix, or use \"prefix\" for one");
  if (a.size() > kMaxBatchPrefixes)
    return make_error("prefixes holds " + std::to_string(a.size()) + " entries, more than the " +
                          std::to_string(kMaxBatchPrefixes) + " one override takes",
                      "split the list into several overrides of at most " + std::to_string(kMaxBatchPrefixes) +
                          " (e.g. `split -l " + std::to_string(kMaxBatchPrefixes) +
                          " LIST part.` and one `reflexctl block --file` per part); nothing was applied");
  std::vector<Prefix> out;
  out.reserve(a.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string at = "prefixes[" + std::to_string(i) + "]";
    if (!a[i].is_string())
      return make_error(at + " must be a prefix string, got " + std::string(json::to_string(a[i].kind())),
                        "write it as \"203.0.113.0/24\"; nothing was applied");
    const std::string_view text = a[i].get_string();
    std::optional<Prefix> p;
    if (text.size() <= 64)
      if (auto parsed = Prefix::parse(text)) p = *parsed;
    if (!p)
      return make_error(at + ": \"" + std::string(text.substr(0, 64)) + "\" is not an IP prefix",
                        "fix or remove entry " + std::to_string(i) +
                            " (e.g. 203.0.113.0/24 or 2001:db8::/32); nothing was applied");
    out.push_back(*p);
  }
  return out;
}

namespace {

// An action as the operator writes it (the override's body, or a pin's
// "action" object) -> ActionSpec.
Result<ActionSpec> parse_action(const json::object& o, const std::string& path, std::string_view kind) {
  Fields f(o, path);
  TRY(iface, f.text("iface", 64));
  TRY(prefix, f.prefix("prefix"));
  std::string ifname = iface->value_or("");

  auto l4 = [&]() -> Result<L4Match> {
    L4Match m;
    if (const auto* v = f.find("proto")) {
      std::optional<std::uint8_t> p;
      if (v->is_string()) p = parse_ip_proto(std::string_view(v->get_string()));
      else if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= 255) p = static_cast<std::uint8_t>(v->get_int64());
      if (!p) return make_error(f.name("proto") + " must be tcp, udp, icmp, icmpv6 or a protocol number", "");
      m.proto = *p;
    }
    TRY(port, f.count("port", 65535));
    if (*port) {
      if (!m.proto || (*m.proto != 6 && *m.proto != 17 && *m.proto != 132))
        return make_error(f.name("port") + " needs proto tcp, udp or sctp", "send \"proto\": \"udp\" with the port");
      m.port = static_cast<std::uint16_t>(**port);
    }
    return m;
  };

  if (kind == "block" || kind == "unblock" || kind == "shadow") {
    // "prefixes" (a list, one RuleBatch) only at the top level: a pin holds one target.
    if (path.empty()) {
      if (auto st = f.only({"kind", "iface", "prefix", "prefixes", "proto", "port", "ttl", "reason", "who", "id"},
                           std::string(kind));
          !st)
        return st.error();
    } else if (auto st = f.only({"kind", "iface", "prefix", "proto", "port", "ttl", "reason", "who", "id"}, std::string(kind));
               !st) {
      return st.error();
    }
    if (f.find("prefixes")) {
      if (prefix->has_value())
        return make_error(std::string(kind) + " takes \"prefix\" or \"prefixes\", not both",
                          "send one prefix as \"prefix\", or a list as \"prefixes\"");
      TRY(list, parse_prefix_list(*f.find("prefixes")));
      TRY(m, l4());
      RuleBatch b{ifname, std::move(*list), *m};
      if (kind == "shadow") b.verb = RuleVerb::shadow;
      b.remove = kind == "unblock";
      return ActionSpec{std::move(b)};
    }
    if (auto st = required(prefix->has_value(), f, "prefix", kind, "\"203.0.113.0/24\""); !st) return st.error();
    TRY(m, l4());
    if (kind == "block") return ActionSpec{BlockPrefix{ifname, **prefix, *m}};
    if (kind == "shadow") return ActionSpec{ShadowPrefix{ifname, **prefix, *m}};
    return ActionSpec{Unblock{ifname, **prefix, *m}};
  }
  if (kind == "limit" || kind == "rate_limit") {
    if (auto st = f.only({"kind", "iface", "prefix", "proto", "port", "pps", "burst", "ttl", "reason", "who", "id"}, "limit"); !st)
      return st.error();
    if (auto st = required(prefix->has_value(), f, "prefix", "limit", "\"198.51.100.7\""); !st) return st.error();
    TRY(pps, f.count("pps", 1ull << 32));
    TRY(burst, f.count("burst", 1ull << 32));
    if (!*pps || **pps == 0) return make_error("limit needs " + f.name("pps") + " above 0", "send e.g. \"pps\": 1000");
    TRY(m, l4());
    return ActionSpec{RateLimitPrefix{ifname, **prefix, **pps, burst->value_or(0), *m}};
  }
  if (kind == "shape") {
    if (auto st = f.only({"kind", "iface", "prefix", "rate", "burst", "ttl", "reason", "who", "id"}, "shape"); !st)
      return st.error();
    if (auto st = required(!ifname.empty(), f, "iface", "shape", "\"eth0\""); !st) return st.error();
    TRY(rate, f.text("rate", 32));
    if (!*rate) return make_error("shape needs " + f.name("rate"), "send e.g. \"rate\": \"10mbit\"");
    auto bps = plan::parse_bit_rate(**rate);
    if (!bps || *bps == 0)
      return make_error(f.name("rate") + ": \"" + **rate + "\" is not a bit rate above 0", "e.g. \"10mbit\", \"1.5gbit\", \"64kbit\"");
    std::uint64_t burst_bytes = 0;
    if (const auto* b = f.find("burst")) {
      if (b->is_string()) {
        auto bytes = plan::parse_byte_size(std::string_view(b->get_string()));
        if (!bytes) return make_error(f.name("burst") + " is not a size", "e.g. \"64KiB\"");
        burst_bytes = *bytes;
      } else {
        TRY(n, f.count("burst", 1ull << 40));
        burst_bytes = **n;
      }
    }
    return ActionSpec{ShapeInterface{ifname, *prefix, *bps, burst_bytes}};
  }
  if (kind == "attach_mode") {
    if (auto st = f.only({"kind", "iface", "mode", "ttl", "reason", "who", "id"}, "attach_mode"); !st) return st.error();
    if (auto st = required(!ifname.empty(), f, "iface", "attach_mode", "\"eth0\""); !st) return st.error();
    TRY(mode, f.text("mode", 16));
    auto m = *mode ? parse_attach_mode(**mode) : std::nullopt;
    if (!m || *m == AttachMode::none) return make_error(f.name("mode") + " must be native, generic or tc", "");
    return ActionSpec{SetAttachMode{ifname, *m}};
  }
  return make_error(
      (path.empty() ? "kind" : path + ".kind") + std::string(" \"") + std::string(kind) + "\" is not " +
          (path.empty() ? "an override" : "a pinned action"),
      path.empty() ? "use pause, forbid, pin, block, unblock, shadow, limit, shape or attach_mode"
                   : "a pinned action is block, unblock, shadow, limit, shape or attach_mode");
}

}  // namespace

std::string default_who(const Peer& peer) {
  if (peer.transport == Peer::Transport::unix_socket && peer.uid) {
    if (const passwd* pw = ::getpwuid(*peer.uid)) return pw->pw_name;
    return "uid " + std::to_string(*peer.uid);
  }
  if (!peer.address.empty()) return "api@" + peer.address;
  return "api";
}

Result<ParsedOverride> parse_override_request(const json::object& body, const Peer& peer) {
  Fields f(body, "");
  TRY(kind_text, f.text("kind", 32));
  if (!*kind_text)
    return make_error("an override needs \"kind\"",
                      "one of pause, forbid, pin, block, unblock, shadow, limit, shape, attach_mode");
  const std::string kind = **kind_text;

  ParsedOverride out;
  Override& o = out.override_;
  TRY(ttl, f.duration("ttl"));
  if (!*ttl || **ttl <= 0)
    return make_error("an override must carry a ttl above 0",
                      "send e.g. \"ttl\": \"30m\": a forgotten override must not outlive the incident");
  if (**ttl > kMaxOverrideTtl)
    return make_error("ttl " + plan::format_duration(**ttl) + " is longer than " + plan::format_duration(kMaxOverrideTtl),
                      "renew the override when it nears its end instead");
  out.ttl_ns = **ttl;
  TRY(reason, f.text("reason"));
  if (!*reason || (*reason)->find_first_not_of(" \t") == std::string::npos)
    return make_error("an override must say why", "send \"reason\": \"what it is for\"");
  o.reason = **reason;
  TRY(who, f.text("who", 128));
  o.who = who->value_or("");
  if (o.who.empty()) o.who = default_who(peer);
  TRY(id, f.text("id", 64));
  o.id = id->value_or("");

  if (kind == "pause") {
    if (auto st = f.only({"kind", "ttl", "reason", "who", "id"}, "pause"); !st) return st.error();
    o.kind = Override::Kind::pause_all;
    return out;
  }
  if (kind == "forbid") {
    if (auto st = f.only({"kind", "action", "iface", "prefix", "ttl", "reason", "who", "id"}, "forbid"); !st)
      return st.error();
    o.kind = Override::Kind::forbid;
    TRY(action, f.text("action", 32));
    if (!*action)
      return make_error("forbid needs \"action\": the kind of action to forbid",
                        "block, rate_limit, shadow, shape, attach_mode, swap_program, alert, or *");
    o.action_kind = **action == "limit" ? "rate_limit" : **action;
    if (o.action_kind != "*" && !plan::parse_action_kind(o.action_kind))
      return make_error("action \"" + **action + "\" is not an action kind",
                        "block, rate_limit, shadow, shape, attach_mode, swap_program, alert, or *");
    TRY(iface, f.text("iface", 64));
    TRY(prefix, f.prefix("prefix"));
    o.subject.iface = iface->value_or("");
    o.subject.prefix = *prefix;
    return out;
  }

  Action action;
  if (kind == "pin") {
    if (auto st = f.only({"kind", "action", "ttl", "reason", "who", "id"}, "pin"); !st) return st.error();
    const auto* a = f.find("action");
    if (!a || !a->is_object())
      return make_error("pin needs \"action\": the action to keep in force",
                        "e.g. \"action\": {\"kind\": \"block\", \"prefix\": \"203.0.113.0/24\"}");
    Fields af(a->get_object(), "action");
    TRY(akind, af.text("kind", 32));
    if (!*akind) return make_error("action.kind is missing", "block, unblock, shadow, limit, shape or attach_mode");
    if (auto st = af.only({"kind", "iface", "prefix", "proto", "port", "pps", "burst", "rate", "mode"}, "a pinned action");
        !st)
      return st.error();
    TRY(spec, parse_action(a->get_object(), "action", **akind));
    action.spec = std::move(*spec);
    action.rationale.decision = "pin";
    o.kind = Override::Kind::pin;
  } else {
    TRY(spec, parse_action(body, "", kind));
    action.spec = std::move(*spec);
    action.rationale.decision = "manual";
    o.kind = Override::Kind::manual;
  }
  action.ttl_ns = out.ttl_ns;
  action.rationale.note = o.reason;
  o.action = std::move(action);
  return out;
}

#undef TRY

}  // namespace reflex::api
