#include "tests/support/fake_loop.h"

#include <algorithm>

namespace reflex::testing {

using daemon::FlowSample;
using daemon::LoopView;

void FakeHistory::add(Record r) {
  std::lock_guard lock(mu_);
  r.id = records_.empty() ? 1 : records_.back().id + 1;
  records_.push_back(std::move(r));
}

Result<RecordPage> FakeHistory::query(const RecordQuery& q) const {
  std::lock_guard lock(mu_);
  const_cast<FakeHistory*>(this)->last_query = q;
  if (q.limit == 0 || q.limit > 1000) return make_error("limit must be 1..1000");
  auto subject_matches = [&](const std::string& s) {
    if (q.subject.empty()) return true;
    if (q.subject.back() == '*') return s.rfind(q.subject.substr(0, q.subject.size() - 1), 0) == 0;
    return s == q.subject;
  };
  RecordPage page;
  for (auto it = records_.rbegin(); it != records_.rend(); ++it) {
    const Record& r = *it;
    if (q.before_id && r.id >= *q.before_id) continue;
    if (q.kinds.empty() ? r.kind == RecordKind::observation
                        : std::find(q.kinds.begin(), q.kinds.end(), r.kind) == q.kinds.end())
      continue;
    if (q.since_wall_ns && r.wall_ns < *q.since_wall_ns) continue;
    if (q.until_wall_ns && r.wall_ns >= *q.until_wall_ns) continue;
    if (!subject_matches(r.subject)) continue;
    if (page.records.size() == q.limit) {
      page.next = page.records.back().id;
      break;
    }
    page.records.push_back(r);
  }
  return page;
}

FakeLoopApi::FakeLoopApi(LoopView view) { publish(std::move(view)); }

daemon::LoopViewPtr FakeLoopApi::view() const {
  std::lock_guard lock(mu_);
  return view_;
}

void FakeLoopApi::publish(LoopView v) {
  std::lock_guard lock(mu_);
  view_ = std::make_shared<const LoopView>(std::move(v));
  refresh_overrides_locked();
}

void FakeLoopApi::refresh_overrides_locked() {
  LoopView v = *view_;
  v.overrides.clear();
  for (const auto& o : book_.in_force()) {
    const bool matched = std::find(matched_.begin(), matched_.end(), o.id) != matched_.end();
    v.overrides.push_back(daemon::OverrideView{o, matched});
  }
  if (book_.paused() && v.phase == daemon::LoopPhase::running) v.phase = daemon::LoopPhase::paused;
  if (!book_.paused() && v.phase == daemon::LoopPhase::paused) v.phase = daemon::LoopPhase::running;
  view_ = std::make_shared<const LoopView>(std::move(v));
}

Result<Override> FakeLoopApi::add_override(daemon::OverrideRequest req) {
  std::lock_guard lock(mu_);
  added.push_back(req);
  const TimeNs now = view_->now_ns;
  if (req.override_.expires_ns == 0 && req.ttl_ns > 0) {
    req.override_.expires_ns = now + req.ttl_ns;
    if (req.override_.action && req.override_.action->ttl_ns <= 0) req.override_.action->ttl_ns = req.ttl_ns;
  }
  auto stored = book_.add(req.override_, now);
  if (stored) refresh_overrides_locked();
  return stored;
}

Status FakeLoopApi::remove_override(const std::string& id, const std::string& who) {
  std::lock_guard lock(mu_);
  removed.emplace_back(id, who);
  auto gone = book_.remove(id);
  if (!gone) return gone.error();
  refresh_overrides_locked();
  return ok();
}

void FakeLoopApi::mark_matched(const std::string& id) {
  std::lock_guard lock(mu_);
  matched_.push_back(id);
  refresh_overrides_locked();
}

namespace {

Prefix pfx(const char* text) { return *Prefix::parse(text); }

InterfaceObservation iface_obs(AttachMode mode, AttachMode wanted, std::uint64_t scale) {
  InterfaceObservation o;
  o.mode = mode;
  o.wanted_mode = wanted;
  o.present = true;
  o.oper_up = true;
  o.rx_packets = 1'000'000 * scale;
  o.rx_bytes = 800'000'000 * scale;
  o.tx_packets = 500'000 * scale;
  o.tx_bytes = 300'000'000 * scale;
  o.rx_dropped = 12 * scale;
  o.rx_pps = 25'000.5;
  o.rx_bps = 160e6;
  o.tx_pps = 1200;
  o.tx_bps = 9.6e6;
  o.drops = {{"NETFILTER_DROP", 3 * scale}, {"NO_SOCKET", 40 * scale}};
  o.xdp.pass = 900'000 * scale;
  o.xdp.drop = 90'000 * scale;
  o.xdp.rate_limited = 9'000 * scale;
  o.xdp.shadow = 1'000 * scale;
  o.xdp.allowed = 100 * scale;
  o.xdp.non_ip = 50 * scale;
  o.xdp.malformed = 2 * scale;
  o.xdp.bytes = 700'000'000 * scale;
  o.xdp.events_lost = scale - 1;
  o.xdp_rates = {20'000, 4'500.25, 450, 50};
  o.sample_every = 64;
  o.drop_events = 1000 * scale;
  return o;
}

}  // namespace

LoopView sample_view(std::size_t rules, TimeNs now_ns, TimeNs wall_ns) {
  LoopView v;
  v.phase = daemon::LoopPhase::running;
  v.ready = true;
  v.tick_interval_ns = 100 * kNsPerMs;
  v.ticks = 1234;
  v.overruns = 1;
  v.now_ns = now_ns;
  v.policy_generation = 3;

  daemon::TickInfo t;
  t.seq = 1233;
  t.snapshot_version = 1234;
  t.ts_ns = now_ns;
  t.wall_ns = wall_ns;
  t.stage_ns = {900'000, 120'000, 40'000, 60'000, 30'000, 500'000, 350'000, 100'000};
  for (auto ns : t.stage_ns) t.duration_ns += ns;
  t.symptom_events = 1;
  t.actions = 2;
  t.outcomes = 1;
  v.last_tick = t;
  for (std::size_t i = 0; i < daemon::kStageCount; ++i) {
    auto& s = v.stages[i];
    s.count = 1234;
    s.last_ns = t.stage_ns[i];
    s.max_ns = t.stage_ns[i] * 7;
    s.total_ns = t.stage_ns[i] * 1234;
    // Most ticks near the last one, a few ten times slower.
    std::size_t b = 0;
    while ((2ull << b) * 1000 <= static_cast<std::uint64_t>(t.stage_ns[i]) && b < 31) ++b;
    s.log2_us[b] = 1200;
    s.log2_us[std::min<std::size_t>(b + 3, 31)] = 34;
  }

  auto snap = std::make_shared<Snapshot>();
  snap->version = t.snapshot_version;
  snap->ts_ns = now_ns;
  snap->policy_generation = v.policy_generation;
  auto& obs = snap->observation;
  obs.ts_ns = now_ns;
  obs.seq = t.seq;
  obs.interval_ns = v.tick_interval_ns;
  obs.interfaces["eth0"] = iface_obs(AttachMode::native, AttachMode::native, 2);
  obs.interfaces["eth0"].name = "eth0";
  auto& veth = obs.interfaces["veth1@ns"] = iface_obs(AttachMode::generic, AttachMode::native, 1);
  veth.name = "veth1";
  veth.netns = "ns";
  veth.attach_errors = {"native attach: Operation not supported"};
  obs.maps["xdp_guard.rules.eth0"] = {rules, 1'048'576, 3.5};
  obs.maps["xdp_guard.talkers"] = {4096, 4096, 0};
  obs.talkers.push_back({"eth0", pfx("203.0.113.7"), 500'000, 40'000'000, 400'000, 4000});

  Symptom flood;
  flood.id = "sym-flood-1";
  flood.kind = SymptomKind::flood;
  flood.subject = {"eth0", pfx("203.0.113.0/24"), "", ""};
  flood.severity = Severity::critical;
  flood.score = 0.97;
  flood.evidence = {40000, 1200, 31.5, "udp/53 from 203.0.113.0/24 at 40k pps, baseline 1.2k"};
  flood.since_ns = now_ns - 30 * kNsPerSec;
  flood.ts_ns = now_ns;
  Symptom pressure;
  pressure.id = "sym-map-1";
  pressure.kind = SymptomKind::map_pressure;
  pressure.subject.map = "xdp_guard.talkers";
  pressure.severity = Severity::warning;
  pressure.score = 0.8;
  pressure.evidence = {1.0, 0.5, 4, "talkers table full"};
  pressure.since_ns = now_ns - 5 * kNsPerSec;
  pressure.ts_ns = now_ns;
  snap->symptoms = {flood, pressure};

  auto desired = std::make_shared<DesiredState>();
  desired->version = 42;
  auto& eth0 = desired->ifaces["eth0"];
  auto& veth_d = desired->ifaces["veth1@ns"];
  eth0.mode = AttachMode::native;
  veth_d.mode = AttachMode::native;
  for (std::size_t i = 0; i < rules; ++i) {
    DesiredRule r;
    r.prefix = Prefix::v4(0x0A000000u + static_cast<std::uint32_t>(i), 32);  // 10.0.0.0 + i
    r.verb = RuleVerb::drop;
    r.expires_ns = i % 3 == 0 ? 0 : now_ns + static_cast<TimeNs>(60 + i) * kNsPerSec;
    r.action_id = "act-" + std::to_string(i);
    (i % 2 ? veth_d : eth0).rules.push_back(r);
  }
  DesiredRule limit;
  limit.prefix = pfx("198.51.100.9");
  limit.l4 = {6, 80};
  limit.verb = RuleVerb::rate_limit;
  limit.pps = 1000;
  limit.burst = 2000;
  limit.expires_ns = now_ns + 600 * kNsPerSec;
  limit.action_id = "act-limit";
  eth0.rules.push_back(limit);
  std::sort(eth0.rules.begin(), eth0.rules.end());
  DesiredShape shape;
  shape.rate_bps = 10'000'000;
  shape.burst_bytes = 64 * 1024;
  shape.expires_ns = now_ns + 300 * kNsPerSec;
  shape.action_id = "act-shape";
  eth0.shapes.push_back(shape);
  snap->desired = desired;
  v.snapshot = snap;

  v.interfaces.push_back({"eth0", AttachMode::native, AttachMode::native, true, true, true, ""});
  v.interfaces.push_back({"veth1@ns", AttachMode::generic, AttachMode::native, true, true, false,
                          "native attach failed (Operation not supported): the driver has no native XDP; "
                          "set mode: generic for this interface"});

  SymptomEvent raised{SymptomTransition::raised, flood};
  raised.symptom.ts_ns = flood.since_ns;
  SymptomEvent updated{SymptomTransition::updated, flood};
  Symptom latency;
  latency.id = "sym-lat-1";
  latency.kind = SymptomKind::latency_high;
  latency.subject.iface = "eth0";
  latency.severity = Severity::warning;
  latency.since_ns = now_ns - 90 * kNsPerSec;
  latency.ts_ns = now_ns - 20 * kNsPerSec;
  v.symptom_events = {raised, {SymptomTransition::cleared, latency}, updated};

  Plan plan;
  plan.id = "plan-1233";
  plan.snapshot_version = t.snapshot_version - 1;
  plan.ts_ns = now_ns - t.duration_ns;
  Action block;
  block.id = "act-block-1";
  block.spec = BlockPrefix{"eth0", pfx("203.0.113.0/24"), {17, 53}};
  block.ttl_ns = 600 * kNsPerSec;
  block.rationale.rule_id = "flood-ladder";
  block.rationale.symptom = SymptomKind::flood;
  block.rationale.subject = flood.subject;
  block.rationale.evidence = flood.evidence;
  block.rationale.decision = "escalate";
  block.rationale.step = 2;
  Action lim;
  lim.id = "act-limit";
  lim.spec = RateLimitPrefix{"eth0", pfx("198.51.100.9"), 1000, 2000, {6, 80}};
  lim.ttl_ns = 600 * kNsPerSec;
  lim.rationale.rule_id = "flood-ladder";
  lim.rationale.decision = "fire";
  lim.rationale.step = 1;
  plan.actions = {block, lim};
  plan.notes = {"latency-alert: cooldown 30s left"};
  v.plans = {plan};
  Outcome verified;
  verified.action_id = block.id;
  verified.status = OutcomeStatus::verified;
  verified.effect = -0.92;
  verified.ts_ns = now_ns;
  verified.detail = "drops from 203.0.113.0/24 fell 92%";
  v.actions = {{block, plan.id, plan.ts_ns, verified}, {lim, plan.id, plan.ts_ns, std::nullopt}};

  auto flow = [&](const char* src, std::uint8_t proto, std::uint16_t dport, const char* reason, std::uint16_t len,
                  TimeNs ago_ms, const char* iface = "eth0") {
    FlowSample f;
    f.sample.iface = iface;
    f.sample.source = pfx(src);
    f.sample.proto = proto;
    f.sample.dport = dport;
    f.sample.reason = reason;
    f.sample.pkt_len = len;
    f.sample.rule_uid = 7;
    f.seen_ns = now_ns - ago_ms * kNsPerMs;
    v.flows.push_back(f);
  };
  for (int i = 0; i < 5; ++i) flow("203.0.113.7", 17, 53, "drop", 512, 900 - i * 100);
  flow("203.0.113.8", 17, 53, "drop", 512, 300);
  flow("198.51.100.9", 6, 80, "rate_limited", 1500, 250);
  flow("198.51.100.9", 6, 80, "rate_limited", 1500, 150);
  flow("2001:db8::5", 58, 0, "shadow", 100, 50, "veth1@ns");

  v.store = {true, "", 0, 4242, 1 << 20};
  v.store_path = "/var/lib/reflex/reflex.db";

  v.counters.plans = 17;
  v.counters.symptom_events[{SymptomKind::flood, SymptomTransition::raised}] = 3;
  v.counters.symptom_events[{SymptomKind::flood, SymptomTransition::cleared}] = 2;
  v.counters.symptom_events[{SymptomKind::map_pressure, SymptomTransition::raised}] = 1;
  v.counters.actions["block"] = 5;
  v.counters.actions["rate_limit"] = 2;
  v.counters.outcomes[{"block", OutcomeStatus::verified}] = 4;
  v.counters.outcomes[{"block", OutcomeStatus::failed}] = 1;
  v.counters.outcomes[{"rate_limit", OutcomeStatus::applied}] = 2;
  return v;
}

void fill_history(FakeHistory& h, std::size_t n, TimeNs wall_ns) {
  for (std::size_t i = 0; i < n; ++i) {
    Record r;
    r.kind = kAllRecordKinds[i % std::size(kAllRecordKinds)];
    r.ts_ns = static_cast<TimeNs>(i) * kNsPerSec;
    r.wall_ns = wall_ns + static_cast<TimeNs>(i) * kNsPerSec;
    r.subject = i % 2 ? "eth0" : "203.0.113.0/24";
    r.summary = std::string(to_string(r.kind)) + " #" + std::to_string(i);
    r.body = {{"n", i}};
    h.add(std::move(r));
  }
}

}  // namespace reflex::testing
