#include "knowledge/store/rollup.h"

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cmath>

#include "common/log2_histogram.h"
#include "knowledge/json/codec.h"

namespace reflex::store {
namespace {

namespace json = boost::json;

// Rates per interface (observation_json names), and where they sit.
constexpr const char* kIfaceRates[] = {"rx_pps", "rx_bps", "tx_pps", "tx_bps"};
constexpr const char* kXdpRates[] = {"pass_pps", "drop_pps", "rate_limited_pps", "shadow_pps",
                                     "run_ns_per_packet"};
constexpr const char* kIfaceCounters[] = {"rx_packets", "rx_bytes",   "tx_packets", "tx_bytes",
                                          "rx_errors",  "rx_dropped", "tx_errors",  "tx_dropped"};
constexpr const char* kXdpCounters[] = {"pass",   "drop",      "rate_limited", "shadow",     "allowed",
                                        "non_ip", "malformed", "bytes",        "events_lost"};

std::optional<double> number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_double()) return v->get_double();
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  return std::nullopt;
}

std::optional<std::uint64_t> as_count(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  return std::nullopt;
}

std::optional<std::uint64_t> count(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? as_count(*v) : std::nullopt;
}

const json::object* object_at(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v ? v->if_object() : nullptr;
}

json::value round3(double x) {
  if (!std::isfinite(x)) return 0;
  return to_json(std::round(x * 1000.0) / 1000.0);
}

json::value stat_json(const Stat& s) {
  return json::object{{"avg", round3(s.avg())},
                      {"min", round3(s.n ? s.min : 0)},
                      {"max", round3(s.n ? s.max : 0)},
                      {"n", s.n}};
}

// Roll-ups read back merge the stats they hold; the sum is rebuilt from the
// average, which is exact enough for a summary.
Stat stat_from(const json::value& v) {
  Stat s;
  const auto* o = v.if_object();
  if (!o) return s;
  s.n = count(*o, "n").value_or(0);
  if (!s.n) return s;
  s.sum = number(*o, "avg").value_or(0) * static_cast<double>(s.n);
  s.min = number(*o, "min").value_or(0);
  s.max = number(*o, "max").value_or(0);
  return s;
}

void add_iface(IfaceRollup& r, const json::object& i) {
  ++r.ticks;
  if (const auto* p = i.if_contains("present"); p && p->is_bool() && p->get_bool()) ++r.present_ticks;
  if (const auto* u = i.if_contains("oper_up"); u && u->is_bool() && u->get_bool()) ++r.up_ticks;
  if (const auto* m = i.if_contains("mode"); m && m->is_string()) r.mode = std::string(m->get_string());
  for (const char* k : kIfaceRates)
    if (auto x = number(i, k)) r.rates[k].add(*x);
  for (const char* k : kIfaceCounters)
    if (auto x = count(i, k)) r.counters[k].add(*x);
  if (const auto* xdp = object_at(i, "xdp")) {
    for (const char* k : kXdpRates)
      if (auto x = number(*xdp, k)) r.rates[k].add(*x);
    for (const char* k : kXdpCounters)
      if (auto x = count(*xdp, k)) r.counters[std::string("xdp.") + k].add(*x);
  }
  if (const auto* drops = object_at(i, "drops"))
    for (const auto& kv : *drops)
      if (auto x = count(*drops, kv.key())) r.counters["drops." + std::string(kv.key())].add(*x);
  if (const auto* rtt = object_at(i, "rtt_us")) {
    if (const auto* b = rtt->if_contains("log2_buckets"); b && b->is_array()) {
      const auto& a = b->get_array();
      for (std::size_t k = 0; k < a.size() && k < r.rtt_buckets.size(); ++k)
        r.rtt_buckets[k] += as_count(a[k]).value_or(0);
    }
    r.rtt_samples += count(*rtt, "samples").value_or(0);
    if (auto p99 = number(*rtt, "p99"); p99 && count(*rtt, "samples").value_or(0) > 0) r.rtt_p99.add(*p99);
  }
}

}  // namespace

void Stat::add(double x) {
  if (!std::isfinite(x)) return;
  ++n;
  sum += x;
  min = std::min(min, x);
  max = std::max(max, x);
}

void Stat::merge(const Stat& o) {
  if (!o.n) return;
  n += o.n;
  sum += o.sum;
  min = std::min(min, o.min);
  max = std::max(max, o.max);
}

void CounterSpan::add(std::uint64_t v) {
  if (!seen) first = v;
  last = v;
  seen = true;
}

void CounterSpan::merge_later(const CounterSpan& later) {
  if (!later.seen) return;
  if (!seen) first = later.first;
  last = later.last;
  seen = true;
}

TimeNs bucket_start(TimeNs wall_ns, std::int64_t resolution_s) {
  const TimeNs width = resolution_s * kNsPerSec;
  TimeNs q = wall_ns / width;
  if (wall_ns % width < 0) --q;
  return q * width;
}

void Rollup::add_observation(const json::value& v) {
  const auto* obs = v.if_object();
  if (!obs) return;
  ++ticks;
  if (const auto* ifs = object_at(*obs, "interfaces"))
    for (const auto& kv : *ifs)
      if (const auto* i = kv.value().if_object()) add_iface(ifaces[std::string(kv.key())], *i);
  if (const auto* maps = object_at(*obs, "maps"))
    for (const auto& kv : *maps)
      if (const auto* m = kv.value().if_object()) {
        if (auto f = number(*m, "fill")) map_fill[std::string(kv.key())].add(*f);
        if (auto e = number(*m, "entries")) map_entries[std::string(kv.key())].add(*e);
      }
  if (const auto* d = obs->if_contains("degraded"); d && d->is_array())
    for (const auto& p : d->get_array())
      if (const auto* po = p.if_object())
        if (const auto* name = po->if_contains("probe"); name && name->is_string())
          ++degraded[std::string(name->get_string())];
}

void Rollup::merge_later(const Rollup& later) {
  ticks += later.ticks;
  for (const auto& [name, l] : later.ifaces) {
    IfaceRollup& r = ifaces[name];
    r.ticks += l.ticks;
    r.present_ticks += l.present_ticks;
    r.up_ticks += l.up_ticks;
    if (!l.mode.empty()) r.mode = l.mode;
    for (const auto& [k, s] : l.rates) r.rates[k].merge(s);
    for (const auto& [k, c] : l.counters) r.counters[k].merge_later(c);
    for (std::size_t k = 0; k < r.rtt_buckets.size(); ++k) r.rtt_buckets[k] += l.rtt_buckets[k];
    r.rtt_samples += l.rtt_samples;
    r.rtt_p99.merge(l.rtt_p99);
  }
  for (const auto& [k, s] : later.map_fill) map_fill[k].merge(s);
  for (const auto& [k, s] : later.map_entries) map_entries[k].merge(s);
  for (const auto& [k, n] : later.degraded) degraded[k] += n;
}

json::value Rollup::to_json() const {
  json::object ifs;
  for (const auto& [name, r] : ifaces) {
    json::object rates, counters;
    for (const auto& [k, s] : r.rates) rates[k] = stat_json(s);
    for (const auto& [k, c] : r.counters)
      if (c.seen) counters[k] = json::object{{"first", c.first}, {"last", c.last}};
    json::object i{{"ticks", r.ticks}, {"present_ticks", r.present_ticks}, {"up_ticks", r.up_ticks},
                   {"mode", r.mode},   {"rates", std::move(rates)},        {"counters", std::move(counters)}};
    if (r.rtt_samples || r.rtt_p99.n) {
      json::array b;
      for (auto c : r.rtt_buckets) b.push_back(c);
      i["rtt_us"] = json::object{{"p50", round3(log2_quantile(r.rtt_buckets, 0.50))},
                                 {"p90", round3(log2_quantile(r.rtt_buckets, 0.90))},
                                 {"p99", round3(log2_quantile(r.rtt_buckets, 0.99))},
                                 {"samples", r.rtt_samples},
                                 {"p99_ticks", stat_json(r.rtt_p99)},
                                 {"log2_buckets", std::move(b)}};
    }
    ifs[name] = std::move(i);
  }
  json::object maps;
  auto map_entry = [&](const std::string& k) -> json::object& {
    json::value& m = maps[k];
    if (!m.is_object()) m.emplace_object();
    return m.as_object();
  };
  for (const auto& [k, s] : map_entries) map_entry(k)["entries"] = stat_json(s);
  for (const auto& [k, s] : map_fill) map_entry(k)["fill"] = stat_json(s);
  json::object deg;
  for (const auto& [k, n] : degraded) deg[k] = n;
  return json::object{
      {"resolution_s", resolution_s}, {"start_wall_ns", start_wall_ns}, {"ticks", ticks},
      {"interfaces", std::move(ifs)}, {"maps", std::move(maps)},        {"degraded", std::move(deg)}};
}

Result<Rollup> Rollup::from_json(const json::value& v) {
  const auto* o = v.if_object();
  if (!o) return make_error("a roll-up is not a JSON object", "the record is damaged; it is skipped");
  Rollup r;
  r.resolution_s = static_cast<std::int64_t>(count(*o, "resolution_s").value_or(60));
  if (const auto* s = o->if_contains("start_wall_ns"); s && s->is_int64()) r.start_wall_ns = s->get_int64();
  r.ticks = count(*o, "ticks").value_or(0);
  if (const auto* ifs = object_at(*o, "interfaces"))
    for (const auto& kv : *ifs) {
      const auto* i = kv.value().if_object();
      if (!i) continue;
      IfaceRollup& ir = r.ifaces[std::string(kv.key())];
      ir.ticks = count(*i, "ticks").value_or(0);
      ir.present_ticks = count(*i, "present_ticks").value_or(0);
      ir.up_ticks = count(*i, "up_ticks").value_or(0);
      if (const auto* m = i->if_contains("mode"); m && m->is_string()) ir.mode = std::string(m->get_string());
      if (const auto* rates = object_at(*i, "rates"))
        for (const auto& rk : *rates) ir.rates[std::string(rk.key())] = stat_from(rk.value());
      if (const auto* cs = object_at(*i, "counters"))
        for (const auto& ck : *cs)
          if (const auto* c = ck.value().if_object())
            ir.counters[std::string(ck.key())] =
                CounterSpan{count(*c, "first").value_or(0), count(*c, "last").value_or(0), true};
      if (const auto* rtt = object_at(*i, "rtt_us")) {
        ir.rtt_samples = count(*rtt, "samples").value_or(0);
        if (const auto* p = rtt->if_contains("p99_ticks")) ir.rtt_p99 = stat_from(*p);
        if (const auto* b = rtt->if_contains("log2_buckets"); b && b->is_array())
          for (std::size_t k = 0; k < b->get_array().size() && k < ir.rtt_buckets.size(); ++k)
            ir.rtt_buckets[k] = as_count(b->get_array()[k]).value_or(0);
      }
    }
  if (const auto* maps = object_at(*o, "maps"))
    for (const auto& kv : *maps)
      if (const auto* m = kv.value().if_object()) {
        if (const auto* f = m->if_contains("fill")) r.map_fill[std::string(kv.key())] = stat_from(*f);
        if (const auto* e = m->if_contains("entries")) r.map_entries[std::string(kv.key())] = stat_from(*e);
      }
  if (const auto* d = object_at(*o, "degraded"))
    for (const auto& kv : *d) r.degraded[std::string(kv.key())] = count(*d, kv.key()).value_or(0);
  return r;
}

}  // namespace reflex::store
