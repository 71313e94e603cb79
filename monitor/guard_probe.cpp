#include "monitor/guard_probe.h"

#include <bpf/bpf.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <tuple>
#include <unordered_map>

#include "guard/compiler.h"
#include "guard/events.h"
#include "guard/rule.h"

namespace reflex::monitor {
namespace {

std::uint64_t pin_ino(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

std::uint32_t map_id(int fd) {
  auto info = guard::map_info(fd);
  return info ? info->id : 0;
}

double rate(std::uint64_t delta, double dt) { return dt > 0 ? static_cast<double>(delta) / dt : 0.0; }

}  // namespace

GuardProbe::GuardProbe(InterfaceRef iface, const MonitorConfig& config)
    : iface_(std::move(iface)),
      opts_{config.pin_root, config.max_rules, iface_.netns},
      top_talkers_(config.top_talkers),
      top_networks_(config.top_networks),
      top_rules_(config.top_rules),
      max_samples_(config.max_drop_samples),
      verdict_dump_(sizeof(std::uint32_t), sizeof(guard_counter), true, GUARD_R_MAX) {}

GuardProbe::~GuardProbe() { close(); }

GuardProbe::PinIds GuardProbe::pin_ids() const {
  std::string dir = opts_.pin_root + "/" + guard::pin_key(iface_.name, iface_.netns);
  return PinIds{pin_ino(dir + "/" + guard::Guard::map_name(guard::Guard::kCtl)),
                pin_ino(dir + "/" + guard::kLinkPinName)};
}

Status GuardProbe::open(boost::asio::io_context& io) {
  io_ = &io;
  PinIds pins = pin_ids();
  auto g = guard::Guard::open(iface_.name, opts_);
  if (!g) return g.error();
  guard_.emplace(std::move(*g));
  pins_ = pins;

  // A different control map is a different guard (unloaded and loaded
  // again): its counters start from zero.
  std::uint32_t ctl_id = map_id(guard_->map_fd(guard::Guard::kCtl));
  if (ctl_map_id_ && ctl_id != ctl_map_id_) {
    for (auto& c : packets_) c.rebase();
    for (auto& c : bytes_) c.rebase();
    talkers_.clear();
  }
  ctl_map_id_ = ctl_id;

  auto rl_info = guard::map_info(guard_->map_fd(guard::Guard::kRlState));
  if (!rl_info) return rl_info.error();
  rl_state_id_ = rl_info->id;
  rl_state_max_ = rl_info->max_entries;

  auto reader =
      RingReader::open(io, guard_->events_fd(), [this](const void* d, std::size_t n) { on_event(d, n); });
  if (!reader) return make_error("guard events of " + iface_.key + ": " + reader.error().message());
  events_ = std::move(*reader);
  events_->start();
  gen_.reset();
  // The talker table may be another one now.
  last_talker_read_ns_ = 0;
  talkers_in_table_ = 0;
  talkers_read_ = false;
  return ok();
}

void GuardProbe::close() {
  events_.reset();
  gen_.reset();
  guard_.reset();
}

void GuardProbe::on_event(const void* data, std::size_t size) {
  if (size < sizeof(guard_event)) return;
  ++events_total_;
  if (pending_.size() >= max_samples_) return;  // counted, not kept
  guard_event e;
  std::memcpy(&e, data, sizeof(e));
  auto d = guard::decode_event(e, iface_.key);
  pending_.push_back(DropSample{d.iface, d.ts_ns, std::string(guard::reason_name(d.reason)), d.rule_uid,
                                d.source, d.proto, d.dport, d.pkt_len});
}

Status GuardProbe::sample(TickContext& ctx, Observation& obs) {
  // Reloaded or re-attached by someone else: the pins name new objects.
  if (PinIds now = pin_ids(); !(now == pins_)) {
    if (!now.ctl)
      return make_error("no reflex guard on " + iface_.key + " any more (its pins are gone)",
                        "load it again: reflex-guard load " + iface_.name);
    close();
    if (auto s = open(*io_); !s) return s;
  }
  auto& io = obs.interfaces[iface_.key];

  // Records that arrived since the last wakeup (a safety net: the loop consumes them as they come).
  if (auto n = events_->drain(); !n) return n.error();
  io.drop_events = events_total_;
  for (auto& s : pending_) obs.drop_samples.push_back(std::move(s));
  pending_.clear();
  io.sample_every = guard_->ctl().sample_n;

  read_attach(ctx, io);
  if (auto s = read_verdicts(ctx, io); !s) return s;
  if (auto s = read_rules(ctx, io); !s) return s;
  if (auto s = read_talkers(ctx, obs); !s) return s;
  read_run_time(ctx, io);

  // The talker table is a fixed array; its fill is the sources it holds.
  ctx.maps.push_back(OwnedMap{iface_.key + "/talkers", 0, GUARD_TALKER_SLOTS, talkers_in_table_});
  ctx.maps.push_back(OwnedMap{iface_.key + "/rl_state", rl_state_id_, rl_state_max_, std::nullopt});
  ctx.maps.push_back(OwnedMap{iface_.key + "/rules", 0, opts_.max_rules, io.rules});
  return ok();
}

void GuardProbe::read_attach(TickContext& ctx, InterfaceObservation& io) {
  io.wanted_mode = guard_->wanted_mode();
  auto link = guard_->link();
  std::string problem;
  if (!link) {
    problem = "cannot read the guard's link on " + iface_.key + ": " + link.error().message();
  } else if (!link->attached) {
    problem =
        "the guard's program on " + iface_.key + " was detached (link " + std::to_string(link->link_id) +
        " removed by someone else, or the interface went away); re-attach: reflex-guard load " + iface_.name;
  } else if (auto it = ctx.ifaces.find(iface_.key);
             it != ctx.ifaces.end() && it->second.ifindex != link->ifindex) {
    problem = "the guard is attached to ifindex " + std::to_string(link->ifindex) + ", but " + iface_.key +
              " is ifindex " + std::to_string(it->second.ifindex) +
              " now (the interface was recreated); reflex-guard load " + iface_.name;
  }
  if (problem.empty()) {
    io.mode = guard_->mode();
    return;
  }
  io.mode = AttachMode::none;
  io.attach_errors.push_back(problem);
  ctx.degrade(name(), problem);
}

Status GuardProbe::read_verdicts(TickContext& ctx, InterfaceObservation& io) {
  std::array<guard_counter, GUARD_R_MAX> raw{};
  auto n = verdict_dump_.dump(guard_->map_fd(guard::Guard::kVerdicts),
                              [&](const std::uint8_t* k, const std::uint8_t* v) {
                                std::uint32_t idx;
                                std::memcpy(&idx, k, sizeof(idx));
                                if (idx >= GUARD_R_MAX) return;
                                std::uint64_t sum[2];
                                sum_percpu_words<2>(v, verdict_dump_.ncpu(), verdict_dump_.stride(), sum);
                                raw[idx] = guard_counter{sum[0], sum[1]};
                              });
  if (!n) return make_error("read guard verdict counters of " + iface_.key + ": " + n.error().message());
  std::array<std::uint64_t, GUARD_R_MAX> d{};
  std::uint64_t bytes = 0;
  for (std::uint32_t r = 0; r < GUARD_R_MAX; ++r) {
    d[r] = packets_[r].update(raw[r].packets);
    bytes_[r].update(raw[r].bytes);
  }
  judged_delta_ = 0;
  for (std::uint32_t r = 0; r <= GUARD_R_PASS_MALFORMED; ++r) judged_delta_ += d[r];
  rule_hits_delta_ = d[GUARD_R_PASS_ALLOW] + d[GUARD_R_DROP_RULE] + d[GUARD_R_DROP_RATE] +
                     d[GUARD_R_PASS_SHADOW] + d[GUARD_R_PASS_RATE_OK];
  auto total = [&](std::uint32_t r) { return packets_[r].total(); };
  // Facts (fragment, truncated L4, long chain) are counted on top of a
  // verdict: they are not packets of their own.
  for (std::uint32_t r = 0; r <= GUARD_R_PASS_MALFORMED; ++r) bytes += bytes_[r].total();
  io.xdp.pass = total(GUARD_R_PASS_NO_MATCH) + total(GUARD_R_PASS_ALLOW) + total(GUARD_R_PASS_RATE_OK) +
                total(GUARD_R_PASS_NON_IP) + total(GUARD_R_PASS_MALFORMED);
  io.xdp.drop = total(GUARD_R_DROP_RULE);
  io.xdp.rate_limited = total(GUARD_R_DROP_RATE);
  io.xdp.shadow = total(GUARD_R_PASS_SHADOW);
  io.xdp.allowed = total(GUARD_R_PASS_ALLOW);
  io.xdp.non_ip = total(GUARD_R_PASS_NON_IP);
  io.xdp.malformed = total(GUARD_R_PASS_MALFORMED);
  io.xdp.bytes = bytes;
  io.xdp.events_lost = total(GUARD_F_EVENT_LOST);
  const double dt = ctx.dt_s;
  io.xdp_rates.pass_pps = rate(d[GUARD_R_PASS_NO_MATCH] + d[GUARD_R_PASS_ALLOW] + d[GUARD_R_PASS_RATE_OK] +
                                   d[GUARD_R_PASS_NON_IP] + d[GUARD_R_PASS_MALFORMED],
                               dt);
  io.xdp_rates.drop_pps = rate(d[GUARD_R_DROP_RULE], dt);
  io.xdp_rates.rate_limited_pps = rate(d[GUARD_R_DROP_RATE], dt);
  io.xdp_rates.shadow_pps = rate(d[GUARD_R_PASS_SHADOW], dt);
  return ok();
}

Status GuardProbe::read_rules(TickContext& ctx, InterfaceObservation& io) {
  const guard_gen_meta& meta = guard_->active_meta();
  io.rules = meta.n_rules > 1 ? meta.n_rules - 1 : 0;
  if (meta.n_rules <= 1) {
    gen_.reset();
    return ok();
  }
  if (!gen_ || gen_->version != meta.version) {
    // A new rule set: map its rules and counters once. The guard carried the
    // counts of surviving rules over, so their previous values come by uid.
    std::uint32_t g = __atomic_load_n(&guard_->ctl().gen, __ATOMIC_ACQUIRE) & 1;
    auto rules_fd = guard::inner_map(guard_->map_fd(guard::Guard::kOuterRules), g);
    auto cnt_fd = guard::inner_map(guard_->map_fd(guard::Guard::kOuterRcnt), g);
    if (!rules_fd || !cnt_fd) return make_error("open the active rule maps of " + iface_.key);
    if (!rules_fd->valid() || !cnt_fd->valid()) return ok();  // mid-swap: next tick
    auto info = guard::map_info(rules_fd->get());
    if (!info) return info.error();
    auto rules = guard::MapMemory::map(rules_fd->get(), std::size_t{info->max_entries} * sizeof(guard_rule),
                                       false, "rules");
    if (!rules) return rules.error();
    auto counters = guard::MapMemory::map(
        cnt_fd->get(), std::size_t{info->max_entries} * sizeof(guard_counter), false, "rule counters");
    if (!counters) return counters.error();
    RuleGen next;
    next.version = meta.version;
    next.n = info->max_entries;
    next.rules = std::move(*rules);
    next.counters = std::move(*counters);
    next.prev_packets.assign(next.n, 0);
    const guard_rule* nr = next.rules.as<guard_rule>();
    const guard_counter* nc = next.counters.as<guard_counter>();
    if (gen_) {
      std::unordered_map<std::uint32_t, std::uint64_t> old;  // uid -> packets at the last tick
      const guard_rule* orules = gen_->rules.as<guard_rule>();
      for (std::uint32_t i = 1; i < gen_->n; ++i)
        if (gen_->prev_packets[i]) old.emplace(orules[i].uid, gen_->prev_packets[i]);
      for (std::uint32_t i = 1; i < next.n; ++i)
        if (auto it = old.find(nr[i].uid); it != old.end()) next.prev_packets[i] = it->second;
    } else {
      // First sight: the counts so far are history, not this tick's traffic.
      for (std::uint32_t i = 1; i < next.n; ++i)
        next.prev_packets[i] = __atomic_load_n(&nc[i].packets, __ATOMIC_RELAXED);
    }
    gen_ = std::move(next);
  }

  // Every rule hit is also counted in the verdicts: none there, none here.
  if (rule_hits_delta_ == 0) return ok();
  // One pass over the counters (mmapped: no syscall), keeping those that moved.
  const guard_counter* c = gen_->counters.as<guard_counter>();
  const guard_rule* r = gen_->rules.as<guard_rule>();
  struct Moved {
    std::uint32_t idx;
    std::uint64_t delta;
  };
  std::vector<Moved> moved;
  for (std::uint32_t i = 1; i < gen_->n; ++i) {
    std::uint64_t p = __atomic_load_n(&c[i].packets, __ATOMIC_RELAXED);
    std::uint64_t& prev = gen_->prev_packets[i];
    if (p != prev) {
      moved.push_back({i, p > prev ? p - prev : p});
      prev = p;
    }
  }
  std::size_t k = std::min(top_rules_, moved.size());
  std::partial_sort(moved.begin(), moved.begin() + static_cast<std::ptrdiff_t>(k), moved.end(),
                    [](const Moved& a, const Moved& b) { return a.delta > b.delta; });
  const std::uint64_t now_boot = guard::boottime_ns();
  for (std::size_t j = 0; j < k; ++j) {
    const auto& m = moved[j];
    RuleObservation ro;
    ro.uid = r[m.idx].uid;
    ro.rule = guard::format_rule(guard::rule_from_entry(r[m.idx]), now_boot);
    ro.packets = __atomic_load_n(&c[m.idx].packets, __ATOMIC_RELAXED);
    ro.bytes = __atomic_load_n(&c[m.idx].bytes, __ATOMIC_RELAXED);
    ro.pps = rate(m.delta, ctx.dt_s);
    io.top_rules.push_back(std::move(ro));
  }
  return ok();
}

Status GuardProbe::walk_talkers(TickContext& ctx) {
  // The table is a fixed 4096 slots per CPU: one batch read, whole, every tick.
  auto all = guard_->talkers();
  if (!all) return make_error("read guard talkers of " + iface_.key + ": " + all.error().message());
  const TimeNs unseen_since = last_talker_read_ns_;
  for (const auto& t : *all) {
    guard_addr_key key{};
    key.family = t.source.family;
    std::memcpy(key.addr, t.source.addr.data(), 16);
    talkers_.observe(key, t.packets, t.bytes, t.dropped, ctx.now_ns, unseen_since);
  }
  talkers_.end_sweep();
  last_talker_read_ns_ = ctx.now_ns;
  talkers_in_table_ = all->size();
  talkers_read_ = true;
  return ok();
}

Status GuardProbe::read_talkers(TickContext& ctx, Observation& obs) {
  if (!(guard_->ctl().flags & GUARD_CF_TALKERS) || top_talkers_ == 0) return ok();
  if (talkers_read_ && judged_delta_ == 0) {
    // No packet during the last tick: no count moved and nothing was evicted
    // (only an insert evicts), so there is nothing to read.
    talkers_.idle();
  } else {
    auto s = walk_talkers(ctx);
    if (!s) return s;
  }
  for (const auto* e : talkers_.top(top_talkers_)) {
    TalkerObservation t;
    t.iface = iface_.key;
    t.source.family = e->key.family == 6 ? 6 : 4;
    t.source.len = t.source.family == 4 ? 32 : 128;
    std::memcpy(t.source.addr.data(), e->key.addr, t.source.family == 4 ? 4 : 16);
    t.packets = e->packets;
    t.bytes = e->bytes;
    t.dropped = e->dropped;
    t.pps = e->pps;
    obs.talkers.push_back(std::move(t));
  }
  for (const auto& n : talkers_.top_networks(top_networks_)) {
    PrefixTalkerObservation t;
    t.iface = iface_.key;
    t.prefix.family = n.key.family == 6 ? 6 : 4;
    t.prefix.len = n.len;
    std::memcpy(t.prefix.addr.data(), n.key.addr, t.prefix.family == 4 ? 4 : 16);
    t.sources = n.sources;
    t.packets = n.packets;
    t.bytes = n.bytes;
    t.dropped = n.dropped;
    t.pps = n.pps;
    obs.prefix_talkers.push_back(std::move(t));
  }
  return ok();
}

void GuardProbe::read_run_time(TickContext& ctx, InterfaceObservation& io) {
  if (ctx.run_time == RunTimeWindow::none) return;
  int fd = io.mode == AttachMode::tc ? guard_->tc_prog_fd() : guard_->xdp_prog_fd();
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) < 0) return;
  if (ctx.run_time == RunTimeWindow::begin) {
    run_time_ns_ = info.run_time_ns;
    run_cnt_ = info.run_cnt;
    return;
  }
  if (info.run_cnt > run_cnt_ && info.run_time_ns >= run_time_ns_)
    io.guard_ns_per_packet =
        static_cast<double>(info.run_time_ns - run_time_ns_) / static_cast<double>(info.run_cnt - run_cnt_);
}

}  // namespace reflex::monitor
