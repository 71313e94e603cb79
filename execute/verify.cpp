#include "execute/verify.h"

#include "execute/desired_edit.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace reflex::execute {
namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

std::string pct(double f) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%.0f%%", f * 100);
  return buf;
}

bool worsening_kind(SymptomKind k) {
  // Symptoms our own actions move. A flood's evidence is what the sources
  // send, which a block does not change, so it says nothing here.
  return k == SymptomKind::latency_high || k == SymptomKind::drop_rate_high || k == SymptomKind::loss_high;
}

double per_s(std::uint64_t a, std::uint64_t b, double secs) {
  return secs > 0 && b >= a ? static_cast<double>(b - a) / secs : 0;
}

}  // namespace

Traffic Traffic::from(const Observation& obs) {
  Traffic t;
  t.ts = obs.ts_ns;
  for (const auto& [name, io] : obs.interfaces) {
    Iface i;
    i.present = io.present || io.mode != AttachMode::none || io.rx_packets;
    i.mode = io.mode;
    i.passed = io.xdp.pass + io.xdp.shadow;
    i.shadow = io.xdp.shadow;
    i.judged = io.xdp.pass + io.xdp.shadow + io.xdp.drop + io.xdp.rate_limited;
    i.rx_packets = io.rx_packets;
    i.tx_bytes = io.tx_bytes;
    i.rules = io.rules;
    i.attach_errors = io.attach_errors;
    t.ifaces.emplace(name, std::move(i));
  }
  // Sorted by key through indices (the talkers' strings are copied once, in
  // order); a key listed twice keeps its last counters, as a map assigned in
  // order would: the index breaks ties, and the last of a run is kept.
  const auto& talkers = obs.talkers;
  std::vector<std::uint32_t> order(talkers.size());
  for (std::uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  // Most observations are of one interface: then only the hosts are compared.
  const bool one_iface = std::all_of(talkers.begin(), talkers.end(),
                                     [&](const TalkerObservation& tk) { return tk.iface == talkers.front().iface; });
  std::sort(order.begin(), order.end(), [&](std::uint32_t x, std::uint32_t y) {
    const auto& a = talkers[x];
    const auto& b = talkers[y];
    if (!one_iface)
      if (const int c = a.iface.compare(b.iface)) return c < 0;
    if (const auto c = a.source <=> b.source; c != 0) return c < 0;
    return x < y;
  });
  t.sources.reserve(order.size());
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& tk = talkers[order[k]];
    if (k + 1 < order.size()) {
      const auto& next = talkers[order[k + 1]];
      if (next.iface == tk.iface && next.source == tk.source) continue;
    }
    t.sources.push_back({{tk.iface, tk.source}, Source{tk.packets, tk.dropped, tk.pps}});
  }
  return t;
}

const Traffic::Source* Traffic::source(const SourceKey& key) const {
  auto it = std::lower_bound(sources.begin(), sources.end(), key, [](const auto& e, const SourceKey& k) { return e.first < k; });
  return it != sources.end() && it->first == key ? &it->second : nullptr;
}

Rates rates(const Traffic* a, const Traffic& b, const std::vector<std::string>& ifaces,
            const std::optional<Prefix>& prefix, const std::optional<Prefix>& origin_in) {
  Rates r;
  const std::optional<Prefix>& origin = origin_in ? origin_in : prefix;
  auto on = [&](const std::string& iface) { return std::find(ifaces.begin(), ifaces.end(), iface) != ifaces.end(); };
  auto in_scope = [&](const std::string& iface, const Prefix& src) { return on(iface) && prefix && prefix->contains(src); };
  auto in_origin = [&](const std::string& iface, const Prefix& src) { return on(iface) && origin && origin->contains(src); };
  if (!a) {
    for (const auto& [key, s] : b.sources) {
      // Nothing known about drops yet: as if all passed.
      if (in_origin(key.first, key.second)) r.origin_pass_pps += s.pps;
      if (!in_scope(key.first, key.second)) continue;
      r.prefix_sent_pps += s.pps;
      r.prefix_pass_pps += s.pps;
      ++r.prefix_sources;
    }
    return r;
  }
  r.seconds = static_cast<double>(b.ts - a->ts) / 1e9;
  if (r.seconds <= 0) return r;
  r.measured = !ifaces.empty();
  for (const auto& name : ifaces) {
    auto ia = a->ifaces.find(name), ib = b.ifaces.find(name);
    if (ia == a->ifaces.end() || ib == b.ifaces.end()) {
      r.measured = false;
      continue;
    }
    r.pass_pps += per_s(ia->second.passed, ib->second.passed, r.seconds);
    r.shadow_pps += per_s(ia->second.shadow, ib->second.shadow, r.seconds);
    r.judged_pps += per_s(ia->second.judged, ib->second.judged, r.seconds);
    r.rx_pps += per_s(ia->second.rx_packets, ib->second.rx_packets, r.seconds);
    r.tx_bps += 8 * per_s(ia->second.tx_bytes, ib->second.tx_bytes, r.seconds);
  }
  for (const auto& [key, sb] : b.sources) {
    const bool scope = in_scope(key.first, key.second), orig = in_origin(key.first, key.second);
    if (!scope && !orig) continue;
    const Traffic::Source* sa = a->source(key);
    double sent = 0, dropped = 0;
    if (sa) {
      sent = per_s(sa->packets, sb.packets, r.seconds);
      dropped = per_s(sa->dropped, sb.dropped, r.seconds);
    } else if (sb.packets) {
      // Not a talker at the start: it arrived within the window (its
      // counters began in it) or was below the top talkers then. Its packets
      // are in the interface's counters all the same, so leaving them out
      // of the origin would count a flood that just arrived as bystanders,
      // and the block that stops it as one that hurt them. Its count over
      // the window is exact for a newcomer; its last rate caps it for one
      // whose counters began long before; it drops its share so far.
      sent = std::min(static_cast<double>(sb.packets) / r.seconds, sb.pps);
      dropped = sent * static_cast<double>(std::min(sb.dropped, sb.packets)) / static_cast<double>(sb.packets);
    }
    if (orig) r.origin_pass_pps += std::max(0.0, sent - dropped);
    // The prefix itself is judged only on sources measured at both ends.
    if (!sa || !scope) continue;
    r.prefix_sent_pps += sent;
    r.prefix_pass_pps += std::max(0.0, sent - dropped);
    if (sent > 0) ++r.prefix_sources;
  }
  return r;
}

std::optional<Prefix> origin_of(const Action& a) {
  if (a.rationale.subject.prefix) return a.rationale.subject.prefix;
  std::optional<Prefix> p;
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, BlockPrefix> || std::is_same_v<T, ShadowPrefix> ||
                      std::is_same_v<T, RateLimitPrefix>)
          p = s.prefix;
      },
      a.spec);
  return p;
}

bool has_postcondition(const ActionSpec& spec) {
  if (std::holds_alternative<Unblock>(spec) || std::holds_alternative<Alert>(spec)) return false;
  if (const auto* b = std::get_if<RuleBatch>(&spec)) return !b->remove;
  if (const auto* s = std::get_if<ShapeInterface>(&spec)) return s->rate_bps != 0;
  return true;
}

const Symptom* answered_symptom(const Action& a, const std::vector<Symptom>& symptoms) {
  if (!a.rationale.symptom) return nullptr;
  for (const auto& s : symptoms)
    if (s.kind == *a.rationale.symptom && s.subject == a.rationale.subject) return &s;
  return nullptr;
}

Judgement judge(const Action& action, const std::vector<std::string>& ifaces, const Baseline& base,
                TimeNs applied_ns, TimeNs deadline_ns, const Traffic& now, const std::vector<Symptom>& symptoms,
                const VerifyConfig& cfg) {
  Judgement j;
  if (now.ts < applied_ns + cfg.settle_ns) return j;  // too soon to say
  const bool late = now.ts >= deadline_ns;
  std::optional<Prefix> prefix;
  std::optional<L4Match> l4;
  std::visit(
      [&](const auto& s) {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, BlockPrefix> || std::is_same_v<T, ShadowPrefix> ||
                      std::is_same_v<T, RateLimitPrefix>) {
          prefix = s.prefix;
          l4 = s.l4;
        }
      },
      action.spec);
  if (const auto* b = std::get_if<RuleBatch>(&action.spec)) {
    // A batch is an explicit list (an operator's, a feed's): what it stops is
    // the list's intent, not a symptom's, so there are no bystanders to spare
    // and no one prefix to measure. Its post-condition: every interface
    // holds at least as many rules as the batch has keys.
    const std::size_t keys = batch_key_count(*b);
    for (const auto& i : ifaces) {
      auto it = now.ifaces.find(i);
      if (it == now.ifaces.end()) {
        j.verdict = late ? Verdict::fails : Verdict::wait;
        j.detail = i + ": no observation since the change";
        return j;
      }
      if (it->second.rules < keys) {
        j.verdict = late ? Verdict::fails : Verdict::wait;
        j.detail = i + ": " + std::to_string(it->second.rules) + " rules in force, fewer than the batch's " +
                   std::to_string(keys);
        return j;
      }
    }
    j.verdict = Verdict::holds;
    j.detail = "the batch's " + std::to_string(keys) + " rules are in force";
    return j;
  }
  const Rates& before = base.before;
  const Rates after = rates(&base.at, now, ifaces, prefix, origin_of(action));

  // Bystanders first: whatever the action was for, it may not cost more than
  // the allowance. They are everyone but the symptom's own sources, so a
  // block wider than the flood that takes its neighbours along fails here.
  // A shadow rule drops nothing (it counts and passes), so whatever fell
  // around it (a block applied in the same tick) is not its doing.
  if (after.measured && before.measured && !std::holds_alternative<ShadowPrefix>(action.spec)) {
    const double benign_before = std::max(0.0, before.pass_pps - before.origin_pass_pps);
    const double benign_after = std::max(0.0, after.pass_pps - after.origin_pass_pps);
    if (benign_before >= cfg.min_pps && benign_after < (1 - cfg.max_drop_fraction) * benign_before) {
      j.verdict = Verdict::fails;
      j.effect = benign_after - benign_before;
      j.detail = "traffic outside the action fell from " + num(benign_before) + " to " + num(benign_after) +
                 " pps (more than the allowed " + pct(cfg.max_drop_fraction) + ")";
      return j;
    }
  }
  if (base.symptom_value && action.rationale.symptom && worsening_kind(*action.rationale.symptom))
    if (const Symptom* s = answered_symptom(action, symptoms);
        s && s->evidence.value > cfg.worsen_factor * *base.symptom_value && *base.symptom_value > 0) {
      j.verdict = Verdict::fails;
      j.effect = s->evidence.value - *base.symptom_value;
      j.detail = std::string(to_string(s->kind)) + " worsened from " + num(*base.symptom_value) + " to " +
                 num(s->evidence.value);
      return j;
    }

  auto holds = [&](std::string why, double effect = 0) {
    j.verdict = Verdict::holds;
    j.detail = std::move(why);
    j.effect = effect;
    return j;
  };
  auto not_yet = [&](std::string why, double effect = 0) {
    j.verdict = late ? Verdict::fails : Verdict::wait;
    j.detail = std::move(why);
    j.effect = effect;
    return j;
  };
  auto prefix_rates = [&] {
    return "the prefix passed " + num(before.prefix_pass_pps) + " pps before, " + num(after.prefix_pass_pps) +
           " pps after";
  };

  if (std::holds_alternative<BlockPrefix>(action.spec) || std::holds_alternative<RateLimitPrefix>(action.spec)) {
    if (before.prefix_pass_pps < cfg.min_pps) return holds("the prefix sent too little to judge (" + prefix_rates() + ")");
    if (after.seconds <= 0 || after.prefix_sources == 0) {
      // Talker accounting off (the lean program) or the sources stopped:
      // nothing says the action failed, so it is not rolled back for it.
      if (late) return holds("not measured: no counters for the prefix's sources since the change");
      return not_yet("no counters for the prefix's sources since the change");
    }
    const double effect = after.prefix_pass_pps - before.prefix_pass_pps;
    double limit = 0;
    if (std::holds_alternative<BlockPrefix>(action.spec)) {
      limit = (l4 && (l4->proto || l4->port) ? 1 - cfg.min_reduction : cfg.block_max_pass) * before.prefix_pass_pps;
    } else {
      const auto& rl = std::get<RateLimitPrefix>(action.spec);
      const double allowed = static_cast<double>(rl.pps) * static_cast<double>(std::max<std::size_t>(1, after.prefix_sources)) *
                             (1 + cfg.rate_tolerance);
      if (before.prefix_pass_pps <= allowed) return holds("the prefix sent below its limit (" + prefix_rates() + ")");
      limit = l4 && (l4->proto || l4->port) ? std::max(allowed, (1 - cfg.min_reduction) * before.prefix_pass_pps) : allowed;
    }
    limit = std::max(limit, cfg.min_pps);
    if (after.prefix_pass_pps <= limit) return holds(prefix_rates(), effect);
    return not_yet(prefix_rates() + ", more than the " + num(limit) + " pps the action should leave", effect);
  }
  if (std::holds_alternative<ShadowPrefix>(action.spec)) {
    if (before.prefix_sent_pps < cfg.min_pps) return holds("the prefix sent too little to judge");
    if (!after.measured) return not_yet("no guard counters since the change");
    if (after.shadow_pps > 0) return holds("the shadow rule counts " + num(after.shadow_pps) + " pps");
    return not_yet("the shadow rule counted nothing while the prefix sent " + num(after.prefix_sent_pps) + " pps");
  }
  if (std::holds_alternative<AggregateRules>(action.spec)) {
    std::uint64_t rules_before = 0, rules_now = 0;
    for (const auto& i : ifaces) {
      if (auto it = base.at.ifaces.find(i); it != base.at.ifaces.end()) rules_before += it->second.rules;
      if (auto it = now.ifaces.find(i); it != now.ifaces.end()) rules_now += it->second.rules;
    }
    if (rules_now < rules_before)
      return holds("rules fell from " + std::to_string(rules_before) + " to " + std::to_string(rules_now),
                   static_cast<double>(rules_now) - static_cast<double>(rules_before));
    return not_yet("rules did not fall (" + std::to_string(rules_before) + " before, " + std::to_string(rules_now) +
                   " now)");
  }
  if (const auto* m = std::get_if<SetAttachMode>(&action.spec)) {
    for (const auto& i : ifaces) {
      auto it = now.ifaces.find(i);
      if (it == now.ifaces.end()) return not_yet(i + ": no observation since the change");
      if (!it->second.attach_errors.empty()) return not_yet(i + ": " + it->second.attach_errors.front());
      if (it->second.mode != m->mode)
        return not_yet(i + ": attached in " + std::string(to_string(it->second.mode)) + " mode, not " +
                       std::string(to_string(m->mode)));
    }
    return holds("attached in " + std::string(to_string(m->mode)) + " mode");
  }
  if (std::holds_alternative<SwapProgram>(action.spec)) {
    if (!after.measured) return not_yet("no guard counters since the change");
    if (after.rx_pps < cfg.min_pps || after.judged_pps > 0)
      return holds("the guard judges " + num(after.judged_pps) + " of " + num(after.rx_pps) + " received pps");
    return not_yet("the guard judged nothing while the interface received " + num(after.rx_pps) + " pps");
  }
  if (const auto* s = std::get_if<ShapeInterface>(&action.spec)) {
    if (s->prefix) return holds("a prefix's shaped rate is not in the Observation; not judged");
    const double rate = static_cast<double>(s->rate_bps);
    if (!after.measured) return not_yet("no interface counters since the change");
    if (before.measured && before.tx_bps <= rate * (1 + cfg.rate_tolerance))
      return holds("the interface sent below its shaped rate");
    if (after.tx_bps <= rate * (1 + cfg.rate_tolerance))
      return holds("sent " + num(after.tx_bps) + " bit/s, shaped to " + num(rate), after.tx_bps - before.tx_bps);
    return not_yet("sent " + num(after.tx_bps) + " bit/s, more than " + pct(1 + cfg.rate_tolerance) + " of " +
                   num(rate));
  }
  return holds("nothing to measure");
}

}  // namespace reflex::execute
