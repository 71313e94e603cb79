#include "plan/action_text.h"

#include "plan/units.h"

#include <cstdio>

namespace reflex::plan {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string iface_text(const std::string& iface) { return iface.empty() ? "*" : iface; }

std::string verb_word(RuleVerb v) {
  switch (v) {
    case RuleVerb::drop: return "block";
    case RuleVerb::rate_limit: return "rate_limit";
    case RuleVerb::shadow: return "shadow";
    case RuleVerb::allow: return "allow";
  }
  return "?";
}

}  // namespace

std::string l4_text(const L4Match& l4) {
  std::string out;
  if (l4.proto) {
    auto p = *l4.proto;
    out += " proto=" + std::string(p == 6 ? "tcp" : p == 17 ? "udp" : p == 1 ? "icmp" : p == 58 ? "icmpv6" : std::to_string(p));
  }
  if (l4.port) out += " port=" + std::to_string(*l4.port);
  return out;
}

std::string_view action_kind_name(const ActionSpec& spec) {
  return std::visit(Overloaded{
                        [](const BlockPrefix&) { return std::string_view("block"); },
                        [](const ShadowPrefix&) { return std::string_view("shadow"); },
                        [](const RateLimitPrefix&) { return std::string_view("rate_limit"); },
                        [](const Unblock&) { return std::string_view("unblock"); },
                        [](const ShapeInterface&) { return std::string_view("shape"); },
                        [](const SetAttachMode&) { return std::string_view("attach_mode"); },
                        [](const SwapProgram&) { return std::string_view("swap_program"); },
                        [](const Alert&) { return std::string_view("alert"); },
                        [](const AggregateRules&) { return std::string_view("aggregate"); },
                        [](const RuleBatch&) { return std::string_view("rule_batch"); },
                    },
                    spec);
}

std::string target_key(const ActionSpec& spec) {
  auto prefix_key = [](const std::string& iface, const Prefix& p, const L4Match& l4) {
    return "prefix:" + iface_text(iface) + ":" + p.to_string() + l4_text(l4);
  };
  return std::visit(Overloaded{
                        [&](const BlockPrefix& a) { return prefix_key(a.iface, a.prefix, a.l4); },
                        [&](const ShadowPrefix& a) { return prefix_key(a.iface, a.prefix, a.l4); },
                        [&](const RateLimitPrefix& a) { return prefix_key(a.iface, a.prefix, a.l4); },
                        [&](const Unblock& a) { return prefix_key(a.iface, a.prefix, a.l4); },
                        [](const ShapeInterface& a) {
                          return "shape:" + iface_text(a.iface) + (a.prefix ? ":" + a.prefix->to_string() : "");
                        },
                        [](const SetAttachMode& a) { return "attach:" + iface_text(a.iface); },
                        [](const SwapProgram& a) { return "program:" + iface_text(a.iface); },
                        [](const Alert& a) { return "alert:" + a.message; },
                        [](const AggregateRules& a) {
                          return "aggregate:" + iface_text(a.iface) + ":" + verb_word(a.verb);
                        },
                        [](const RuleBatch& a) {
                          char digest[17];
                          std::snprintf(digest, sizeof digest, "%016llx",
                                        static_cast<unsigned long long>(prefixes_digest(a.prefixes)));
                          return "batch:" + iface_text(a.iface) + ":" + std::to_string(a.prefixes.size()) + ":" +
                                 digest + l4_text(a.l4);
                        },
                    },
                    spec);
}

std::optional<Prefix> target_prefix(const ActionSpec& spec) {
  return std::visit(Overloaded{
                        [](const BlockPrefix& a) -> std::optional<Prefix> { return a.prefix; },
                        [](const ShadowPrefix& a) -> std::optional<Prefix> { return a.prefix; },
                        [](const RateLimitPrefix& a) -> std::optional<Prefix> { return a.prefix; },
                        [](const Unblock& a) -> std::optional<Prefix> { return a.prefix; },
                        [](const ShapeInterface& a) -> std::optional<Prefix> { return a.prefix; },
                        [](const auto&) -> std::optional<Prefix> { return std::nullopt; },
                    },
                    spec);
}

std::string target_iface(const ActionSpec& spec) {
  return std::visit(Overloaded{
                        [](const Alert&) { return std::string(); },
                        [](const auto& a) { return a.iface; },
                    },
                    spec);
}

std::string describe(const ActionSpec& spec) {
  std::string out(action_kind_name(spec));
  std::visit(Overloaded{
                 [&](const BlockPrefix& a) { out += " iface=" + iface_text(a.iface) + " prefix=" + a.prefix.to_string() + l4_text(a.l4); },
                 [&](const ShadowPrefix& a) { out += " iface=" + iface_text(a.iface) + " prefix=" + a.prefix.to_string() + l4_text(a.l4); },
                 [&](const RateLimitPrefix& a) {
                   out += " iface=" + iface_text(a.iface) + " prefix=" + a.prefix.to_string() + l4_text(a.l4) +
                          " pps=" + std::to_string(a.pps);
                   if (a.burst) out += " burst=" + std::to_string(a.burst);
                 },
                 [&](const Unblock& a) { out += " iface=" + iface_text(a.iface) + " prefix=" + a.prefix.to_string() + l4_text(a.l4); },
                 [&](const ShapeInterface& a) {
                   out += " iface=" + iface_text(a.iface);
                   if (a.prefix) out += " prefix=" + a.prefix->to_string();
                   out += a.rate_bps ? " rate=" + format_bit_rate(a.rate_bps) : std::string(" rate=off");
                   if (a.burst_bytes) out += " burst=" + std::to_string(a.burst_bytes);
                 },
                 [&](const SetAttachMode& a) { out += " iface=" + iface_text(a.iface) + " mode=" + std::string(to_string(a.mode)); },
                 [&](const SwapProgram& a) { out += " iface=" + iface_text(a.iface) + " program=" + a.program; },
                 [&](const Alert& a) { out += " message=\"" + a.message + "\""; },
                 [&](const AggregateRules& a) {
                   out += " iface=" + iface_text(a.iface) + " verb=" + verb_word(a.verb) + " length=" +
                          std::to_string(a.len_v4) + "/" + std::to_string(a.len_v6) +
                          " min_hosts=" + std::to_string(a.min_hosts);
                   if (!a.keep_out.empty()) out += " keep_out=" + std::to_string(a.keep_out.size());
                 },
                 [&](const RuleBatch& a) {
                   out += " iface=" + iface_text(a.iface) + (a.remove ? " remove" : " verb=" + verb_word(a.verb)) +
                          " prefixes=" + std::to_string(a.prefixes.size());
                   if (!a.prefixes.empty()) out += " first=" + a.prefixes.front().to_string();
                   out += l4_text(a.l4);
                   if (!a.remove && a.verb == RuleVerb::rate_limit) out += " pps=" + std::to_string(a.pps);
                 },
             },
             spec);
  return out;
}

std::string describe(const Action& a) {
  std::string out = describe(a.spec);
  if (a.ttl_ns) out += " ttl=" + format_duration(a.ttl_ns);
  if (a.dry_run) out += " dry_run";
  if (!a.rationale.rule_id.empty()) out += " rule=" + a.rationale.rule_id;
  if (!a.rationale.decision.empty()) out += " decision=" + a.rationale.decision;
  return out;
}

std::string rules_map_iface(const std::string& map) {
  constexpr std::string_view kSuffix = "/rules";
  if (map.size() <= kSuffix.size() || map.compare(map.size() - kSuffix.size(), kSuffix.size(), kSuffix) != 0)
    return "";
  return map.substr(0, map.size() - kSuffix.size());
}

std::string describe(const Subject& s) {
  std::string out;
  auto add = [&](const std::string& kv) { out += (out.empty() ? "" : " ") + kv; };
  if (!s.iface.empty()) add("iface=" + s.iface);
  if (s.prefix) add("prefix=" + s.prefix->to_string());
  if (!s.map.empty()) add("map=" + s.map);
  if (!s.reason.empty()) add("reason=" + s.reason);
  return out.empty() ? "(node)" : out;
}

}  // namespace reflex::plan
