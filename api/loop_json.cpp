#include "api/loop_json.h"

#include "api/query.h"
#include "api/time_format.h"
#include "knowledge/json/action_json.h"
#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/recorder_json.h"
#include "knowledge/json/symptom_json.h"
#include "plan/action_text.h"
#include "plan/units.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <map>
#include <tuple>
#include <variant>

namespace reflex::api {

namespace json = boost::json;
using daemon::FlowSample;
using daemon::LoopView;

ViewClock::ViewClock(const LoopView& v) : now_ns_(v.now_ns) {
  if (v.last_tick && v.last_tick->wall_ns > 0) offset_ = v.last_tick->wall_ns - v.last_tick->ts_ns;
}

std::optional<TimeNs> ViewClock::wall_ns(TimeNs loop_ns) const {
  if (!offset_ || loop_ns == 0) return std::nullopt;
  return loop_ns + *offset_;
}

json::value ViewClock::wall(TimeNs loop_ns) const {
  auto w = wall_ns(loop_ns);
  if (!w) return nullptr;
  return json::value(rfc3339(*w));
}

json::value ViewClock::remaining_s(TimeNs expires_ns) const {
  if (expires_ns == 0) return nullptr;
  const TimeNs left = expires_ns - now_ns_;
  if (left <= 0) return 0;
  return (left + kNsPerSec - 1) / kNsPerSec;
}

std::string_view override_kind_name(Override::Kind k) {
  switch (k) {
    case Override::Kind::pause_all: return "pause";
    case Override::Kind::forbid: return "forbid";
    case Override::Kind::pin: return "pin";
    case Override::Kind::manual: return "manual";
  }
  return "unknown";
}

namespace {

// An override as stored, but a batch shows its first kShownBatchPrefixes
// prefixes (with the whole list's count and digest): /v1/state and
// /v1/overrides are rendered every tick, and a 100k list is ~2 MB. The whole
// list is in the store (GET /v1/history?kind=override).
constexpr std::size_t kShownBatchPrefixes = 16;

json::value stored_override_json(const Override& o) {
  const RuleBatch* b = o.action ? std::get_if<RuleBatch>(&o.action->spec) : nullptr;
  if (!b || b->prefixes.size() <= kShownBatchPrefixes) return to_json(o);
  const auto first = b->prefixes.begin();
  Action head{o.action->id,
              RuleBatch{b->iface, {first, first + kShownBatchPrefixes}, b->l4, b->verb, b->pps, b->burst, b->remove},
              o.action->ttl_ns, o.action->dry_run, o.action->rationale};
  Override shown{o.id, o.kind, o.who, o.created_ns, o.expires_ns, o.action_kind, o.subject, std::move(head), o.reason};
  json::value v = to_json(shown);
  if (auto* spec = v.as_object()["action"].as_object().if_contains("spec"); spec && spec->is_object()) {
    char digest[17];
    std::snprintf(digest, sizeof digest, "%016llx", static_cast<unsigned long long>(prefixes_digest(b->prefixes)));
    auto& so = spec->as_object();
    so["count"] = b->prefixes.size();
    so["digest"] = digest;
    so["prefixes_shown"] = kShownBatchPrefixes;
  }
  return v;
}

}  // namespace

json::object override_json(const daemon::OverrideView& ov, const ViewClock& clock) {
  const Override& o = ov.override_;
  json::object out;
  out["id"] = o.id;
  out["kind"] = override_kind_name(o.kind);
  out["who"] = o.who;
  out["reason"] = o.reason;
  out["created_at"] = clock.wall(o.created_ns);
  out["expires_at"] = clock.wall(o.expires_ns);
  out["ttl_remaining_s"] = clock.remaining_s(o.expires_ns);
  out["matched"] = ov.matched;
  // An override that has held back or changed nothing yet may be aimed at
  // the wrong subject: say so where the operator looks.
  if (!ov.matched && o.kind != Override::Kind::pause_all)
    out["note"] = "has matched no decision since it was created";
  if (o.kind == Override::Kind::forbid) {
    out["forbids"] = o.action_kind;
    out["subject"] = to_json(o.subject);
  }
  if (o.action) out["describe"] = plan::describe(o.action->spec);
  out["override"] = stored_override_json(o);
  return out;
}

json::object rule_json(const std::string& iface, const DesiredRule& r, const ViewClock& clock) {
  json::object out = to_json(r).as_object();
  out["iface"] = iface;
  out["ttl_remaining_s"] = clock.remaining_s(r.expires_ns);
  out["expires_at"] = clock.wall(r.expires_ns);
  return out;
}

json::object shape_json(const std::string& iface, const DesiredShape& s, const ViewClock& clock) {
  json::object out = to_json(s).as_object();
  out["iface"] = iface;
  out["rate"] = plan::format_bit_rate(s.rate_bps);
  out["ttl_remaining_s"] = clock.remaining_s(s.expires_ns);
  out["expires_at"] = clock.wall(s.expires_ns);
  return out;
}

json::object symptom_json(const Symptom& s, const ViewClock& clock) {
  json::object out = to_json(s).as_object();
  out["describe"] = plan::describe(s.subject);
  out["since"] = clock.wall(s.since_ns);
  out["at"] = clock.wall(s.ts_ns);
  return out;
}

json::object symptom_event_json(const SymptomEvent& e, const ViewClock& clock) {
  json::object out;
  out["transition"] = to_string(e.transition);
  out["at"] = clock.wall(e.symptom.ts_ns);
  out["symptom"] = symptom_json(e.symptom, clock);
  return out;
}

json::object plan_json(const Plan& p, const ViewClock& clock) {
  json::object out = to_json(p).as_object();
  out["at"] = clock.wall(p.ts_ns);
  json::array lines;
  for (const auto& a : p.actions) lines.emplace_back(plan::describe(a));
  out["describe"] = std::move(lines);
  json::array used;
  for (const auto& id : p.overrides_used) used.emplace_back(id);
  out["overrides_used"] = std::move(used);
  return out;
}

std::string_view action_status(const daemon::ActionView& a) {
  return a.outcome ? to_string(a.outcome->status) : std::string_view("pending");
}

json::object action_view_json(const daemon::ActionView& a, const ViewClock& clock) {
  json::object out;
  out["id"] = a.action.id;
  out["kind"] = plan::action_kind_name(a.action.spec);
  out["target"] = plan::target_key(a.action.spec);
  out["describe"] = plan::describe(a.action);
  out["status"] = action_status(a);
  out["plan_id"] = a.plan_id;
  out["planned_at"] = clock.wall(a.planned_ns);
  out["action"] = to_json(a.action);
  out["outcome"] = a.outcome ? to_json(*a.outcome) : json::value(nullptr);
  return out;
}

json::object interface_json(const daemon::InterfaceState& s, const LoopView& v) {
  json::object out;
  out["key"] = s.key;
  out["mode"] = to_string(s.mode);
  out["wanted"] = to_string(s.wanted);
  out["present"] = s.present;
  out["up"] = s.up;
  out["healthy"] = s.healthy;
  out["problem"] = s.problem;
  std::size_t rules = 0, shapes = 0;
  if (v.snapshot && v.snapshot->desired)
    if (auto it = v.snapshot->desired->ifaces.find(s.key); it != v.snapshot->desired->ifaces.end()) {
      rules = it->second.rules.size();
      shapes = it->second.shapes.size();
    }
  out["rules"] = rules;
  out["shapes"] = shapes;
  if (v.snapshot)
    if (auto it = v.snapshot->observation.interfaces.find(s.key); it != v.snapshot->observation.interfaces.end()) {
      const auto& o = it->second;
      out["rx_pps"] = o.rx_pps;
      out["rx_bps"] = o.rx_bps;
      out["pass_pps"] = o.xdp_rates.pass_pps;
      out["drop_pps"] = o.xdp_rates.drop_pps;
      out["rate_limited_pps"] = o.xdp_rates.rate_limited_pps;
      out["shadow_pps"] = o.xdp_rates.shadow_pps;
      json::array errors;
      for (const auto& e : o.attach_errors) errors.emplace_back(e);
      out["attach_errors"] = std::move(errors);
    }
  return out;
}

json::object tick_json(const daemon::TickInfo& t) {
  json::object out;
  out["seq"] = t.seq;
  out["snapshot_version"] = t.snapshot_version;
  out["at"] = t.wall_ns > 0 ? json::value(rfc3339(t.wall_ns)) : json::value(nullptr);
  out["duration_us"] = t.duration_ns / 1000;
  out["overran"] = t.overran;
  json::object stages;
  for (std::size_t i = 0; i < daemon::kStageCount; ++i)
    stages[to_string(daemon::kAllStages[i])] = t.stage_ns[i] / 1000;
  out["stages_us"] = std::move(stages);
  out["symptom_events"] = t.symptom_events;
  out["actions"] = t.actions;
  out["outcomes"] = t.outcomes;
  return out;
}

std::uint64_t log2_quantile_us(const std::array<std::uint64_t, 32>& buckets, double q) {
  std::uint64_t total = 0;
  for (auto c : buckets) total += c;
  if (total == 0) return 0;
  const double want = q * static_cast<double>(total);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets.size(); ++i) {
    seen += buckets[i];
    if (static_cast<double>(seen) >= want && buckets[i] > 0) return 2ull << i;
  }
  return 2ull << (buckets.size() - 1);
}

json::object stages_json(const LoopView& v) {
  json::object out;
  for (std::size_t i = 0; i < daemon::kStageCount; ++i) {
    const auto& s = v.stages[i];
    json::object o;
    o["count"] = s.count;
    o["last_us"] = s.last_ns / 1000;
    o["max_us"] = s.max_ns / 1000;
    o["mean_us"] = s.count ? s.total_ns / static_cast<TimeNs>(s.count) / 1000 : 0;
    o["p50_us"] = log2_quantile_us(s.log2_us, 0.5);
    o["p99_us"] = log2_quantile_us(s.log2_us, 0.99);
    out[to_string(daemon::kAllStages[i])] = std::move(o);
  }
  return out;
}

json::object store_json(const LoopView& v) {
  json::object out = to_json(v.store).as_object();
  out["path"] = v.store_path;
  out["kept"] = !v.store_path.empty();
  return out;
}

json::object record_json(const Record& r) {
  json::object out = to_json(r).as_object();
  out["at"] = r.wall_ns > 0 ? json::value(rfc3339(r.wall_ns)) : json::value(nullptr);
  return out;
}

std::optional<RuleVerb> parse_rule_verb(std::string_view s) {
  for (auto v : {RuleVerb::drop, RuleVerb::allow, RuleVerb::rate_limit, RuleVerb::shadow})
    if (to_string(v) == s) return v;
  if (s == "block") return RuleVerb::drop;
  if (s == "limit") return RuleVerb::rate_limit;
  return std::nullopt;
}

namespace {

using RuleKey = std::tuple<Prefix, std::uint8_t, std::uint16_t>;

RuleKey rule_key(const DesiredRule& r) { return {r.prefix, r.l4.proto.value_or(0), r.l4.port.value_or(0)}; }

std::string cursor_of(const std::string& iface, const DesiredRule& r) {
  return iface + "|" + r.prefix.to_string() + "|" + std::to_string(r.l4.proto.value_or(0)) + "|" +
         std::to_string(r.l4.port.value_or(0));
}

struct Cursor {
  std::string iface;
  RuleKey key;
};

Result<std::optional<Cursor>> parse_cursor(const std::string& text) {
  if (text.empty()) return std::optional<Cursor>{};
  const Error bad = make_error("cursor \"" + text + "\" is not one this API gave",
                               "pass the \"next\" of the previous page as it was");
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto bar = text.find('|', start);
    parts.push_back(text.substr(start, bar == std::string::npos ? std::string::npos : bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  if (parts.size() != 4) return bad;
  auto prefix = Prefix::parse(parts[1]);
  unsigned proto = 0, port = 0;
  auto num = [](const std::string& s, unsigned& out, unsigned max) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return !s.empty() && ec == std::errc() && end == s.data() + s.size() && out <= max;
  };
  if (!prefix || !num(parts[2], proto, 255) || !num(parts[3], port, 65535)) return bad;
  return std::optional<Cursor>{
      Cursor{parts[0], {*prefix, static_cast<std::uint8_t>(proto), static_cast<std::uint16_t>(port)}}};
}

}  // namespace

Result<RulePage> rule_page(const LoopView& v, const RuleFilter& f, std::size_t limit, const std::string& cursor_text) {
  auto cursor = parse_cursor(cursor_text);
  if (!cursor) return cursor.error();
  RulePage page;
  if (!v.snapshot || !v.snapshot->desired) return page;
  const ViewClock clock(v);
  for (const auto& [iface, d] : v.snapshot->desired->ifaces) page.total += d.rules.size();

  const DesiredRule* last = nullptr;
  std::string_view last_iface;
  for (const auto& [iface, d] : v.snapshot->desired->ifaces) {
    if (!f.iface.empty() && iface != f.iface) continue;
    if (*cursor && iface < (*cursor)->iface) continue;
    auto it = d.rules.begin();
    if (*cursor && iface == (*cursor)->iface)  // rules are sorted by key: start after the cursor's
      it = std::upper_bound(d.rules.begin(), d.rules.end(), (*cursor)->key,
                            [](const RuleKey& k, const DesiredRule& r) { return k < rule_key(r); });
    for (; it != d.rules.end(); ++it) {
      if (f.within && !f.within->contains(it->prefix)) continue;
      if (f.verb && it->verb != *f.verb) continue;
      if (page.items.size() == limit) {  // there is more: the cursor is the last one shown
        page.next = cursor_of(std::string(last_iface), *last);
        return page;
      }
      page.items.push_back(rule_json(iface, *it, clock));
      last = &*it;
      last_iface = iface;
    }
  }
  return page;
}

json::object flows_json(const LoopView& v, const FlowFilter& f, std::size_t limit) {
  const ViewClock clock(v);
  auto keep = [&](const FlowSample& s) {
    const auto& d = s.sample;
    if (!f.iface.empty() && d.iface != f.iface) return false;
    if (f.src && !f.src->contains(d.source)) return false;
    if (f.proto && d.proto != *f.proto) return false;
    if (f.port && d.dport != *f.port) return false;
    if (!f.verdict.empty() && d.reason != f.verdict) return false;
    return true;
  };
  auto sample_every = [&](const std::string& iface) -> std::uint64_t {
    if (!v.snapshot) return 1;
    auto it = v.snapshot->observation.interfaces.find(iface);
    return it == v.snapshot->observation.interfaces.end() || it->second.sample_every == 0 ? 1
                                                                                           : it->second.sample_every;
  };

  json::object out;
  std::size_t matched = 0;
  json::array items;
  if (f.raw) {
    for (auto it = v.flows.rbegin(); it != v.flows.rend(); ++it) {
      if (!keep(*it)) continue;
      ++matched;
      if (items.size() >= limit) continue;
      const auto& d = it->sample;
      json::object o;
      o["iface"] = d.iface;
      o["source"] = d.source.to_string();
      o["protocol"] = ip_proto_name(d.proto);
      o["dport"] = d.dport;
      o["verdict"] = d.reason;
      o["bytes"] = d.pkt_len;
      o["rule_uid"] = d.rule_uid;
      o["at"] = clock.wall(it->seen_ns);
      items.emplace_back(std::move(o));
    }
  } else {
    struct Flow {
      std::uint64_t samples = 0, bytes = 0;
      TimeNs first = 0, last = 0;
    };
    using Key = std::tuple<std::string, Prefix, std::uint8_t, std::uint16_t, std::string>;
    std::map<Key, Flow> flows;
    for (const auto& s : v.flows) {
      if (!keep(s)) continue;
      ++matched;
      auto& fl = flows[{s.sample.iface, s.sample.source, s.sample.proto, s.sample.dport, s.sample.reason}];
      ++fl.samples;
      fl.bytes += s.sample.pkt_len;
      if (fl.first == 0 || s.seen_ns < fl.first) fl.first = s.seen_ns;
      fl.last = std::max(fl.last, s.seen_ns);
    }
    std::vector<std::pair<Key, Flow>> sorted(flows.begin(), flows.end());
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const auto& a, const auto& b) { return a.second.samples > b.second.samples; });
    for (const auto& [key, fl] : sorted) {
      if (items.size() >= limit) break;
      const auto& [iface, src, proto, dport, verdict] = key;
      const std::uint64_t every = sample_every(iface);
      json::object o;
      o["iface"] = iface;
      o["source"] = src.to_string();
      o["protocol"] = ip_proto_name(proto);
      o["dport"] = dport;
      o["verdict"] = verdict;
      o["samples"] = fl.samples;
      o["sampled_bytes"] = fl.bytes;
      // The guard samples one packet in N: the counts it stands for.
      o["packets_est"] = fl.samples * every;
      o["bytes_est"] = fl.bytes * every;
      o["first_seen"] = clock.wall(fl.first);
      o["last_seen"] = clock.wall(fl.last);
      items.emplace_back(std::move(o));
    }
  }
  out["flows"] = std::move(items);
  out["matched_samples"] = matched;
  out["samples_kept"] = v.flows.size();
  json::object every;
  if (v.snapshot)
    for (const auto& [iface, o] : v.snapshot->observation.interfaces) every[iface] = o.sample_every;
  out["sample_every"] = std::move(every);
  return out;
}

json::object state_json(const LoopView& v, std::size_t rules) {
  const ViewClock clock(v);
  json::object out;
  out["phase"] = to_string(v.phase);
  out["ready"] = v.ready;
  json::object tick;
  tick["interval_ms"] = v.tick_interval_ns / kNsPerMs;
  tick["count"] = v.ticks;
  tick["overruns"] = v.overruns;
  tick["last"] = v.last_tick ? json::value(tick_json(*v.last_tick)) : json::value(nullptr);
  out["tick"] = std::move(tick);
  out["stages"] = stages_json(v);

  json::array ifaces;
  for (const auto& s : v.interfaces) ifaces.emplace_back(interface_json(s, v));
  out["interfaces"] = std::move(ifaces);

  auto page = rule_page(v, {}, std::max<std::size_t>(rules, 1), "");
  json::object r;
  r["total"] = page ? page->total : 0;
  if (rules == 0 || !page) {
    r["items"] = json::array{};
    r["next"] = nullptr;
  } else {
    r["items"] = std::move(page->items);
    r["next"] = page->next ? json::value(*page->next) : json::value(nullptr);
  }
  out["rules"] = std::move(r);

  json::array shapes;
  if (v.snapshot && v.snapshot->desired)
    for (const auto& [iface, d] : v.snapshot->desired->ifaces)
      for (const auto& s : d.shapes) shapes.emplace_back(shape_json(iface, s, clock));
  out["shapes"] = std::move(shapes);

  out["policy_generation"] = v.policy_generation;
  json::array overrides;
  for (const auto& o : v.overrides) overrides.emplace_back(override_json(o, clock));
  out["overrides"] = std::move(overrides);
  out["symptoms_active"] = v.snapshot ? v.snapshot->symptoms.size() : 0;
  out["desired_version"] = v.snapshot && v.snapshot->desired ? v.snapshot->desired->version : 0;
  out["store"] = store_json(v);
  return out;
}

std::vector<std::string> not_ready_reasons(const LoopView& v) {
  std::vector<std::string> out;
  if (!v.last_tick) out.push_back("the loop has not finished its first tick");
  if (v.phase == daemon::LoopPhase::starting) out.push_back("the loop is starting");
  if (v.phase == daemon::LoopPhase::stopping) out.push_back("the loop is stopping");
  for (const auto& s : v.interfaces)
    if (s.mode == AttachMode::none)
      out.push_back(s.key + " is not attached" + (s.problem.empty() ? "" : ": " + s.problem));
  if (out.empty() && !v.ready) out.push_back("the loop says it is not ready");
  return out;
}

}  // namespace reflex::api
