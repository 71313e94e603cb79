#include "plan/planner.h"

#include "plan/action_text.h"
#include "plan/guardrails.h"
#include "plan/units.h"

#include "knowledge/symptom_fill.h"

#include <fnmatch.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>

namespace reflex::plan {
namespace {

constexpr TimeNs kForever = std::numeric_limits<TimeNs>::max();
constexpr TimeNs kCapWindow = 60 * kNsPerSec;
constexpr TimeNs kEmittedRetention = 24 * 3600 * kNsPerSec;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// A prefix target's key, "prefix:<iface>:<prefix>[ proto=..][ port=..]", cut
// into its interface ("*" for every one) and the rest, which names one guard
// rule on each interface it covers.
struct PrefixKey {
  std::string iface, rule;
};
std::optional<PrefixKey> split_prefix_key(const std::string& key) {
  if (key.rfind("prefix:", 0) != 0) return std::nullopt;
  const auto colon = key.find(':', 7);
  if (colon == std::string::npos) return std::nullopt;
  return PrefixKey{key.substr(7, colon - 7), key.substr(colon + 1)};
}
bool ifaces_overlap(const std::string& a, const std::string& b) { return a == "*" || b == "*" || a == b; }

bool glob_any(const std::vector<std::string>& pats, const std::string& value) {
  if (pats.empty()) return true;
  if (value.empty()) return false;
  return std::any_of(pats.begin(), pats.end(),
                     [&](const std::string& p) { return fnmatch(p.c_str(), value.c_str(), 0) == 0; });
}

bool filter_matches(const SubjectFilter& f, const Subject& s) {
  if (!glob_any(f.ifaces, s.iface) || !glob_any(f.maps, s.map) || !glob_any(f.reasons, s.reason)) return false;
  if (f.prefixes.empty()) return true;
  if (!s.prefix) return false;
  return std::any_of(f.prefixes.begin(), f.prefixes.end(), [&](const Prefix& p) { return p.contains(*s.prefix); });
}

Subject aggregate(const Rule& r, Subject s) {
  if (!s.prefix) return s;
  auto len = s.prefix->family == 4 ? r.aggregate_v4 : r.aggregate_v6;
  if (len && *len < s.prefix->len) {
    s.prefix->len = *len;
    mask_prefix(*s.prefix);
  }
  return s;
}

std::string subject_key(const Subject& s) {
  return s.iface + "|" + (s.prefix ? s.prefix->to_string() : "") + "|" + s.map + "|" + s.reason;
}

AttachMode step_down(AttachMode m) {
  switch (m) {
    case AttachMode::native: return AttachMode::generic;
    case AttachMode::generic: return AttachMode::tc;
    case AttachMode::tc: return AttachMode::tc;
    case AttachMode::none: return AttachMode::generic;
  }
  return AttachMode::tc;
}

AttachMode step_up(AttachMode m) {
  switch (m) {
    case AttachMode::tc: return AttachMode::generic;
    case AttachMode::generic: return AttachMode::native;
    default: return AttachMode::native;
  }
}

// Attach mode after rungs 0..level, each stepping from the one before.
AttachMode mode_at(const Rule& r, int level, AttachMode base) {
  AttachMode m = base;
  for (int i = 0; i <= level && i < static_cast<int>(r.ladder.size()); ++i) {
    const auto& s = r.ladder[i];
    if (s.kind != ActionKind::attach_mode) continue;
    m = s.attach_step == AttachStep::set ? s.attach_mode : s.attach_step == AttachStep::down ? step_down(m) : step_up(m);
  }
  return m;
}

std::string expand_message(const std::string& tmpl, const Rule& r, const Symptom& s, const Subject& subj) {
  std::string t = tmpl.empty() ? "{rule}: {kind} on {subject} (value {value}, baseline {baseline}, score {score})"
                               : tmpl;
  const std::pair<std::string, std::string> vars[] = {
      {"{rule}", r.id},
      {"{kind}", std::string(to_string(s.kind))},
      {"{subject}", describe(subj)},
      {"{value}", num(s.evidence.value)},
      {"{baseline}", num(s.evidence.baseline)},
      {"{score}", num(s.score)},
      {"{severity}", std::string(to_string(s.severity))},
  };
  std::string out;
  for (std::size_t i = 0; i < t.size();) {
    bool hit = false;
    if (t[i] == '{')
      for (const auto& [k, v] : vars)
        if (t.compare(i, k.size(), k) == 0) {
          out += v;
          i += k.size();
          hit = true;
          break;
        }
    if (!hit) out += t[i++];
  }
  return out;
}

struct Emission {
  ActionSpec spec;
  TimeNs ttl = 0;
  int step = -1;
  bool revert = false;
  std::vector<std::string> guardrails;
};

// What a rung is materialized for: to act on (fire, escalate, deescalate), to
// renew what is in force, or only to name its target (an inverse, a target
// comparison), which needs no measured rate.
enum class Purpose { act, renew, target };

// A shape's absolute rate: the rung's own, or its share of the interface's
// egress rate now. A renewal keeps the whole-interface shape in force, since
// while shaped the egress is that rate and a share of it would step the rate
// down on every renewal. Never 0, which would mean "remove the shape": the
// guardrails raise a tiny rate to shaping_floor.
std::optional<std::uint64_t> shape_rate(const Step& s, const Subject& subj, const TrafficView& traffic, Purpose why,
                                        std::string& why_not) {
  if (s.rate_share <= 0 || why == Purpose::target) return s.rate_bps;
  const auto it = traffic.ifaces.find(subj.iface);
  if (it != traffic.ifaces.end() && why == Purpose::renew && it->second.shaped_bps > 0) return it->second.shaped_bps;
  const double tx = it == traffic.ifaces.end() ? 0 : it->second.tx_bps;
  if (!(tx > 0)) {
    why_not = "shape at " + format_percent(s.rate_share) + " of the egress rate needs " + subj.iface +
              "'s measured tx rate, and the snapshot has none";
    return std::nullopt;
  }
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(s.rate_share * tx)));
}

// What the rung `level` of `r` asks for, for this subject; nullopt with a
// reason when the subject lacks what the action needs (e.g. no prefix).
std::optional<Emission> materialize(const Rule& r, int level, const Subject& subj, const Symptom& sym,
                                    AttachMode base, const TrafficView& traffic, Purpose why, std::string& why_not) {
  const Step& s = r.ladder[static_cast<std::size_t>(level)];
  Emission e;
  e.ttl = s.ttl;
  e.step = level;
  auto need_prefix = [&]() {
    if (subj.prefix) return true;
    why_not = std::string(to_string(s.kind)) + " needs a prefix and the symptom has none";
    return false;
  };
  auto need_iface = [&]() {
    if (!subj.iface.empty()) return true;
    why_not = std::string(to_string(s.kind)) + " needs an interface and the symptom has none";
    return false;
  };
  switch (s.kind) {
    case ActionKind::alert:
      e.spec = Alert{expand_message(s.message, r, sym, subj)};
      break;
    case ActionKind::shadow:
      if (!need_prefix()) return std::nullopt;
      e.spec = ShadowPrefix{subj.iface, *subj.prefix, s.l4};
      break;
    case ActionKind::block:
      if (!need_prefix()) return std::nullopt;
      e.spec = BlockPrefix{subj.iface, *subj.prefix, s.l4};
      break;
    case ActionKind::rate_limit:
      if (!need_prefix()) return std::nullopt;
      e.spec = RateLimitPrefix{subj.iface, *subj.prefix, s.pps, s.burst, s.l4};
      break;
    case ActionKind::shape: {
      if (!need_iface()) return std::nullopt;
      std::optional<Prefix> p;
      if (s.shape_prefix) {
        if (!need_prefix()) return std::nullopt;
        p = subj.prefix;
      }
      auto rate = shape_rate(s, subj, traffic, why, why_not);
      if (!rate) return std::nullopt;
      e.spec = ShapeInterface{subj.iface, p, *rate, s.burst_bytes};
      break;
    }
    case ActionKind::attach_mode:
      if (!need_iface()) return std::nullopt;
      e.spec = SetAttachMode{subj.iface, mode_at(r, level, base)};
      break;
    case ActionKind::swap_program:
      if (!need_iface()) return std::nullopt;
      e.spec = SwapProgram{subj.iface, s.program};
      break;
    case ActionKind::aggregate: {
      // A map_pressure symptom names the guard's rule table ("eth0/rules"), not the interface.
      std::string iface = subj.iface.empty() ? rules_map_iface(subj.map) : subj.iface;
      if (iface.empty()) {
        why_not = "aggregate needs an interface or a guard rule table (IFACE/rules) and the symptom names neither";
        return std::nullopt;
      }
      e.spec = AggregateRules{iface, s.aggregate_verb, s.aggregate_len_v4, s.aggregate_len_v6, s.aggregate_min_hosts, {}};
      break;
    }
  }
  return e;
}

// The inverse of rung `level`, if it has one (alerts have none).
std::optional<Emission> inverse_of(const Rule& r, int level, const Subject& subj, const Symptom& sym, AttachMode base,
                                   const TrafficView& traffic) {
  std::string ignored;
  auto e = materialize(r, level, subj, sym, base, traffic, Purpose::target, ignored);
  if (!e) return std::nullopt;
  Emission inv;
  inv.revert = true;
  inv.step = -1;
  bool has = std::visit(
      [&](const auto& a) -> bool {
        using T = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<T, BlockPrefix> || std::is_same_v<T, ShadowPrefix> ||
                      std::is_same_v<T, RateLimitPrefix>) {
          inv.spec = Unblock{a.iface, a.prefix, a.l4};
          return true;
        } else if constexpr (std::is_same_v<T, ShapeInterface>) {
          inv.spec = ShapeInterface{a.iface, a.prefix, 0, 0};
          return true;
        } else if constexpr (std::is_same_v<T, SetAttachMode>) {
          inv.spec = SetAttachMode{a.iface, base};
          return true;
        } else if constexpr (std::is_same_v<T, SwapProgram>) {
          const auto& step = r.ladder[static_cast<std::size_t>(level)];
          if (step.revert_program.empty()) return false;
          inv.spec = SwapProgram{a.iface, step.revert_program};
          return true;
        } else {
          return false;
        }
      },
      e->spec);
  if (!has) return std::nullopt;
  return inv;
}

struct Precedence {
  int specificity = 0;
  int priority = 0;
  int aggressiveness = 0;
  std::string rule_id;
};

// The issue's order: the more specific subject wins, then priority, then the
// less aggressive action; the rule id makes ties deterministic.
bool beats(const Precedence& a, const Precedence& b) {
  if (a.specificity != b.specificity) return a.specificity > b.specificity;
  if (a.priority != b.priority) return a.priority > b.priority;
  if (a.aggressiveness != b.aggressiveness) return a.aggressiveness < b.aggressiveness;
  return a.rule_id < b.rule_id;
}

std::string why_beats(const Precedence& a, const Precedence& b) {
  if (a.specificity != b.specificity) return "more specific subject";
  if (a.priority != b.priority) return "higher priority";
  if (a.aggressiveness != b.aggressiveness) return "less aggressive action";
  return "rule id order";
}

struct Candidate {
  std::string track_key;
  const Rule* rule = nullptr;
  std::string decision;  // fire | escalate | deescalate | renew | revert
  int new_level = -1;
  Symptom symptom;
  Subject subject;
  std::vector<Emission> emissions;
  std::string primary_target;  // the target the track holds afterwards ("" for alert-only or revert)
  Precedence prec;
  bool capped = false;
  AttachMode base = AttachMode::native;
  std::string note;
  bool trimmed_all = false;  // guardrails dropped every emission: the datapath keeps what it had
  // The rung needs a measurement the snapshot lacks (a share rate's egress
  // rate): the track does not move, and tries again on the next tick.
  bool waits = false;
};

struct Group {
  const Symptom* best = nullptr;  // into PlanInput::symptoms, which outlives the plan's making
  bool strict = false;  // passes min_severity/min_score
  bool holds = false;   // passes clear_below (hysteresis)
};

bool better(const Symptom& a, bool a_strict, const Symptom& b, bool b_strict) {
  if (a_strict != b_strict) return a_strict;
  if (a.score != b.score) return a.score > b.score;
  if (a.severity != b.severity) return a.severity > b.severity;
  return subject_key(a.subject) < subject_key(b.subject);
}

class PlanBuilder {
 public:
  PlanBuilder(const PolicySet& p, const PlanInput& in, PlannerState& st, Plan& plan, PlanCache* cache = nullptr)
      : p_(p), in_(in), st_(st), plan_(plan), now_(in.now_ns), cache_(cache) {}

  void run() {
    decide();
    if (skipped_) return;  // the same standing notes as the plan it repeats, none new
    // Standing reasons are reported when they start (or change), not each tick.
    std::vector<std::string> standing;
    for (auto& [text, is_standing] : notes_) {
      if (!is_standing) {
        plan_.notes.push_back(text);
        continue;
      }
      if (std::find(st_.standing_notes.begin(), st_.standing_notes.end(), text) == st_.standing_notes.end())
        plan_.notes.push_back(text);
      standing.push_back(text);
    }
    st_.standing_notes = std::move(standing);
  }

 private:
  void note(std::string text, bool standing = true) { notes_.emplace_back(std::move(text), standing); }
  void used_override(const std::string& id) {
    if (std::find(plan_.overrides_used.begin(), plan_.overrides_used.end(), id) == plan_.overrides_used.end())
      plan_.overrides_used.push_back(id);
  }

  void decide() {
    ++st_.seq;
    plan_.id = "plan-" + std::to_string(st_.seq);
    plan_.snapshot_version = in_.snapshot_version;
    plan_.ts_ns = now_;
    if ((skipped_ = still_quiet())) return;
    fold_outcomes();
    expire_state();
    read_overrides();
    emit_operator_actions();
    drop_orphans();
    std::vector<Candidate> cands;
    for (const auto& rule : p_.rules)
      if (rule.enabled) evaluate(rule, cands);
    if (paused_) {
      // Symptoms are still followed (persistence, clearing) so the rules act
      // on what is true when the pause ends; nothing is committed meanwhile.
      note("paused by override '" + pause_id_ + "' (" + pause_who_ + "): policy decisions held back");
      if (!cands.empty()) used_override(pause_id_);
      return;
    }
    resolve_and_emit(cands);
    if (cache_) remember_quiet(cands);
  }

  // ---- quiet plans ------------------------------------------------------------
  // Only a plan with nothing from outside it (no override or operator
  // action, no outcome that moves a track) can be skipped, and only when it is the last one's
  // inputs again: every track stepped on the same symptoms moves only when
  // one of its times passes.
  bool no_operator_input() const {
    return in_.overrides.empty() && st_.overrides_done.empty() && in_.policy_generation != 0;
  }
  // Every field but the time, so a field added to Symptom is compared too:
  // the remembered copy takes the new time and is compared whole.
  // A symptom stamped as the remembered one was is the same but its time.
  static bool same_but_time(const std::vector<Symptom>& now, const std::vector<std::uint64_t>* now_stamps,
                            std::vector<Symptom>& remembered, const std::vector<std::uint64_t>& stamps) {
    if (now.size() != remembered.size()) return false;
    const bool stamped = now_stamps && now_stamps->size() == now.size() && stamps.size() == now.size();
    for (std::size_t i = 0; i < now.size(); ++i) {
      remembered[i].ts_ns = now[i].ts_ns;
      if (stamped && stamps[i] != 0 && (*now_stamps)[i] == stamps[i]) continue;
      if (!(remembered[i] == now[i])) return false;
    }
    return true;
  }
  // Outcomes a full plan would fold without changing what it decides: a
  // success with no failure of its target to forgive, the end of an
  // action's tracking (expired, dry run, skipped), an action not tracked.
  // Most outcomes are these (every action is applied, then verified).
  bool outcomes_inert() const {
    for (const auto& o : in_.outcomes) {
      auto it = st_.emitted.find(o.action_id);
      if (it == st_.emitted.end()) continue;
      switch (o.status) {
        case OutcomeStatus::failed:
        case OutcomeStatus::rolled_back: return false;
        case OutcomeStatus::applied:
        case OutcomeStatus::verified:
          if (st_.backoff.count(it->second.backoff_key)) return false;
          break;
        case OutcomeStatus::expired:
        case OutcomeStatus::dry_run:
        case OutcomeStatus::skipped: break;
      }
    }
    return true;
  }
  bool still_quiet() {
    if (!cache_ || !cache_->quiet) return false;
    const bool same = now_ < cache_->quiet_until && no_operator_input() && cache_->quiet_policy == &p_ &&
                      cache_->quiet_generation == in_.policy_generation && outcomes_inert() &&
                      same_but_time(in_.all_symptoms(), in_.symptom_stamps, cache_->quiet_symptoms,
                                    cache_->quiet_stamps);
    if (!same) cache_->quiet = false;
    // The state the full plan would leave: the ended actions forgotten.
    if (same) fold_outcomes();
    cache_->quiet_plans += same;
    return same;
  }
  // A candidate whose making and fate read nothing of the traffic: a shadow
  // (or alert) that did not wait or fail to materialise. On the same
  // symptoms and state it comes back, and fares, the same (a renewal that
  // loses its target to a stronger rule's block, tick after tick, say).
  static bool traffic_free(const Candidate& c) {
    if (c.waits || !c.note.empty()) return false;
    return std::all_of(c.emissions.begin(), c.emissions.end(), [](const Emission& e) {
      return !e.revert && (std::holds_alternative<ShadowPrefix>(e.spec) || std::holds_alternative<Alert>(e.spec));
    });
  }
  void remember_quiet(const std::vector<Candidate>& cands) {
    cache_->quiet = commits_ == 0 && plan_.actions.empty() && no_operator_input() &&
                    std::all_of(notes_.begin(), notes_.end(), [](const auto& n) { return n.second; }) &&
                    std::all_of(cands.begin(), cands.end(), traffic_free);
    if (!cache_->quiet) return;
    // expire_state() made both bounds known this plan.
    if (!st_.recent_actions.empty()) soon(st_.recent_actions.front() + kCapWindow);
    if (!st_.emitted.empty()) soon(cache_->emitted_oldest_ns + kEmittedRetention + 1);
    for (const auto& [key, b] : st_.backoff) {
      soon(b.retry_after_ns);
      soon(b.retry_after_ns + p_.global.backoff.max + 1);
    }
    if (!st_.owners.empty()) soon(cache_->owners_next_expiry_ns);
    cache_->quiet_until = next_deadline_;
    // Stamped symptoms the remembered set already holds are not copied again.
    const auto& now = in_.all_symptoms();
    if (in_.symptom_stamps && in_.symptom_stamps->size() == now.size()) {
      SymptomFill fill(cache_->quiet_symptoms, cache_->quiet_stamps);
      for (std::size_t i = 0; i < now.size(); ++i) fill.put(now[i], (*in_.symptom_stamps)[i]).ts_ns = now[i].ts_ns;
      fill.done();
    } else {
      cache_->quiet_symptoms = now;
      cache_->quiet_stamps.clear();
    }
    cache_->quiet_policy = &p_;
    cache_->quiet_generation = in_.policy_generation;
  }
  // A time after which this plan may decide differently (past ones are
  // passed already: their conditions hold in this plan).
  void soon(TimeNs at) {
    if (at > now_) next_deadline_ = std::min(next_deadline_, at);
  }
  // The earliest time one of the track's thresholds passes: its decision
  // (and any candidate it makes) can change only then. A quiet plan holds
  // only while the symptoms stay the same, so the track stays present (or
  // absent) and matching (or not) as it is now: a threshold only a step
  // it cannot take reads is no deadline (a rung's hold on the last rung, or
  // with the symptom short of the rule; the cooldown of a track that can
  // neither fire, escalate nor clear). Each skipped threshold is a full plan
  // a tick saved, on every node.
  void track_deadlines(const Rule& rule, const TrackState& t, bool present, bool matching) {
    const bool can_escalate = matching && t.level >= 0 && t.level < static_cast<int>(rule.ladder.size()) - 1;
    const bool can_fire = matching && t.level < 0;
    const bool can_clear = !present && t.level >= 0;
    if (t.pending_since) soon(*t.pending_since + rule.when.persist);
    if (t.last_action_ns && (can_fire || can_escalate || can_clear)) soon(*t.last_action_ns + rule.cooldown);
    if (t.level >= 0) {
      if (can_escalate) soon(t.level_since + rule.ladder[static_cast<std::size_t>(t.level)].hold);
      if (t.clear_since) soon(*t.clear_since + rule.clear_for);
      soon(t.renew_at_ns);
    } else if (t.clear_since) {
      soon(*t.clear_since + retention(rule) + 1);
    }
  }

  // ---- outcomes and backoff -------------------------------------------------
  void fold_outcomes() {
    for (const auto& o : in_.outcomes) {
      auto it = st_.emitted.find(o.action_id);
      if (it == st_.emitted.end()) continue;  // unknown or already folded in
      const std::string key = it->second.backoff_key;
      TimeNs when = o.ts_ns ? o.ts_ns : now_;
      switch (o.status) {
        case OutcomeStatus::failed:
        case OutcomeStatus::rolled_back: {
          auto& b = st_.backoff[key];
          ++b.failures;
          b.last_failure_ns = when;
          b.retry_after_ns = when + backoff_delay(p_.global.backoff, b.failures);
          step_back(it->second);
          st_.emitted.erase(it);
          break;
        }
        case OutcomeStatus::applied:
        case OutcomeStatus::verified:
          // Success resets the count; a later rollback of this action still counts.
          if (auto b = st_.backoff.find(key); b != st_.backoff.end() && when >= b->second.last_failure_ns)
            st_.backoff.erase(b);
          break;
        case OutcomeStatus::expired:
        case OutcomeStatus::dry_run:
        case OutcomeStatus::skipped:
          st_.emitted.erase(it);
          break;
      }
    }
  }

  // The rung did not take effect: the track goes back to the rung before, so
  // it escalates again once the backoff allows (instead of believing it is on
  // a rung that is not in the datapath).
  void step_back(const EmittedAction& e) {
    if (e.track.empty() || e.step < 0) return;
    auto t = st_.tracks.find(e.track);
    if (t == st_.tracks.end() || t->second.level != e.step) return;
    auto& ts = t->second;
    ts.level = e.step - 1;
    ts.level_since = now_;
    if (ts.level < 0) {
      release(ts.target, e.track);
      ts.target.clear();
      ts.renew_at_ns = kForever;
      if (!ts.pending_since) ts.pending_since = now_;
    }
  }

  void expire_state() {
    while (!st_.recent_actions.empty() && st_.recent_actions.front() <= now_ - kCapWindow)
      st_.recent_actions.pop_front();
    // The map is keyed by id, not time: walk it only when its oldest entry
    // (as far as the cache knows) may have passed the retention.
    const TimeNs cutoff = now_ - kEmittedRetention;
    if (!cache_ || !cache_->emitted_oldest_known || cache_->emitted_oldest_ns < cutoff) {
      TimeNs oldest = kForever;
      for (auto it = st_.emitted.begin(); it != st_.emitted.end();) {
        if (it->second.planned_ns < cutoff) {
          it = st_.emitted.erase(it);
        } else {
          oldest = std::min(oldest, it->second.planned_ns);
          ++it;
        }
      }
      if (cache_) {
        cache_->emitted_oldest_known = true;
        cache_->emitted_oldest_ns = oldest;
      }
    }
    // Forgive old failures after a quiet spell as long as the longest backoff.
    for (auto it = st_.backoff.begin(); it != st_.backoff.end();)
      it = now_ > it->second.retry_after_ns + p_.global.backoff.max ? st_.backoff.erase(it) : std::next(it);
    if (!cache_ || !cache_->owners_expiry_known || cache_->owners_next_expiry_ns <= now_) {
      TimeNs next = kForever;
      for (auto it = st_.owners.begin(); it != st_.owners.end();) {
        if (it->second.expires_ns && it->second.expires_ns <= now_) {
          it = st_.owners.erase(it);
          continue;
        }
        if (it->second.expires_ns) next = std::min(next, it->second.expires_ns);
        ++it;
      }
      if (cache_) {
        cache_->owners_expiry_known = true;
        cache_->owners_next_expiry_ns = next;
      }
    }
  }

  // ---- overrides ------------------------------------------------------------
  void read_overrides() {
    std::set<std::string> present;
    for (const auto& o : in_.overrides) {
      if (o.created_ns > now_ || (o.expires_ns && o.expires_ns <= now_)) continue;
      present.insert(o.id);
      switch (o.kind) {
        case Override::Kind::pause_all:
          if (!paused_) {
            paused_ = true;
            pause_id_ = o.id;
            pause_who_ = o.who;
          }
          break;
        case Override::Kind::forbid: forbids_.push_back(&o); break;
        case Override::Kind::pin:
          if (o.action) pinned_[target_key(o.action->spec)] = &o;
          pins_.push_back(&o);
          break;
        case Override::Kind::manual: manuals_.push_back(&o); break;
      }
    }
    for (auto it = st_.overrides_done.begin(); it != st_.overrides_done.end();)
      it = present.count(it->first) ? std::next(it) : st_.overrides_done.erase(it);
  }

  void emit_operator_actions() {
    auto emit = [&](const Override* o, const char* decision) {
      if (!o->action || st_.overrides_done.count(o->id)) return;
      Action a = *o->action;
      a.rationale.rule_id = "override:" + o->id;
      a.rationale.decision = decision;
      a.rationale.step = -1;
      a.rationale.note = std::string(decision) + " by " + (o->who.empty() ? "operator" : o->who);
      // Guardrails are policy and overrides beat policy; say what they would
      // have done so the operator sees the risk they took.
      ActionSpec probe = a.spec;
      std::vector<std::string> would;
      if (!apply_guardrails(probe, GuardInput{p_.global.guardrails, in_.traffic, target_prefix(a.spec)}, would))
        would.push_back("would have dropped the action");
      for (auto& w : would) a.rationale.guardrails.push_back(w + " (not applied: operator override)");
      push(std::move(a));
      st_.overrides_done[o->id] = now_;
      used_override(o->id);
    };
    for (const auto* o : pins_) emit(o, "pin");
    for (const auto* o : manuals_) emit(o, "manual");
  }

  // ---- rule evaluation --------------------------------------------------------
  void drop_orphans() {
    // Every track was checked against these same rules already (and tracks
    // are made only for enabled rules): none can be an orphan.
    if (cache_ && cache_->orphans_checked && same_rules(cache_->orphans_checked_rules)) return;
    drop_orphan_tracks();
    if (cache_) {
      cache_->orphans_checked_rules.clear();
      for (const auto& r : p_.rules) cache_->orphans_checked_rules.emplace_back(r.id, r.enabled);
      cache_->orphans_checked = true;
    }
  }
  bool same_rules(const std::vector<std::pair<std::string, bool>>& seen) const {
    if (seen.size() != p_.rules.size()) return false;
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (seen[i].second != p_.rules[i].enabled || seen[i].first != p_.rules[i].id) return false;
    return true;
  }
  void drop_orphan_tracks() {
    // Tracks are keyed "rule|subject", so one rule's are neighbours: look
    // each rule up once, not once per track.
    std::string rule_id;
    const Rule* r = nullptr;
    for (auto it = st_.tracks.begin(); it != st_.tracks.end();) {
      // Most tracks are the previous one's rule's: "<rule_id>|..." says so
      // without searching the key (rule ids hold no '|').
      const std::string& k = it->first;
      const bool same = !rule_id.empty() && k.size() > rule_id.size() && k[rule_id.size()] == '|' &&
                        k.compare(0, rule_id.size(), rule_id) == 0;
      if (!same) {  // rule ids are never empty, so the first track looks up
        rule_id = std::string_view(k).substr(0, k.find('|'));
        r = p_.find(rule_id);
      }
      if (r && r->enabled) {
        ++it;
        continue;
      }
      if (it->second.level >= 0)
        note("rule '" + rule_id + "' is gone or disabled: its actions on " + describe(it->second.subject) +
                 " stay until their TTL", false);
      release(it->second.target, it->first);
      it = st_.tracks.erase(it);
    }
  }

  void evaluate(const Rule& rule, std::vector<Candidate>& out) {
    std::map<std::string, Group> groups;
    const double clear_below = rule.when.clear_below.value_or(rule.when.min_score);
    const auto& symptoms = in_.all_symptoms();
    std::string key;
    // A rule none of whose kinds is raised now matches no symptom: only its
    // tracks are stepped (most rules, on most plans).
    const bool any_kind = std::any_of(rule.when.kinds.begin(), rule.when.kinds.end(),
                                      [&](SymptomKind k) { return raised_kinds() & kind_bit(k); });
    for (std::size_t i = 0; any_kind && i < symptoms.size(); ++i) {
      const Symptom& s = symptoms[i];
      if (std::find(rule.when.kinds.begin(), rule.when.kinds.end(), s.kind) == rule.when.kinds.end()) continue;
      if (!filter_matches(rule.when.subject, s.subject)) continue;
      bool sev = s.severity >= rule.when.min_severity;
      bool agreed = s.kind != SymptomKind::peer_verdict || s.evidence.value >= rule.when.min_peers;
      bool strict = sev && agreed && s.score >= rule.when.min_score;
      bool holds = sev && s.score >= clear_below;
      if (!holds) continue;
      key.assign(rule.id).append(1, '|').append(aggregated_key(rule, i));
      auto [it, fresh] = groups.try_emplace(key);
      auto& g = it->second;
      if (fresh || better(s, strict, *g.best, g.strict)) g.best = &s;
      g.strict = g.strict || strict;
      g.holds = true;
    }
    // The groups and the rule's tracks, both in key order, walked together:
    // every key once, in the order of their union.
    const std::string lo = rule.id + "|";
    auto in_rule = [&](std::map<std::string, TrackState>::iterator it) {
      return it != st_.tracks.end() && it->first.compare(0, lo.size(), lo) == 0;
    };
    auto g = groups.begin();
    auto t = st_.tracks.lower_bound(lo);
    while (g != groups.end() || in_rule(t)) {
      if (in_rule(t) && (g == groups.end() || t->first <= g->first)) {
        const Group* group = g != groups.end() && t->first == g->first ? &(g++)->second : nullptr;
        const auto here = t++;  // stepping may forget the track
        step_track(rule, here, group, out);
      } else {
        step_track(rule, st_.tracks.try_emplace(g->first).first, &g->second, out);
        ++g;
      }
    }
  }

  // subject_key of symptom i's subject after `rule`'s aggregation; the
  // unaggregated key is made once per plan, not once per rule.
  const std::string& aggregated_key(const Rule& rule, std::size_t i) {
    const Symptom& s = in_.all_symptoms()[i];
    const auto len = !s.subject.prefix ? std::nullopt
                     : s.subject.prefix->family == 4 ? rule.aggregate_v4 : rule.aggregate_v6;
    if (len && *len < s.subject.prefix->len) return scratch_key_ = subject_key(aggregate(rule, s.subject));
    if (subject_keys_.size() < in_.all_symptoms().size()) subject_keys_.resize(in_.all_symptoms().size());
    auto& k = subject_keys_[i];
    if (!k) k = subject_key(s.subject);
    return *k;
  }

  bool cooldown_ok(const Rule& r, const TrackState& t) const {
    return !t.last_action_ns || now_ - *t.last_action_ns >= r.cooldown;
  }

  TimeNs retention(const Rule& r) const { return 2 * (r.when.persist + r.cooldown + r.clear_for) + kCapWindow; }

  void step_track(const Rule& rule, std::map<std::string, TrackState>::iterator at, const Group* g,
                  std::vector<Candidate>& out) {
    // Not forgotten: when could it next move (or its candidate change)?
    if (step_track_once(rule, at, g, out) && cache_) track_deadlines(rule, at->second, g && g->holds, g && g->strict);
  }
  // False when the track was forgotten (and `at` is gone).
  bool step_track_once(const Rule& rule, std::map<std::string, TrackState>::iterator at, const Group* g,
                       std::vector<Candidate>& out) {
    const std::string& key = at->first;
    auto& t = at->second;
    const bool present = g && g->holds;
    const bool matching = g && g->strict;
    if (g) {
      t.subject = aggregate(rule, g->best->subject);
      t.symptom_kind = static_cast<int>(g->best->kind);
      t.last_evidence = g->best->evidence;
    }
    const int last = static_cast<int>(rule.ladder.size()) - 1;
    if (t.level > last) t.level = last;  // the ladder shrank on reload

    if (t.level < 0) {
      if (!matching) {
        t.pending_since.reset();
        if (!g && !t.clear_since) t.clear_since = now_;
        if (!g && now_ - *t.clear_since > retention(rule)) {
          st_.tracks.erase(at);
          return false;
        }
        return true;
      }
      if (!t.pending_since) {
        // Trust the analyzer's "raised since" unless we saw the symptom absent
        // after it: a flapping symptom must earn its `for` again each time.
        TimeNs start = now_;
        if (g->best->since_ns > 0 && g->best->since_ns <= now_) start = g->best->since_ns;
        if (t.clear_since) start = std::max(start, *t.clear_since);
        t.pending_since = start;
      }
      t.clear_since.reset();
      if (now_ - *t.pending_since < rule.when.persist) return true;
      if (!cooldown_ok(rule, t)) return true;
      out.push_back(make_candidate(rule, key, t, *g->best, "fire", 0));
      return true;
    }

    if (present) {
      t.clear_since.reset();
      const Step& cur = rule.ladder[static_cast<std::size_t>(t.level)];
      if (matching && t.level < last && now_ - t.level_since >= cur.hold && cooldown_ok(rule, t)) {
        out.push_back(make_candidate(rule, key, t, *g->best, "escalate", t.level + 1));
        return true;
      }
    } else {
      if (!t.clear_since) t.clear_since = now_;
      if (now_ - *t.clear_since >= rule.clear_for && cooldown_ok(rule, t)) {
        Symptom last_seen = remembered(t);
        out.push_back(make_candidate(rule, key, t, last_seen, t.level > 0 ? "deescalate" : "revert", t.level - 1));
        return true;
      }
    }
    if (now_ >= t.renew_at_ns) out.push_back(make_candidate(rule, key, t, g ? *g->best : remembered(t), "renew", t.level));
    return true;
  }

  Symptom remembered(const TrackState& t) const {
    Symptom s;
    s.kind = static_cast<SymptomKind>(std::max(0, t.symptom_kind));
    s.subject = t.subject;
    s.evidence = t.last_evidence;
    return s;
  }

  Candidate make_candidate(const Rule& rule, const std::string& key, const TrackState& t, const Symptom& sym,
                           const std::string& decision, int new_level) {
    Candidate c;
    c.track_key = key;
    c.rule = &rule;
    c.decision = decision;
    c.new_level = new_level;
    c.symptom = sym;
    c.subject = aggregate(rule, sym.subject);
    if (t.level >= 0 && t.base_mode >= 0) {
      c.base = static_cast<AttachMode>(t.base_mode);
    } else if (auto it = in_.traffic.ifaces.find(c.subject.iface);
               it != in_.traffic.ifaces.end() && it->second.mode != AttachMode::none) {
      c.base = it->second.mode;
    }
    c.prec = {rule.when.subject.specificity(), rule.priority, 0, rule.id};

    std::string why_not;
    auto add_rung = [&](int level) {
      auto e = materialize(rule, level, c.subject, sym, c.base, in_.traffic,
                           decision == "renew" ? Purpose::renew : Purpose::act, why_not);
      if (e) {
        c.emissions.push_back(std::move(*e));
        return;
      }
      c.note = "rule '" + rule.id + "' " + decision + " on " + describe(c.subject) + ": " + why_not;
      const Step& s = rule.ladder[static_cast<std::size_t>(level)];
      c.waits = s.kind == ActionKind::shape && s.rate_share > 0 && !c.subject.iface.empty();
    };
    auto add_inverse = [&](int level) {
      if (auto inv = inverse_of(rule, level, c.subject, sym, c.base, in_.traffic)) c.emissions.push_back(std::move(*inv));
    };
    if (decision == "fire" || decision == "escalate" || decision == "renew") {
      add_rung(new_level);
    } else if (decision == "deescalate") {
      std::string ignored;
      auto hi = materialize(rule, t.level, c.subject, sym, c.base, in_.traffic, Purpose::target, ignored);
      auto lo = materialize(rule, new_level, c.subject, sym, c.base, in_.traffic, Purpose::target, ignored);
      bool same_target = hi && lo && target_key(hi->spec) == target_key(lo->spec);
      if (!same_target && !t.target.empty()) add_inverse(t.level);
      if (lo && (same_target || !std::holds_alternative<Alert>(lo->spec))) add_rung(new_level);
    } else if (decision == "revert") {
      if (!t.target.empty()) add_inverse(t.level);  // nothing installed (all trimmed): nothing to undo
    }
    const int rung = new_level >= 0 ? new_level : t.level;
    c.prec.aggressiveness = static_cast<int>(rule.ladder[static_cast<std::size_t>(std::max(rung, 0))].kind);
    c.capped = (decision == "fire" || decision == "escalate");
    return c;
  }

  // ---- filtering, conflicts, emission ----------------------------------------
  bool forbidden(const ActionSpec& spec, std::string& by) const {
    auto kind = action_kind_name(spec);
    auto prefix = target_prefix(spec);
    auto iface = target_iface(spec);
    for (const auto* o : forbids_) {
      if (o->action_kind != "*" && o->action_kind != kind) continue;
      if (!o->subject.iface.empty() && !iface.empty() && o->subject.iface != iface) continue;
      if (o->subject.prefix) {
        if (!prefix) continue;
        if (!o->subject.prefix->contains(*prefix) && !prefix->contains(*o->subject.prefix)) continue;
      }
      by = o->id + (o->who.empty() ? "" : " (" + o->who + ")");
      return true;
    }
    return false;
  }

  void resolve_and_emit(std::vector<Candidate>& cands) {
    std::vector<Candidate*> live;
    for (auto& c : cands) {
      if (c.waits) {
        note(c.note + " (waiting for it)");  // standing: said once, not every tick it waits
        continue;
      }
      if (!c.note.empty()) note(c.note, false);
      // Policy guardrails trim what rules ask for; a rung they nullify still
      // counts as taken, so the ladder moves on instead of retrying forever.
      for (auto it = c.emissions.begin(); it != c.emissions.end();) {
        std::optional<Prefix> origin = c.symptom.subject.prefix;
        if (it->revert) {
          // Undoing is always allowed; only its target follows the narrowing.
          if (std::holds_alternative<Unblock>(it->spec))
            apply_guardrails(it->spec, GuardInput{p_.global.guardrails, in_.traffic, origin}, it->guardrails);
          ++it;
          continue;
        }
        if (apply_guardrails(it->spec, GuardInput{p_.global.guardrails, in_.traffic, origin}, it->guardrails)) {
          ++it;
          continue;
        }
        std::string g = it->guardrails.empty() ? "guardrail" : it->guardrails.back();
        note("rule '" + c.rule->id + "' " + c.decision + " on " + describe(c.subject) + " dropped: " + g, false);
        it = c.emissions.erase(it);
        if (c.emissions.empty()) c.trimmed_all = true;
      }
      for (const auto& e : c.emissions)
        if (!e.revert && !std::holds_alternative<Alert>(e.spec)) c.primary_target = target_key(e.spec);
      if (!suppressed_by_operator_or_backoff(c)) live.push_back(&c);
    }

    // Conflicts: one winner per target, against the other candidates and
    // against whoever holds the target now.
    std::map<std::string, std::vector<Candidate*>> by_target;
    for (auto* c : live)
      if (!c->primary_target.empty()) by_target[c->primary_target].push_back(c);
    std::set<Candidate*> lost;
    for (auto& [target, list] : by_target) {
      Candidate* win = list.front();
      for (auto* c : list)
        if (beats(c->prec, win->prec)) win = c;
      for (auto* c : list)
        if (c != win) {
          lost.insert(c);
          note("conflict on " + target + ": rule '" + win->rule->id + "' wins over '" + c->rule->id +
                                "' (" + why_beats(win->prec, c->prec) + ")");
        }
      if (auto o = st_.owners.find(target); o != st_.owners.end() && o->second.track != win->track_key) {
        Precedence held{o->second.specificity, o->second.priority, o->second.aggressiveness, o->second.rule_id};
        if (beats(held, win->prec)) {
          lost.insert(win);
          note("conflict on " + target + ": rule '" + held.rule_id + "' holds it over '" +
                                win->rule->id + "' (" + why_beats(held, win->prec) + ")");
        }
      }
    }

    std::vector<Candidate*> order;
    for (auto* c : live)
      if (!lost.count(c)) order.push_back(c);
    std::stable_sort(order.begin(), order.end(), [](const Candidate* a, const Candidate* b) {
      if (beats(a->prec, b->prec) != beats(b->prec, a->prec)) return beats(a->prec, b->prec);
      return a->track_key < b->track_key;
    });
    for (auto* c : order) {
      if (std::string by; loosens_a_block(*c, by)) {
        note("rule '" + c->rule->id + "' " + c->decision + " on " + describe(c->subject) + " held back: " + by);
        continue;
      }
      bool restricts = c->capped && std::any_of(c->emissions.begin(), c->emissions.end(), [](const Emission& e) {
                         return !e.revert && !std::holds_alternative<Alert>(e.spec);
                       });
      if (restricts) {
        if (static_cast<int>(st_.recent_actions.size()) >= p_.global.max_actions_per_minute) {
          note("global cap of " + std::to_string(p_.global.max_actions_per_minute) +
                                " actions/minute reached: rule '" + c->rule->id + "' " + c->decision + " on " +
                                describe(c->subject) + " deferred");
          continue;
        }
        st_.recent_actions.push_back(now_);
      }
      commit(*c);
    }
  }

  // Another live owner of the same prefix and L4 match on an interface this
  // target covers too ("*" and one interface name the same guard rule on that
  // interface): removing this target's rule would remove theirs.
  const TargetOwner* shares_the_rule(const std::string& target, const std::string& track) const {
    const auto mine = split_prefix_key(target);
    if (!mine) return nullptr;
    for (const auto& [key, o] : st_.owners) {
      if (key == target || o.track == track) continue;
      if (o.expires_ns && o.expires_ns <= now_) continue;
      const auto theirs = split_prefix_key(key);
      if (theirs && theirs->rule == mine->rule && ifaces_overlap(theirs->iface, mine->iface)) return &o;
    }
    return nullptr;
  }

  // A shadow or rate limit on a prefix another rule blocks (a wider prefix,
  // or the same one on every interface) would loosen that block: the guard's
  // longest match wins, and on one interface the later rule replaces the
  // earlier, so it would pass what the block drops (a local flood rung under
  // a block the fleet's verdicts put in place, say). It waits until the block
  // is gone.
  bool loosens_a_block(const Candidate& c, std::string& by) const {
    if (c.decision != "fire" && c.decision != "escalate") return false;
    for (const auto& e : c.emissions) {
      if (e.revert) continue;
      const bool weaker = std::holds_alternative<ShadowPrefix>(e.spec) || std::holds_alternative<RateLimitPrefix>(e.spec);
      if (!weaker) continue;
      const auto p = target_prefix(e.spec);
      if (!p) continue;
      const std::string iface = target_iface(e.spec);
      for (const auto& [key, o] : st_.owners) {
        if (o.track == c.track_key || o.aggressiveness != static_cast<int>(ActionKind::block)) continue;
        if (o.expires_ns && o.expires_ns <= now_) continue;
        // An L4-narrowed block covers only part of the prefix.
        const auto held = split_prefix_key(key);
        if (!held || held->rule.find(' ') != std::string::npos) continue;
        if (!ifaces_overlap(held->iface, iface.empty() ? "*" : iface)) continue;
        auto q = Prefix::parse(held->rule);
        if (!q || !q->contains(*p) || key == target_key(e.spec)) continue;  // the same target: ownership decides
        by = "inside " + q->to_string() + ", which rule '" + o.rule_id + "' blocks (a narrower " +
             std::string(action_kind_name(e.spec)) + " would pass what the block drops)";
        return true;
      }
    }
    return false;
  }

  bool suppressed_by_operator_or_backoff(Candidate& c) {
    for (const auto& e : c.emissions) {
      if (auto pin = pinned_.find(target_key(e.spec)); pin != pinned_.end()) {
        note("rule '" + c.rule->id + "' " + c.decision + " on " + target_key(e.spec) +
                              " suppressed: pinned by override '" + pin->second->id + "'");
        used_override(pin->second->id);
        return true;
      }
    }
    for (const auto& e : c.emissions) {
      if (e.revert) continue;
      std::string by;
      if (forbidden(e.spec, by)) {
        note("rule '" + c.rule->id + "' " + c.decision + " " + describe(e.spec) +
                              " suppressed: forbidden by override '" + by + "'");
        used_override(by);
        return true;
      }
      auto b = st_.backoff.find(std::string(action_kind_name(e.spec)) + "@" + target_key(e.spec));
      if (b != st_.backoff.end() && now_ < b->second.retry_after_ns) {
        note("rule '" + c.rule->id + "' " + c.decision + " " + describe(e.spec) + " backing off: " +
                              std::to_string(b->second.failures) + " failure(s), retry after t=" +
                              format_duration(b->second.retry_after_ns));
        return true;
      }
    }
    return false;
  }

  void release(const std::string& target, const std::string& track) {
    if (target.empty()) return;
    if (auto o = st_.owners.find(target); o != st_.owners.end() && o->second.track == track) st_.owners.erase(o);
  }

  void commit(Candidate& c) {
    ++commits_;
    auto& t = st_.tracks[c.track_key];
    const Rule& r = *c.rule;
    const bool dry = effective_mode(p_, r) == Mode::dry_run;
    for (auto& e : c.emissions) {
      if (e.revert) {
        // Only undo what this track holds: another rule may own the target now.
        auto tk = target_key(e.spec);
        auto o = st_.owners.find(tk);
        if (o != st_.owners.end() && o->second.track != c.track_key) {
          note("rule '" + r.id + "' not reverting " + tk + ": held by rule '" +
                                o->second.rule_id + "'");
          continue;
        }
        if (const auto* other = shares_the_rule(tk, c.track_key)) {
          note("rule '" + r.id + "' not reverting " + tk + ": the guard's rule there is held by rule '" +
               other->rule_id + "' too (this one expires by its TTL where no one holds it)");
          continue;
        }
      }
      Action a;
      a.spec = e.spec;
      a.ttl_ns = e.ttl;
      a.dry_run = dry;
      a.rationale.rule_id = r.id;
      a.rationale.symptom = c.symptom.kind;
      a.rationale.subject = c.symptom.subject;
      a.rationale.evidence = c.symptom.evidence;
      a.rationale.guardrails = e.guardrails;
      a.rationale.decision = e.revert ? "revert" : c.decision;
      a.rationale.step = e.step;
      a.rationale.note = explain(c, e);
      push(std::move(a), c.track_key);
    }
    // Track state moves on.
    if (c.decision == "renew") {
      t.renew_at_ns = renew_time(r, c.new_level);
    } else {
      if (c.decision != "revert" && t.level < 0) t.base_mode = static_cast<int>(c.base);
      t.level = c.new_level;
      t.level_since = now_;
      t.last_action_ns = now_;
      if (c.decision == "deescalate") t.clear_since = now_;  // each step down earns its own clear_for
      if (c.decision == "revert") {
        t.clear_since = now_;
        t.pending_since.reset();
      }
      t.renew_at_ns = t.level >= 0 ? renew_time(r, t.level) : kForever;
    }
    // Ownership follows the rung the track is on now; a rung the guardrails
    // dropped entirely leaves the previous one in place, and so its ownership.
    if (c.trimmed_all && c.decision != "revert") return;
    if (c.decision == "revert" || c.primary_target != t.target) release(t.target, c.track_key);
    t.target = c.decision == "revert" ? std::string() : c.primary_target;
    if (!t.target.empty()) {
      TimeNs ttl = t.level >= 0 ? r.ladder[static_cast<std::size_t>(t.level)].ttl : 0;
      st_.owners[t.target] = TargetOwner{c.track_key, c.prec.specificity, c.prec.priority, c.prec.aggressiveness,
                                         r.id, ttl ? now_ + ttl : 0};
      if (ttl && cache_ && cache_->owners_expiry_known)
        cache_->owners_next_expiry_ns = std::min(cache_->owners_next_expiry_ns, now_ + ttl);
    }
  }

  TimeNs renew_time(const Rule& r, int level) const {
    TimeNs ttl = r.ladder[static_cast<std::size_t>(level)].ttl;
    return ttl > 0 ? now_ + ttl - ttl / 5 : kForever;
  }

  std::string explain(const Candidate& c, const Emission& e) const {
    const auto& s = c.symptom;
    std::string what = std::string(to_string(s.kind)) + " on " + describe(c.subject);
    if (e.revert) return what + " cleared for " + format_duration(c.rule->clear_for) + ": undo";
    if (c.decision == "fire")
      return what + " (" + std::string(to_string(s.severity)) + ", score " + num(s.score) + ") persisted " +
             format_duration(c.rule->when.persist) + ": rung " + std::to_string(e.step);
    if (c.decision == "escalate")
      return what + " still present " + format_duration(c.rule->ladder[static_cast<std::size_t>(e.step - 1)].hold) +
             " after rung " + std::to_string(e.step - 1) + ": rung " + std::to_string(e.step);
    if (c.decision == "deescalate")
      return what + " cleared for " + format_duration(c.rule->clear_for) + ": down to rung " + std::to_string(e.step);
    return what + " still active: renew rung " + std::to_string(e.step) + " before its TTL";
  }

  // Every datapath action is remembered until its outcome arrives, so a failure
  // or rollback can be charged to (kind, target) for backoff.
  void push(Action a, const std::string& track = {}) {
    a.id = plan_.id + "/" + std::to_string(plan_.actions.size());
    if (!std::holds_alternative<Alert>(a.spec)) {
      st_.emitted[a.id] = EmittedAction{std::string(action_kind_name(a.spec)) + "@" + target_key(a.spec), now_,
                                        track, a.rationale.decision == "revert" ? -1 : a.rationale.step};
      if (cache_ && cache_->emitted_oldest_known) cache_->emitted_oldest_ns = std::min(cache_->emitted_oldest_ns, now_);
    }
    plan_.actions.push_back(std::move(a));
  }

  const PolicySet& p_;
  const PlanInput& in_;
  PlannerState& st_;
  Plan& plan_;
  const TimeNs now_;
  PlanCache* cache_ = nullptr;
  bool paused_ = false;
  std::string pause_id_, pause_who_;
  std::vector<const Override*> forbids_, pins_, manuals_;
  std::map<std::string, const Override*> pinned_;
  std::vector<std::pair<std::string, bool>> notes_;
  std::vector<std::optional<std::string>> subject_keys_;  // per symptom, made when first needed
  std::optional<std::uint32_t> raised_kinds_;             // kind_bit of every symptom's kind, when first needed
  static_assert(std::size(kAllSymptomKinds) <= 32, "a kind's bit must fit raised_kinds_");
  static std::uint32_t kind_bit(SymptomKind k) { return 1u << static_cast<unsigned>(k); }
  std::uint32_t raised_kinds() {
    if (!raised_kinds_) {
      raised_kinds_ = 0;
      for (const auto& sy : in_.all_symptoms()) *raised_kinds_ |= kind_bit(sy.kind);
    }
    return *raised_kinds_;
  }
  std::string scratch_key_;
  TimeNs next_deadline_ = kForever;  // the earliest time this plan may decide differently (quiet plans)
  std::size_t commits_ = 0;
  bool skipped_ = false;  // the cache's quiet plan again
};

}  // namespace

TimeNs backoff_delay(const Backoff& b, int failures) {
  double d = static_cast<double>(b.initial) * std::pow(b.factor, std::max(0, failures - 1));
  if (!std::isfinite(d) || d > static_cast<double>(b.max)) return b.max;
  return static_cast<TimeNs>(d);
}

TrafficView TrafficView::from_observation(const Observation& obs) {
  TrafficView v;
  for (const auto& [name, i] : obs.interfaces) v.ifaces[name] = IfaceTraffic{i.rx_pps, i.rx_bps, i.mode, i.tx_bps};
  for (const auto& t : obs.talkers) v.talkers.push_back(TalkerTraffic{t.iface, t.source, t.pps});
  return v;
}

TrafficView TrafficView::from_snapshot(const Snapshot& snap) {
  TrafficView v = from_observation(snap.observation);
  if (!snap.desired) return v;
  for (const auto& [name, d] : snap.desired->ifaces)
    for (const auto& sh : d.shapes)
      if (!sh.prefix)
        if (auto it = v.ifaces.find(name); it != v.ifaces.end()) it->second.shaped_bps = sh.rate_bps;
  return v;
}

PlanOutput make_plan(const PolicySet& policy, const PlanInput& input, const PlannerState& state) {
  PlanOutput out;
  out.state = state;
  PlanBuilder(policy, input, out.state, out.plan).run();
  return out;
}

void plan_in_place(const PolicySet& policy, const PlanInput& input, PlannerState& state, Plan& out,
                   PlanCache* cache) {
  PlanBuilder(policy, input, state, out, cache).run();
}

}  // namespace reflex::plan
