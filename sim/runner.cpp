#include "sim/runner.h"

#include "guard/guard.h"
#include "sim/flood_gen.h"
#include "sim/paced_tcp.h"
#include "sim/tcp_load.h"
#include "sim/topology.h"
#include "sim/victim.h"

#include <arpa/inet.h>
#include <time.h>

#include <algorithm>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace reflex::sim {

namespace {

constexpr TimeNs kSampleNs = 10 * kNsPerMs;
constexpr TimeNs kRulePollNs = 100 * kNsPerMs;

std::string v4(std::uint32_t host) {
  in_addr a{htonl(host)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

std::string describe_group(const TrafficGroup& g) {
  char line[200];
  if (g.kind == TrafficKind::tcp)
    std::snprintf(line, sizeof(line), "%s starts: %u TCP connections, %.1f Mbit/s", g.name.c_str(), g.count,
                  static_cast<double>(g.rate_bps) / 1e6);
  else
    std::snprintf(line, sizeof(line), "%s starts: %s %s from %u source%s in %s%s, %.0f pps", g.name.c_str(),
                  std::string(to_string(g.cls)).c_str(), std::string(to_string(g.kind)).c_str(), g.count,
                  g.count == 1 ? "" : "s", g.sources.empty() ? "?" : g.sources[0].to_string().c_str(),
                  g.sources.size() > 1 ? " ..." : "", g.pps);
  return line;
}

void sleep_until(std::chrono::steady_clock::time_point t0, TimeNs t) {
  auto when = t0 + std::chrono::nanoseconds(t);
  std::this_thread::sleep_until(when);  // pacing the sampler, not waiting for an outcome
}

// Every attack "on" phase, from the schedule.
std::vector<std::pair<TimeNs, TimeNs>> attack_windows(const Scenario& s) {
  std::vector<std::pair<TimeNs, TimeNs>> w;
  for (const auto& g : s.traffic) {
    if (g.cls != TrafficClass::attack) continue;
    TimeNs end = g.end_ns(s.duration_ns);
    if (!g.pulse) {
      w.emplace_back(g.from_ns, end);
      continue;
    }
    for (TimeNs t = g.from_ns; t < end; t += g.pulse->on_ns + g.pulse->off_ns)
      w.emplace_back(t, std::min(end, t + g.pulse->on_ns));
  }
  std::sort(w.begin(), w.end());
  return w;
}

class Run {
 public:
  Run(const Scenario& s, const RunOptions& o, RunObserver* obs) : s_(s), o_(o), obs_(obs) {}

  RunData go() {
    data_.scenario = s_.name;
    data_.node = o_.node;
    data_.run_index = o_.run_index;
    data_.duration_ns = s_.duration_ns;
    data_.attack_windows = attack_windows(s_);
    data_.attack_end_ns = s_.attack_end_ns();
    if (!s_.onset_ns())
      for (const auto& g : s_.traffic)
        if (g.from_ns > 0) {
          TimeNs lo = data_.surge_window ? std::min(data_.surge_window->first, g.from_ns) : g.from_ns;
          TimeNs hi = data_.surge_window ? std::max(data_.surge_window->second, g.end_ns(s_.duration_ns))
                                         : g.end_ns(s_.duration_ns);
          data_.surge_window = std::make_pair(lo, hi);
        }
    t0_ = node_t0_ = std::chrono::steady_clock::now();
    if (auto st = execute(); !st) data_.error = st.error().message();
    teardown();
    std::sort(data_.events.begin(), data_.events.end(),
              [](const NodeEvent& a, const NodeEvent& b) { return a.t_ns < b.t_ns; });
    return std::move(data_);
  }

 private:
  bool interrupted() const { return o_.interrupt && o_.interrupt->load(); }

  void event(TimeNs t, std::string lane, std::string kind, std::string subject, std::string text) {
    NodeEvent e{t, std::move(lane), std::move(kind), std::move(subject), std::move(text)};
    if (obs_) obs_->on_event(e);
    data_.events.push_back(std::move(e));
  }

  Status setup() {
    TopologyOptions topo;
    topo.peer_mtu = s_.node.peer_mtu;
    topo.bottleneck = s_.bottleneck;
    auto t = Topology::build(topo);
    if (!t) return t.error();
    topo_ = std::move(*t);

    auto counter = ArrivalCounter::load();
    if (!counter) return counter.error();
    counter_ = std::move(*counter);
    VictimOptions vo;
    vo.addr = Topology::kNodeAddr;
    vo.udp_capacity_pps = s_.node.udp_capacity_pps;
    auto victim = Victim::start(topo_->node(), vo, *counter_);
    if (!victim) return victim.error();
    victim_ = std::move(*victim);

    auto cg = PacketGenerator::open(topo_->clients(), topo_->clients_if(), topo_->node_mac(), Topology::kNodeAddr,
                                    kUdpServicePort, kTcpServicePort);
    if (!cg) return cg.error();
    client_gen_ = std::move(*cg);
    auto ag = PacketGenerator::open(topo_->attackers(), topo_->attackers_if(), topo_->node_mac(), Topology::kNodeAddr,
                                    kUdpServicePort, kTcpServicePort);
    if (!ag) return ag.error();
    attack_gen_ = std::move(*ag);
    auto pt = PacedTcp::create(topo_->clients(), Topology::kNodeAddr, kTcpServicePort);
    if (!pt) return pt.error();
    paced_ = std::move(*pt);

    data_.classes.push_back({"unclassified", TrafficClass::benign, TrafficKind::udp, {}, 0, 0, 0});
    unsigned tcp_groups = 0;
    for (const auto& g : s_.traffic) {
      const auto cls = static_cast<std::uint32_t>(data_.classes.size());
      if (cls >= kMaxClasses) return make_error("too many traffic groups (at most " + std::to_string(kMaxClasses - 1) + ")");
      ClassInfo ci{g.name, g.cls, g.kind, {}, 0, g.from_ns, g.end_ns(s_.duration_ns)};
      if (g.kind == TrafficKind::tcp) {
        if (tcp_groups >= 8) return make_error("at most 8 tcp groups");
        std::string addr = Topology::client_addr(tcp_groups++);
        ci.intended_rate = static_cast<double>(g.rate_bps) / 8.0;
        in_addr a{};
        inet_pton(AF_INET, addr.c_str(), &a);
        ci.sources = {ntohl(a.s_addr)};
        if (auto st = counter_->add_class(Prefix::v4(ci.sources[0], 32), cls); !st) return st;
        victim_->set_tcp_class(ci.sources[0], cls);
        stream_of_.push_back(paced_->add({addr, g.count, g.rate_bps, g.from_ns, g.end_ns(s_.duration_ns)}));
      } else {
        ci.sources = group_sources(g);
        ci.intended_rate = g.pps;
        for (const auto& p : g.sources)
          if (auto st = counter_->add_class(p, cls); !st) return st;
        Stream st{cls, g.kind, ci.sources, g.pps, g.size, g.from_ns, g.end_ns(s_.duration_ns), g.pulse, g.wave};
        auto& gen = g.cls == TrafficClass::attack ? *attack_gen_ : *client_gen_;
        stream_of_.push_back(gen.add(std::move(st)));
      }
      if (g.cls == TrafficClass::benign)
        for (auto src : ci.sources) benign_sources_.insert(src);
      data_.classes.push_back(std::move(ci));
    }

    NodeContext ctx;
    ctx.scenario = &s_;
    ctx.topology = topo_.get();
    ctx.pin_root = o_.pin_root;
    ctx.work_dir = o_.work_dir;
    ctx.t0 = node_t0_ = std::chrono::steady_clock::now();
    ctx.reflexd = o_.reflexd;
    ctx.policies = o_.policies;
    node_ = make_node(o_.node, ctx);
    if (auto st = node_->start(); !st) return st;
    if (node_->has_guard()) {
      guard::GuardOptions go;
      go.pin_root = o_.pin_root;
      go.netns = topo_->node().name();
      auto g = guard::Guard::open(topo_->node_if(), go);
      if (!g) return g.error();
      guard_.emplace(std::move(*g));
    }
    return ok();
  }

  Status execute() {
    if (auto st = setup(); !st) return st;
    t0_ = std::chrono::steady_clock::now();
    node_offset_ = std::chrono::duration_cast<std::chrono::nanoseconds>(t0_ - node_t0_).count();
    boot_at_t0_ = static_cast<TimeNs>(guard::boottime_ns());
    for (auto& e : node_->take_events()) {
      e.t_ns -= node_offset_;
      data_.events.push_back(e);
    }
    client_gen_->start(t0_);
    attack_gen_->start(t0_);
    paced_->start(t0_);
    if (s_.bulk) {
      auto probe = LatencyProbe::start(topo_->node(), Topology::kNodeAddr, topo_->clients(), Topology::kEchoAddr, t0_);
      if (!probe) return probe.error();
      probe_ = std::move(*probe);
      data_.bulk_window = std::make_pair(s_.bulk->from_ns, s_.bulk->until_ns.value_or(s_.duration_ns));
    }
    if (s_.background) {
      auto l = TcpLoad::start(topo_->node(), Topology::kNodeAddr, topo_->clients(), Topology::client_addr(6), 5399,
                              "cubic", s_.background->rate_bps);
      if (!l) return l.error();
      background_ = std::move(*l);
    }

    std::vector<bool> announced(s_.traffic.size(), false), ended(s_.traffic.size(), false);
    std::vector<bool> done_events(s_.events.size(), false);
    bool bulk_on = false;
    TimeNs next_status = 0;
    for (TimeNs t = 0;; t += kSampleNs) {
      if (interrupted()) {
        data_.interrupted = true;
        event(since(t0_), "scenario", "interrupted", "", "interrupted: cleaning up");
        return ok();
      }
      sleep_until(t0_, t);
      TimeNs now = since(t0_);
      bool traffic_phase = now < s_.duration_ns;
      if (!traffic_phase && !settling_) {
        client_gen_->stop();
        attack_gen_->stop();
        paced_->stop();
        bulk_.clear();
        background_.reset();
        settling_ = true;
        event(now, "scenario", "traffic_end", "", "traffic ends; waiting for the node's rules to go");
      }
      for (std::size_t i = 0; i < s_.traffic.size(); ++i) {
        const auto& g = s_.traffic[i];
        if (!announced[i] && now >= g.from_ns && traffic_phase) {
          announced[i] = true;
          event(g.from_ns, "scenario", g.cls == TrafficClass::attack ? "attack_start" : "benign_start", g.name,
                describe_group(g));
        }
        if (announced[i] && !ended[i] && now >= g.end_ns(s_.duration_ns) && g.end_ns(s_.duration_ns) < s_.duration_ns) {
          ended[i] = true;
          event(g.end_ns(s_.duration_ns), "scenario", g.cls == TrafficClass::attack ? "attack_stop" : "benign_stop",
                g.name, g.name + " stops");
        }
      }
      if (s_.bulk && !bulk_on && now >= s_.bulk->from_ns && traffic_phase) {
        bulk_on = true;
        for (std::uint32_t f = 0; f < s_.bulk->flows; ++f) {
          auto l = TcpLoad::start(topo_->node(), Topology::kNodeAddr, topo_->clients(), Topology::client_addr(7),
                                  static_cast<std::uint16_t>(5400 + f));
          if (!l) return l.error();
          bulk_.push_back(std::move(*l));
        }
        event(now, "scenario", "bulk_start", "", "bulk upload starts: " + std::to_string(s_.bulk->flows) + " TCP flows");
      }
      if (bulk_on && s_.bulk->until_ns && now >= *s_.bulk->until_ns && !bulk_.empty()) {
        bulk_.clear();
        event(now, "scenario", "bulk_stop", "", "bulk upload stops");
      }
      for (std::size_t i = 0; i < s_.events.size(); ++i) {
        if (done_events[i] || now < s_.events[i].at_ns) continue;
        done_events[i] = true;
        const char* none = o_.node == NodeKind::reflex ? "" : " (this node has none: nothing happens)";
        if (s_.events[i].action == ScenarioAction::kill_daemon) {
          event(now, "scenario", "kill", "", std::string("kill -9 the daemon") + none);
          if (auto st = node_->kill_daemon(); !st) return st;
        } else {
          event(now, "scenario", "restart", "", std::string("restart the daemon") + none);
          if (auto st = node_->start_daemon(); !st) return st;
        }
      }
      if (auto st = node_->poll(now + node_offset_); !st) return st;
      for (auto& e : node_->take_events()) {
        e.t_ns -= node_offset_;
        if (obs_) obs_->on_event(e);
        data_.events.push_back(std::move(e));
      }
      if (auto st = sample(now); !st) return st;
      if (now >= next_rules_) {
        next_rules_ = now + kRulePollNs;
        if (auto st = poll_rules(now); !st) return st;
      }
      if (obs_ && now >= next_status) {
        next_status = now + kNsPerSec;
        obs_->on_status(status(now));
      }
      if (settling_) {
        // Done when no rule is left in force, or the latest expiry is 1.5 s
        // past, or settle_max ran out.
        bool any_live = live_rules_ > 0;
        TimeNs settle_end = s_.duration_ns + s_.settle_max_ns;
        if ((!any_live && now >= s_.duration_ns + 500 * kNsPerMs) || now >= settle_end) break;
      }
    }
    data_.rules_left = live_rules_;
    return ok();
  }

  Status sample(TimeNs now) {
    Sample smp;
    smp.t_ns = now;
    const std::size_t n = data_.classes.size();
    smp.offered.assign(n, 0);
    smp.served.assign(n, 0);
    for (std::size_t c = 1; c < n; ++c) {
      const auto& g = s_.traffic[c - 1];
      std::size_t idx = stream_of_[c - 1];
      if (g.kind == TrafficKind::tcp) {
        smp.offered[c] = paced_->written(idx);
        smp.served[c] = victim_->tcp_bytes(static_cast<std::uint32_t>(c));
      } else {
        auto& gen = g.cls == TrafficClass::attack ? *attack_gen_ : *client_gen_;
        smp.offered[c] = gen.sent(idx);
        if (!data_.onset_ns && g.cls == TrafficClass::attack && gen.first_sent_ns(idx) >= 0)
          data_.onset_ns = gen.first_sent_ns(idx);
        smp.served[c] = g.kind == TrafficKind::udp ? victim_->udp_served(static_cast<std::uint32_t>(c)) : 0;
      }
    }
    auto counts = counter_->read();
    if (!counts) return counts.error();
    smp.arrived.assign(n, 0);
    for (std::size_t c = 0; c < n; ++c) smp.arrived[c] = (*counts)[c].packets;
    if (guard_) {
      auto v = guard_->verdicts();
      if (v) {
        for (std::uint32_t r = 0; r <= GUARD_R_PASS_MALFORMED; ++r) {
          bool drop = r == GUARD_R_DROP_RULE || r == GUARD_R_DROP_RATE;
          (drop ? smp.guard_dropped : smp.guard_passed) += (*v)[r].packets;
        }
      }
    }
    smp.rules = live_rules_;
    data_.samples.push_back(std::move(smp));
    return ok();
  }

  Status poll_rules(TimeNs now) {
    if (!guard_) return ok();
    auto rules = guard_->rules();
    if (!rules) return ok();  // a swap in progress by the node: next time
    const auto boot = guard::boottime_ns();
    std::map<guard::RuleKey, const guard::GuardRule*> present;
    for (const auto& r : *rules)
      if (r.expires_ns == 0 || r.expires_ns > boot) present[r.key()] = &r;
    const bool attack_over = data_.attack_end_ns && now >= *data_.attack_end_ns;
    // Rules that went away (removed, or expired in the datapath).
    for (auto it = live_.begin(); it != live_.end();) {
      if (present.count(it->first)) {
        ++it;
        continue;
      }
      auto& life = data_.rules[it->second];
      life.gone_ns = now;
      // Expired by the datapath's own clock (CLOCK_BOOTTIME, as `present`
      // judged it), not the run's: the two are read a moment apart.
      const TimeNs boot_rel = static_cast<TimeNs>(boot) - boot_at_t0_;
      if (life.expiry_ns && *life.expiry_ns <= boot_rel) life.gone_ns = std::max(*life.expiry_ns, life.last_seen_ns);
      event(now, "datapath", "rule_gone", life.prefix.to_string(), "rule gone: " + life.action + " " + life.prefix.to_string());
      it = live_.erase(it);
    }
    for (const auto& [key, r] : present) {
      auto [it, fresh] = live_.try_emplace(key, data_.rules.size());
      if (fresh) {
        RuleLife life;
        life.prefix = r->prefix;
        life.action = std::string(guard::to_string(r->action));
        life.first_seen_ns = now;
        if (r->action == guard::RuleAction::drop || r->action == guard::RuleAction::rate_limit) {
          for (auto src : benign_sources_)
            if (r->prefix.contains(Prefix::v4(src, 32))) {
              ++life.benign_sources_covered;
              blocked_benign_.insert(src);
            }
        }
        data_.rules.push_back(life);
        event(now, "datapath", "rule_added", r->prefix.to_string(), "rule in force: " + life.action + " " + r->prefix.to_string());
      }
      auto& life = data_.rules[it->second];
      life.last_seen_ns = now;
      if (r->expires_ns) life.expiry_ns = static_cast<TimeNs>(r->expires_ns) - boot_at_t0_;
      if (!attack_over) life.expiry_at_attack_end_ns = life.expiry_ns;
      else if (!life.expiry_at_attack_end_ns) life.expiry_at_attack_end_ns = life.expiry_ns;
    }
    live_rules_ = static_cast<std::uint32_t>(live_.size());
    data_.false_block_sources = blocked_benign_.size();

    // Benign packets the guard dropped, from its per-source accounting.
    if (auto talkers = guard_->talkers(); talkers && !benign_sources_.empty()) {
      std::unordered_map<std::uint32_t, std::uint64_t> now_dropped;
      for (const auto& t : *talkers)
        if (t.source.family == 4 && t.dropped && benign_sources_.count(t.source.v4_host_order()))
          now_dropped[t.source.v4_host_order()] += t.dropped;
      for (auto [src, d] : now_dropped) benign_drop_max_[src] = std::max(benign_drop_max_[src], d);
      std::uint64_t total = 0;
      for (auto& [src, d] : benign_drop_max_) total += d;
      data_.benign_dropped = total;
    }
    return ok();
  }

  LiveStatus status(TimeNs now) const {
    LiveStatus st;
    st.t_ns = now;
    st.rules = live_rules_;
    st.phase = settling_ ? "settle" : s_.any_attack_active(now) ? "attack" : data_.onset_ns ? "after" : "baseline";
    if (data_.samples.size() < 2) return st;
    const Sample& b = data_.samples.back();
    const Sample* a = &data_.samples.front();
    for (auto it = data_.samples.rbegin(); it != data_.samples.rend(); ++it)
      if (b.t_ns - it->t_ns >= kNsPerSec) {
        a = &*it;
        break;
      }
    double dt = static_cast<double>(b.t_ns - a->t_ns) / 1e9;
    if (dt <= 0) return st;
    st.benign_goodput = benign_goodput(data_, a->t_ns, b.t_ns);
    for (std::size_t c = 1; c < data_.classes.size(); ++c) {
      if (data_.classes[c].cls != TrafficClass::attack) continue;
      st.attack_sent_pps += static_cast<double>(b.offered[c] - a->offered[c]) / dt;
      st.attack_arrived_pps += static_cast<double>(b.arrived[c] - a->arrived[c]) / dt;
    }
    st.guard_drop_pps = static_cast<double>(b.guard_dropped - a->guard_dropped) / dt;
    return st;
  }

  void teardown() {
    if (client_gen_) client_gen_->stop();
    if (attack_gen_) attack_gen_->stop();
    if (paced_) paced_->stop();
    bulk_.clear();
    background_.reset();
    if (probe_) {
      probe_->stop();
      data_.rtt = probe_->samples();
    }
    if (guard_) {
      data_.attach_mode = std::string(to_string(guard_->mode()));
      guard_.reset();
    }
    if (node_) {
      node_->stop();
      for (auto& e : node_->take_events()) {
        e.t_ns -= node_offset_;
        data_.events.push_back(std::move(e));
      }
    }
    if (victim_) victim_->stop();
    data_.end_ns = since(t0_);
    victim_.reset();
    counter_.reset();
    topo_.reset();  // namespaces, links, qdiscs go with it
  }

  const Scenario& s_;
  const RunOptions& o_;
  RunObserver* obs_;
  RunData data_;
  std::unique_ptr<Topology> topo_;
  std::unique_ptr<ArrivalCounter> counter_;
  std::unique_ptr<Victim> victim_;
  std::unique_ptr<PacketGenerator> client_gen_, attack_gen_;
  std::unique_ptr<PacedTcp> paced_;
  std::vector<std::unique_ptr<TcpLoad>> bulk_;
  std::unique_ptr<TcpLoad> background_;
  std::unique_ptr<LatencyProbe> probe_;
  std::unique_ptr<NodeUnderTest> node_;
  std::optional<guard::Guard> guard_;
  std::vector<std::size_t> stream_of_;  // per traffic group: its index in its generator
  std::unordered_set<std::uint32_t> benign_sources_, blocked_benign_;
  std::unordered_map<std::uint32_t, std::uint64_t> benign_drop_max_;
  std::map<guard::RuleKey, std::size_t> live_;  // rule key -> index in data_.rules
  std::uint32_t live_rules_ = 0;
  std::chrono::steady_clock::time_point t0_, node_t0_;
  TimeNs node_offset_ = 0, boot_at_t0_ = 0, next_rules_ = 0;
  bool settling_ = false;
};

}  // namespace

RunData run_scenario(const Scenario& s, const RunOptions& opts, RunObserver* observer) {
  Run run(s, opts, observer);
  return run.go();
}

}  // namespace reflex::sim
