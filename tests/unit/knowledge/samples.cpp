#include "tests/unit/knowledge/samples.h"

#include <array>
#include <cmath>
#include <cstring>
#include <limits>

namespace reflex::testing {

double RandomValues::real() {
  switch (below(6)) {
    case 0:
      return 0.0;
    case 1:
      return -0.0;
    case 2:
      return static_cast<double>(static_cast<std::int64_t>(below(1'000'000)) - 500'000);
    case 3:
      return std::uniform_real_distribution<double>(-1.0, 1.0)(rng_);
    case 4:
      return std::uniform_real_distribution<double>(-1e6, 1e6)(rng_);
    default: {
      for (;;) {  // any finite bit pattern: subnormals, huge, tiny
        std::uint64_t bits = rng_();
        double d;
        std::memcpy(&d, &bits, sizeof d);
        if (std::isfinite(d)) return d;
      }
    }
  }
}

std::int64_t RandomValues::time() {
  switch (below(6)) {
    case 0:
      return 0;
    case 1:
      return static_cast<std::int64_t>(below(1000));
    case 2:
      return -static_cast<std::int64_t>(below(1'000'000'000)) - 1;
    case 3:
      return std::numeric_limits<std::int64_t>::max();
    default:
      return static_cast<std::int64_t>(below(std::uint64_t{1} << 62));
  }
}

std::string RandomValues::text() {
  static const char* kTexts[] = {"",
                                 "eth0",
                                 "rule \"quoted\" \\ back",
                                 "line\nbreak\ttab\x01\x1f",
                                 "caf\xc3\xa9 \xe2\x82\xac",
                                 "10.0.0.0/24",
                                 "a|b|c"};
  std::string s = kTexts[below(std::size(kTexts))];
  if (coin()) s += std::to_string(below(1000));
  return s;
}

Prefix RandomValues::prefix() {
  Prefix p;
  p.family = coin() ? 4 : 6;
  for (unsigned i = 0; i < (p.family == 4 ? 4u : 16u); ++i) p.addr[i] = static_cast<std::uint8_t>(below(256));
  p.len = static_cast<std::uint8_t>(below(p.max_len() + 1));
  mask_prefix(p);
  return p;
}

Subject RandomValues::subject() {
  Subject s;
  if (coin()) s.iface = text();
  if (coin()) s.prefix = prefix();
  if (coin()) s.map = text();
  if (coin()) s.reason = text();
  return s;
}

Evidence RandomValues::evidence() { return {real(), real(), real(), text()}; }

Symptom RandomValues::symptom() {
  Symptom s;
  s.id = text();
  s.kind = kAllSymptomKinds[below(std::size(kAllSymptomKinds))];
  s.subject = subject();
  s.severity = static_cast<Severity>(below(3));
  s.score = real();
  s.evidence = evidence();
  s.since_ns = time();
  s.ts_ns = time();
  return s;
}

SymptomEvent RandomValues::symptom_event() { return {static_cast<SymptomTransition>(below(3)), symptom()}; }

L4Match RandomValues::l4() {
  L4Match m;
  if (coin()) m.proto = static_cast<std::uint8_t>(below(256));
  if (coin()) m.port = static_cast<std::uint16_t>(below(65536));
  return m;
}

ActionSpec RandomValues::spec() {
  switch (below(std::variant_size_v<ActionSpec>)) {
    case 0:
      return BlockPrefix{text(), prefix(), l4()};
    case 1:
      return ShadowPrefix{text(), prefix(), l4()};
    case 2:
      return RateLimitPrefix{text(), prefix(), rng_(), below(3) ? rng_() : 0, l4()};
    case 3:
      return Unblock{text(), prefix(), l4()};
    case 4: {
      ShapeInterface s{text(), std::nullopt, rng_(), rng_()};
      if (coin()) s.prefix = prefix();
      return s;
    }
    case 5:
      return SetAttachMode{text(), static_cast<AttachMode>(below(4))};
    case 6:
      return SwapProgram{text(), text()};
    case 7:
      return Alert{text()};
    case 9: {
      RuleBatch b;
      b.iface = text();
      for (auto n = below(5); n > 0; --n) b.prefixes.push_back(prefix());
      b.l4 = l4();
      b.verb = std::array{RuleVerb::drop, RuleVerb::rate_limit, RuleVerb::shadow}[below(3)];
      if (b.verb == RuleVerb::rate_limit) b.pps = rng_(), b.burst = below(2) ? rng_() : 0;
      b.remove = below(4) == 0;
      return b;
    }
    default: {
      AggregateRules a;
      a.iface = text();
      a.verb = std::array{RuleVerb::drop, RuleVerb::allow, RuleVerb::rate_limit, RuleVerb::shadow}[below(4)];
      a.len_v4 = static_cast<std::uint8_t>(8 + below(25));
      a.len_v6 = static_cast<std::uint8_t>(16 + below(113));
      a.min_hosts = static_cast<std::uint32_t>(1 + below(1000));
      for (auto n = below(3); n > 0; --n) a.keep_out.push_back(prefix());
      return a;
    }
  }
}

Rationale RandomValues::rationale() {
  Rationale r;
  r.rule_id = text();
  if (coin()) r.symptom = kAllSymptomKinds[below(std::size(kAllSymptomKinds))];
  r.subject = subject();
  r.evidence = evidence();
  for (auto n = below(3); n > 0; --n) r.guardrails.push_back(text());
  r.decision = text();
  r.step = static_cast<int>(below(5)) - 1;
  r.note = text();
  return r;
}

Action RandomValues::action() { return {text(), spec(), time(), coin(), rationale()}; }

Plan RandomValues::plan() {
  Plan p;
  p.id = text();
  p.snapshot_version = coin() ? rng_() : 0;
  p.ts_ns = time();
  for (auto n = below(4); n > 0; --n) p.actions.push_back(action());
  for (auto n = below(3); n > 0; --n) p.notes.push_back(text());
  for (auto n = below(2); n > 0; --n) p.overrides_used.push_back("ovr-" + text());
  return p;
}

Outcome RandomValues::outcome() {
  return {text(), static_cast<OutcomeStatus>(below(7)), text(), real(), time(), text(), text()};
}

Intent RandomValues::intent() {
  Intent i{action(), {}};
  for (auto n = below(3); n > 0; --n) i.inverse.push_back(spec());
  return i;
}

Override RandomValues::override_() {
  Override o;
  o.id = text();
  o.kind = static_cast<Override::Kind>(below(4));
  o.who = text();
  o.created_ns = time();
  o.expires_ns = time();
  o.action_kind = text();
  o.subject = subject();
  if (coin()) o.action = action();
  o.reason = text();
  return o;
}

TrackState RandomValues::track() {
  TrackState t;
  t.level = static_cast<int>(below(5)) - 1;
  if (coin()) t.pending_since = time();
  t.level_since = time();
  if (coin()) t.clear_since = time();
  if (coin()) t.last_action_ns = time();
  t.renew_at_ns = time();
  t.base_mode = static_cast<int>(below(6)) - 1;  // -1, the four modes, and one past them
  t.target = text();
  t.subject = subject();
  t.symptom_kind = static_cast<int>(below(std::size(kAllSymptomKinds) + 2)) - 1;
  t.last_evidence = evidence();
  return t;
}

PlannerState RandomValues::planner_state() {
  PlannerState s;
  s.seq = rng_();
  for (auto n = below(5); n > 0; --n) s.tracks[text() + "|" + text()] = track();
  for (auto n = below(4); n > 0; --n)
    s.owners[text()] = TargetOwner{text(),
                                   static_cast<int>(below(200)) - 100,
                                   static_cast<int>(below(10)),
                                   static_cast<int>(below(4)),
                                   text(),
                                   time()};
  for (auto n = below(4); n > 0; --n)
    s.backoff[text()] = BackoffState{static_cast<int>(below(10)), time(), time()};
  for (auto n = below(4); n > 0; --n)
    s.emitted[text()] = EmittedAction{text(), time(), text(), static_cast<int>(below(4)) - 1};
  for (auto n = below(5); n > 0; --n) s.recent_actions.push_back(time());
  for (auto n = below(3); n > 0; --n) s.overrides_done[text()] = time();
  for (auto n = below(3); n > 0; --n) s.standing_notes.push_back(text());
  return s;
}

DesiredState RandomValues::desired_state(std::size_t rules_per_iface) {
  DesiredState d;
  d.version = rng_();
  for (auto n = below(3) + 1; n > 0; --n) {
    DesiredInterface& i = d.ifaces[text()];
    i.mode = static_cast<AttachMode>(below(4));
    i.program = text();
    for (std::size_t r = 0; r < rules_per_iface; ++r) {
      static constexpr RuleVerb kVerbs[] = {RuleVerb::drop, RuleVerb::allow, RuleVerb::rate_limit,
                                            RuleVerb::shadow};
      i.rules.push_back(DesiredRule{prefix(), l4(), kVerbs[below(4)], static_cast<std::uint32_t>(rng_()),
                                    static_cast<std::uint32_t>(below(2) ? rng_() : 0), time(), text()});
    }
    for (auto s = below(3); s > 0; --s) {
      DesiredShape sh{std::nullopt, rng_(), rng_(), time(), text()};
      if (coin()) sh.prefix = prefix();
      i.shapes.push_back(sh);
    }
  }
  return d;
}

Observation synthetic_tick(std::uint64_t seq, TimeNs ts_ns, std::size_t ifaces, bool busy) {
  Observation o;
  o.ts_ns = ts_ns;
  o.seq = seq;
  o.interval_ns = seq ? kNsPerSec : 0;
  const double t = static_cast<double>(seq);
  for (std::size_t k = 0; k < ifaces; ++k) {
    std::string name = "eth" + std::to_string(k);
    InterfaceObservation& i = o.interfaces[name];
    i.name = name;
    i.present = i.oper_up = true;
    i.mode = i.wanted_mode = AttachMode::native;
    const double pps =
        20'000 + 5'000 * std::sin(t / 60 + static_cast<double>(k)) + static_cast<double>(seq % 7) * 13.1;
    i.rx_pps = pps;
    i.rx_bps = pps * 8 * 612.5;
    i.tx_pps = pps * 0.93;
    i.tx_bps = i.tx_pps * 8 * 580.25;
    i.rx_packets = static_cast<std::uint64_t>(pps * t);
    i.rx_bytes = i.rx_packets * 612;
    i.tx_packets = static_cast<std::uint64_t>(i.tx_pps * t);
    i.tx_bytes = i.tx_packets * 580;
    i.rx_dropped = seq / 3;
    i.drops = {{"NO_SOCKET", seq * 3 + k}, {"TCP_INVALID_SEQUENCE", seq / 2}, {"XDP", seq * 41}};
    i.xdp = {i.rx_packets, seq * 41, seq * 5, seq * 2, seq, seq / 9, seq / 50, i.rx_bytes, 0};
    i.xdp_rates = {pps - 48.5, 41.25, 5.5, 2.125};
    i.rules = busy ? 1200 + k : 3;
    i.sample_every = 64;
    i.drop_events = seq * 41 / 64;
    if (seq % 10 == 0) i.guard_ns_per_packet = 38.7 + static_cast<double>(k);
    RttSummary r;
    r.p50_us = 180.5 + static_cast<double>(seq % 17);
    r.p90_us = 950.25;
    r.p99_us = 4100.75 + static_cast<double>(seq % 5);
    r.samples = 300 + seq % 40;
    r.samples_total = r.samples * seq;
    r.mean_us = 402.375;
    for (std::size_t b = 6; b < 14; ++b) r.log2_us_buckets[b] = (b * 37 + seq) % 90;
    i.rtt = r;
    i.retrans = RetransSummary{seq * 4, 4.0 + static_cast<double>(seq % 3), 18'000.5};
    if (busy) {
      for (std::uint32_t n = 0; n < 10; ++n)
        i.top_rules.push_back(RuleObservation{0x1000u + n,
                                              "203.0." + std::to_string(113 + n) + ".0/24 drop proto=udp",
                                              seq * (100 - n), seq * (100 - n) * 64, 100.5 - n});
      for (std::uint32_t n = 0; n < 16; ++n)
        o.talkers.push_back(
            TalkerObservation{name, Prefix::v4(0xC6336400u + n * 7 + static_cast<std::uint32_t>(k), 32),
                              seq * (500 - n), seq * (500 - n) * 600, seq * n, 500.0 - n * 3.5});
    }
    o.maps[name + "/talkers"] = MapObservation{busy ? 16384u : 12u, 16384, busy ? 0.0 : 0.25};
    o.maps[name + "/rules"] = MapObservation{i.rules, 1'000'000, 0};
  }
  if (busy)
    for (std::uint32_t n = 0; n < 64; ++n)
      o.drop_samples.push_back(DropSample{
          "eth" + std::to_string(n % ifaces), static_cast<std::uint64_t>(ts_ns) - n * 1000,
          n % 3 ? "drop" : "rate_limited", 0x1000u + n % 10, Prefix::v4(0xCB007100u + n, 32), 17, 53, 512});
  return o;
}

SyntheticDecisions synthetic_decisions(std::uint64_t seq, TimeNs ts_ns, std::size_t actions) {
  SyntheticDecisions d;
  d.plan.id = "p" + std::to_string(seq);
  d.plan.snapshot_version = seq;
  d.plan.ts_ns = ts_ns;
  for (std::size_t n = 0; n < actions; ++n) {
    Action a;
    a.id = d.plan.id + "-a" + std::to_string(n);
    Prefix p = Prefix::v4(0x0A000000u + static_cast<std::uint32_t>((seq * actions + n) % 0xFFFFFF) * 256, 24);
    a.spec = BlockPrefix{"eth" + std::to_string(n % 4), p, {}};
    a.ttl_ns = 600 * kNsPerSec;
    a.rationale.rule_id = "flood-ladder";
    a.rationale.symptom = SymptomKind::flood;
    a.rationale.subject.iface = "eth" + std::to_string(n % 4);
    a.rationale.subject.prefix = p;
    a.rationale.evidence = {52'000.5, 1'200.25, 14.75, "pps from one /24, 43x its baseline"};
    a.rationale.decision = "escalate";
    a.rationale.step = 2;
    d.plan.actions.push_back(a);
    d.intents.push_back(Intent{a, {Unblock{"eth" + std::to_string(n % 4), p, {}}}});
    d.outcomes.push_back(
        Outcome{a.id, OutcomeStatus::applied, "", -0.82, ts_ns, "", "drops rose to 51k pps"});
  }
  d.plan.notes.push_back("not acting on latency_high on eth1: cooldown 40s left");
  return d;
}

Decisions SyntheticDecisions::decisions() const {
  Decisions d;
  d.ts_ns = plan.ts_ns;
  d.plan = &plan;
  d.intents = intents;
  d.outcomes = outcomes;
  return d;
}

DesiredState synthetic_desired_state(std::size_t rules, std::size_t ifaces, TimeNs first_expiry_ns) {
  DesiredState d;
  d.version = rules;
  for (std::size_t n = 0; n < rules; ++n) {
    auto& i = d.ifaces["eth" + std::to_string(n % ifaces)];
    DesiredRule r;
    r.prefix = Prefix::v4(0x0A000000u + static_cast<std::uint32_t>(n) * 256, 24);
    r.verb = RuleVerb::drop;
    r.expires_ns = first_expiry_ns + static_cast<TimeNs>(n) * kNsPerSec;
    r.action_id = "p" + std::to_string(n / 8) + "-a" + std::to_string(n % 8);
    i.rules.push_back(r);
  }
  return d;
}

}  // namespace reflex::testing
