#include "execute/executor.h"

#include "common/huge_pages.h"
#include "common/log.h"
#include "execute/conversions.h"
#include "execute/desired_edit.h"
#include "guard/guard.h"
#include "plan/action_text.h"

#include <algorithm>
#include <cstdlib>
#include <numeric>
#include <set>
#include <unordered_map>
#include <unordered_set>

namespace reflex::execute {
namespace {

spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> l = spdlog::default_logger()->clone("execute");
  return *l;
}

constexpr Facet kFacets[] = {Facet::attach, Facet::program, Facet::rules, Facet::shapes};

Outcome outcome(const Action& a, OutcomeStatus s, TimeNs ts, std::string detail = {}, std::string error = {},
                std::string hint = {}) {
  Outcome o;
  o.action_id = a.id;
  o.status = s;
  o.ts_ns = ts;
  o.detail = std::move(detail);
  o.error = std::move(error);
  o.hint = std::move(hint);
  return o;
}

Facet facet_of(const ActionSpec& spec) {
  if (std::holds_alternative<ShapeInterface>(spec)) return Facet::shapes;
  if (std::holds_alternative<SetAttachMode>(spec)) return Facet::attach;
  if (std::holds_alternative<SwapProgram>(spec)) return Facet::program;
  return Facet::rules;
}

DesiredRule key_of(const Prefix& p, const L4Match& l4) {
  DesiredRule k;
  k.prefix = p;
  mask_prefix(k.prefix);
  k.l4 = l4;
  return k;
}

// Same effect in the datapath (a renewal changes only expiry and action id).
bool same_effect(const DesiredRule& a, const DesiredRule& b) {
  return a.prefix == b.prefix && a.l4 == b.l4 && a.verb == b.verb && a.pps == b.pps && a.burst == b.burst;
}
// The same, but for the prefix: a batch's one rule against what one of its keys held.
bool same_effect_as(const DesiredRule& had, const DesiredRule& batch_rule) {
  return had.l4 == batch_rule.l4 && had.verb == batch_rule.verb && had.pps == batch_rule.pps &&
         had.burst == batch_rule.burst;
}

bool same_facet(const DesiredInterface& a, const DesiredInterface& b, Facet f) {
  switch (f) {
    case Facet::rules: return a.rules == b.rules;
    case Facet::attach: return a.mode == b.mode;
    case Facet::program: return a.program == b.program;
    case Facet::shapes: return a.shapes == b.shapes;
  }
  return true;
}

void copy_facet(DesiredInterface& to, const DesiredInterface& from, Facet f) {
  switch (f) {
    case Facet::rules: to.rules = from.rules; break;
    case Facet::attach: to.mode = from.mode; break;
    case Facet::program: to.program = from.program; break;
    case Facet::shapes: to.shapes = from.shapes; break;
  }
}

// Whether the kernel's rules differ from the wanted ones (keys we own only).
bool rules_drift(const std::vector<DesiredRule>& want, const std::vector<DesiredRule>& actual, TimeNs now,
                 std::string& why) {
  std::size_t missing = 0, changed = 0;
  auto it = actual.begin();
  for (const auto& w : want) {
    if (w.expires_ns && w.expires_ns <= now) continue;
    while (it != actual.end() && rule_key_less(*it, w)) ++it;
    if (it == actual.end() || rule_key_less(w, *it)) {
      ++missing;
      continue;
    }
    const bool expiry_same = (w.expires_ns == 0) == (it->expires_ns == 0) &&
                             std::abs(w.expires_ns - it->expires_ns) <= kExpirySlackNs;
    if (!same_effect(w, *it) || !expiry_same) ++changed;
  }
  if (!missing && !changed) return false;
  why = std::to_string(missing) + " rule(s) missing, " + std::to_string(changed) + " changed";
  return true;
}

struct ShapeLess {
  bool operator()(const DesiredShape& a, const DesiredShape& b) const { return a.prefix < b.prefix; }
};

std::string key_text(const DesiredRule& k) { return k.prefix.to_string() + plan::l4_text(k.l4); }

// A copy of an action; a batch's prefixes (a million, say) go into memory
// asked for in huge pages, or the copy's time is its page faults. With
// `prefixes`, the batch gets those instead of its own.
Action copy_action(const Action& a, const std::vector<Prefix>* prefixes = nullptr) {
  const auto* bt = std::get_if<RuleBatch>(&a.spec);
  if (!bt) return a;
  Action out;
  out.id = a.id;
  out.ttl_ns = a.ttl_ns;
  out.dry_run = a.dry_run;
  out.rationale = a.rationale;
  RuleBatch b{bt->iface, {}, bt->l4, bt->verb, bt->pps, bt->burst, bt->remove};
  const auto& from = prefixes ? *prefixes : bt->prefixes;
  reserve_huge(b.prefixes, from.size());
  b.prefixes.assign(from.begin(), from.end());
  out.spec = std::move(b);
  return out;
}

// Two states differ: one shared state is not compared with itself rule by rule.
bool differs(const DesiredState& a, const DesiredState& b) { return &a != &b && a != b; }

// A copy of every field but the interfaces' rules (left empty).
DesiredState without_rules(const DesiredState& s) {
  DesiredState out;
  out.version = s.version;
  for (const auto& [k, d] : s.ifaces) {
    DesiredInterface& n = out.ifaces[k];
    n.mode = d.mode;
    n.program = d.program;
    n.shapes = d.shapes;
  }
  return out;
}

}  // namespace

std::string_view to_string(Facet f) {
  switch (f) {
    case Facet::rules: return "rules";
    case Facet::attach: return "attach";
    case Facet::program: return "program";
    case Facet::shapes: return "shapes";
  }
  return "?";
}

Executor::Executor(ExecutorConfig cfg, std::vector<ActuatorPtr> actuators)
    : cfg_(std::move(cfg)), actuators_(std::move(actuators)) {
  DesiredState s;
  for (const auto& i : cfg_.ifaces) s.ifaces[i];
  desired_ = std::make_shared<const DesiredState>(s);
  staged_ = desired_;
}

Executor::~Executor() = default;

Actuator* Executor::actuator_for(Facet f) const {
  for (const auto& a : actuators_)
    if (a->owns(f)) return a.get();
  return nullptr;
}

std::shared_ptr<const DesiredState> Executor::with_version(DesiredState s, const DesiredState& from) const {
  s.version = from.version + 1;
  return std::make_shared<const DesiredState>(std::move(s));
}

void Executor::restore(DesiredState s, TimeNs now) {
  (void)now;
  for (const auto& i : cfg_.ifaces) s.ifaces[i];
  desired_ = std::make_shared<const DesiredState>(std::move(s));
  staged_ = desired_;
  checks_.clear();
  health_.clear();
}

void Executor::set_mode(const std::string& iface, AttachMode mode) {
  for (auto* p : {&desired_, &staged_}) {
    DesiredState s = **p;
    if (s.ifaces[iface].mode == mode) continue;
    s.ifaces[iface].mode = mode;
    *p = with_version(std::move(s), **p);
  }
  health_[iface].actual_mode = mode;
}

// ---- review -----------------------------------------------------------------

Prepared Executor::review(const Snapshot& snap) {
  const TimeNs now = snap.ts_ns;
  Prepared p;
  p.ts_ns = now;
  Traffic traffic = Traffic::from(snap.observation);
  std::optional<DesiredState> next;  // copied on the first change
  auto edit = [&]() -> DesiredState& {
    if (!next) next = *staged_;
    return *next;
  };

  // 1. Expiry: the datapath has already stopped matching these (rules carry
  // their own expiry); the desired state lets go of them too.
  // Runs every tick over every rule (a million, say): the ids are gathered
  // only when something expired, and only the expired ones.
  std::set<std::string> expired_ids, live_ids;
  auto expired = [&](TimeNs e) { return e && e <= now; };
  for (const auto& [iface, d] : staged_->ifaces) {
    bool any = false;
    for (const auto& r : d.rules)
      if (expired(r.expires_ns)) any = true, expired_ids.insert(r.action_id);
    for (const auto& s : d.shapes)
      if (expired(s.expires_ns)) any = true, expired_ids.insert(s.action_id);
    if (!any) continue;
    auto& e = edit().ifaces[iface];
    std::erase_if(e.rules, [&](const DesiredRule& r) { return r.expires_ns && r.expires_ns <= now; });
    std::erase_if(e.shapes, [&](const DesiredShape& s) { return s.expires_ns && s.expires_ns <= now; });
  }
  if (!expired_ids.empty())
    for (const auto& [iface, d] : staged_->ifaces) {
      for (const auto& r : d.rules)
        if (!expired(r.expires_ns) && expired_ids.count(r.action_id)) live_ids.insert(r.action_id);
      for (const auto& s : d.shapes)
        if (!expired(s.expires_ns) && expired_ids.count(s.action_id)) live_ids.insert(s.action_id);
    }
  for (const auto& id : expired_ids) {
    if (id.empty() || live_ids.count(id)) continue;  // one of its rules is still in force
    Outcome o;
    o.action_id = id;
    o.status = OutcomeStatus::expired;
    o.ts_ns = now;
    o.detail = "its ttl ran out";
    p.outcomes.push_back(std::move(o));
    std::erase_if(checks_, [&](const Check& c) { return c.action->id == id; });
  }

  // 2. Post-conditions.
  for (auto it = checks_.begin(); it != checks_.end();) {
    Check& c = *it;
    // Superseded: every key it set now holds something else a later action
    // put there. A renewal by another action (same rule, a new expiry and
    // action id) leaves the datapath as this action made it, so the check
    // still judges it: two rules answering one flood in one tick, one of
    // them for every interface, must not both go unverified.
    const DesiredState& cur = next ? *next : *staged_;
    bool any_own = c.rules.empty() && c.batches.empty();
    for (const auto& bb : c.batches)
      if (auto ifc = cur.ifaces.find(bb.iface); !any_own && ifc != cur.ifaces.end())
        any_own = batch_in_force(ifc->second.rules, *bb.keys, bb.l4, bb.after);
    for (const auto& rb : c.rules) {
      auto ifc = cur.ifaces.find(rb.iface);
      if (ifc == cur.ifaces.end()) continue;
      const auto now_rule = find_rule(ifc->second.rules, rb.key);
      if (now_rule == rb.after || (now_rule && rb.after && same_effect(*now_rule, *rb.after))) any_own = true;
    }
    if (!any_own) {
      it = checks_.erase(it);
      continue;
    }
    Judgement j = judge(*c.action, c.ifaces, c.base, c.applied_ns, c.deadline_ns, traffic, snap.symptoms, cfg_.verify);
    if (j.verdict == Verdict::wait) {
      ++it;
      continue;
    }
    if (j.verdict == Verdict::holds) {
      auto o = outcome(*c.action, OutcomeStatus::verified, now, j.detail);
      o.effect = j.effect;
      p.outcomes.push_back(std::move(o));
      it = checks_.erase(it);
      continue;
    }
    // Rolled back: the pre-image returns, where nothing later has replaced it.
    DesiredState& st = edit();
    std::vector<ActionSpec> undo;
    std::map<std::string, std::unique_ptr<RuleEdits>> undo_edits;
    for (const auto& rb : c.rules) {
      auto& e = undo_edits[rb.iface];
      if (!e) e = std::make_unique<RuleEdits>(st.ifaces[rb.iface].rules);
      if (e->get(rb.key) != rb.after) continue;
      e->set(rb.key, rb.before);
      if (rb.before) {
        if (auto spec = spec_of(rb.iface, *rb.before)) undo.push_back(*spec);
      } else {
        undo.push_back(Unblock{rb.iface, rb.key.prefix, rb.key.l4});
      }
    }
    for (auto& [i, e] : undo_edits) e->flush();
    for (const auto& bb : c.batches) {
      auto& rules = st.ifaces[bb.iface].rules;
      if (!restore_batch(rules, *bb.keys, bb.l4, bb.after, *bb.before)) continue;
      for (auto& spec : batch_inverse(bb.iface, *bb.keys, bb.l4, *bb.before, !bb.after)) undo.push_back(std::move(spec));
    }
    for (const auto& [iface, m] : c.mode_before) {
      auto& d = st.ifaces[iface];
      if (const auto* sm = std::get_if<SetAttachMode>(&c.action->spec); sm && d.mode == sm->mode) {
        d.mode = m;
        undo.push_back(SetAttachMode{iface, m});
      }
    }
    for (const auto& [iface, prog] : c.program_before) {
      auto& d = st.ifaces[iface];
      if (const auto* sp = std::get_if<SwapProgram>(&c.action->spec); sp && d.program == sp->program) {
        d.program = prog;
        undo.push_back(SwapProgram{iface, prog});
      }
    }
    for (const auto& sb : c.shapes) {
      auto& d = st.ifaces[sb.iface];
      auto pos = std::find_if(d.shapes.begin(), d.shapes.end(), [&](const DesiredShape& s) { return s.prefix == sb.prefix; });
      std::optional<DesiredShape> now_val;
      if (pos != d.shapes.end()) now_val = *pos;
      if (now_val != sb.after) continue;
      if (pos != d.shapes.end()) d.shapes.erase(pos);
      if (sb.before) {
        d.shapes.insert(std::upper_bound(d.shapes.begin(), d.shapes.end(), *sb.before, ShapeLess{}), *sb.before);
        undo.push_back(ShapeInterface{sb.iface, sb.prefix, sb.before->rate_bps, sb.before->burst_bytes});
      } else {
        undo.push_back(ShapeInterface{sb.iface, sb.prefix, 0, 0});
      }
    }
    auto o = outcome(*c.action, OutcomeStatus::rolled_back, now, "rolled back: " + j.detail);
    o.effect = j.effect;
    p.outcomes.push_back(std::move(o));
    log().warn("rolled back {} ({}): {}", c.action->id, plan::describe(c.action->spec), j.detail);
    // The rollback is itself a change the loop journals before it happens.
    if (!undo.empty()) {
      Intent in;
      in.action.id = c.action->id + "/rollback";
      in.action.spec = undo.front();
      in.action.rationale = c.action->rationale;
      in.action.rationale.decision = "rollback";
      in.action.rationale.note = j.detail;
      in.inverse = {c.action->spec};
      p.intents.push_back(std::move(in));
      for (std::size_t k = 1; k < undo.size(); ++k) {
        Intent more = p.intents.back();
        more.action.id = c.action->id + "/rollback/" + std::to_string(k);
        more.action.spec = undo[k];
        p.intents.push_back(std::move(more));
      }
    }
    it = checks_.erase(it);
  }

  history_.push_back(std::move(traffic));
  while (history_.size() > 2 && (history_.size() > 32 || history_[1].ts <= now - 4 * cfg_.verify.baseline_ns))
    history_.pop_front();
  if (next) staged_ = with_version(std::move(*next), *staged_);
  p.desired = staged_;
  p.changed = differs(*staged_, *desired_);
  return p;
}

// ---- prepare ----------------------------------------------------------------

Prepared Executor::prepare(const Plan& plan, const Snapshot& snap) const {
  const TimeNs now = snap.ts_ns;
  Prepared p;
  p.ts_ns = now;
  p.desired = staged_;
  p.changed = differs(*staged_, *desired_);
  if (plan.actions.empty()) return p;

  // The next state: the staged one, but an interface's rules (a million,
  // say) are not copied first; its rule edits read the staged list and
  // write the result (a batch merges from one into the other in one pass).
  DesiredState next = without_rules(*staged_);
  std::map<std::string, std::unique_ptr<RuleEdits>> edits;
  auto rules_of = [&](const std::string& iface) -> RuleEdits& {
    auto& e = edits[iface];
    if (!e) {
      auto from = staged_->ifaces.find(iface);
      e = from == staged_->ifaces.end() ? std::make_unique<RuleEdits>(next.ifaces[iface].rules)
                                        : std::make_unique<RuleEdits>(next.ifaces[iface].rules, from->second.rules);
      e->reserve(plan.actions.size());
    }
    return *e;
  };
  const Traffic at = Traffic::from(snap.observation);
  // The newest sample at least baseline_ns before this snapshot, else the oldest there is.
  const Traffic* before_from = nullptr;
  for (const auto& t : history_) {
    if (t.ts >= snap.ts_ns) break;
    if (!before_from || t.ts <= snap.ts_ns - cfg_.verify.baseline_ns) before_from = &t;
  }
  std::size_t checks = 0;
  bool any_change = false;
  p.intents.reserve(plan.actions.size());
  p.touches.reserve(plan.actions.size());

  for (const Action& a : plan.actions) {
    auto fail = [&](std::string error, std::string hint) {
      log().warn("action {} ({}) refused: {}", a.id, plan::describe(a.spec), error);
      p.outcomes.push_back(outcome(a, OutcomeStatus::failed, now, {}, std::move(error), std::move(hint)));
    };
    if (a.dry_run) {
      p.outcomes.push_back(outcome(a, OutcomeStatus::dry_run, now, "planned, not applied (dry run)"));
      continue;
    }
    if (const auto* al = std::get_if<Alert>(&a.spec)) {
      log().warn("alert from rule {}: {}", a.rationale.rule_id, al->message);
      p.outcomes.push_back(outcome(a, OutcomeStatus::applied, now, "alert logged"));
      continue;
    }
    // Empty iface: every interface reflex guards.
    const std::string named = plan::target_iface(a.spec);
    std::vector<std::string> ifaces;
    if (named.empty()) {
      for (const auto& [k, v] : next.ifaces) ifaces.push_back(k);
      if (ifaces.empty()) {
        fail("no interface is guarded", "give the daemon an interface to guard");
        continue;
      }
    } else if (!next.ifaces.count(named)) {
      fail(named + " is not an interface reflex guards", "add it to the daemon's interfaces, or fix the policy");
      continue;
    } else {
      ifaces.push_back(named);
    }
    const Facet facet = facet_of(a.spec);
    if (!actuator_for(facet)) {
      fail("no actuator here changes " + std::string(to_string(facet)),
           facet == Facet::shapes ? "TC shaping is not built into this daemon" : "");
      continue;
    }

    Check c;  // its action and interfaces are filled in only if it is kept (a plan may hold a million)
    c.facet = facet;
    std::vector<ActionSpec> inverse;
    std::string detail;
    bool changes = false, renewal = true;
    std::optional<std::pair<std::string, std::string>> refused;  // error, hint

    if (std::holds_alternative<BlockPrefix>(a.spec) || std::holds_alternative<ShadowPrefix>(a.spec) ||
        std::holds_alternative<RateLimitPrefix>(a.spec)) {
      auto rule = desired_rule(a, now);
      if (!rule) {
        fail(rule.error().what, rule.error().hint);
        continue;
      }
      for (const auto& i : ifaces) {
        RuleEdits& e = rules_of(i);
        // A host an aggregate stands in for: the cover takes the renewal.
        if (rule->prefix.is_host() && rule->l4 == L4Match{})
          if (auto cover = e.cover_of(rule->prefix); cover && cover->verb == rule->verb && cover->pps == rule->pps) {
            DesiredRule grown = *cover;
            if (grown.expires_ns && (!rule->expires_ns || rule->expires_ns > grown.expires_ns))
              grown.expires_ns = rule->expires_ns;
            if (grown != *cover) {
              c.rules.push_back({i, key_of(cover->prefix, cover->l4), cover, grown});
              e.set(grown, grown);
              changes = true;
            }
            detail = "covered by " + describe(*cover);
            continue;
          }
        auto prev = e.get(*rule);
        if (!prev && e.count() + 1 > cfg_.max_rules) {
          refused = {i + ": the rule table is full (" + std::to_string(e.count()) + " rules)",
                     "aggregate host rules (policy action aggregate), or raise the guard's rule limit"};
          break;
        }
        if (!prev || !same_effect(*prev, *rule)) renewal = false;
        c.rules.push_back({i, key_of(rule->prefix, rule->l4), prev, *rule});
        e.set(*rule, *rule);
        changes = true;
        if (prev) {
          if (auto spec = spec_of(i, *prev)) inverse.push_back(*spec);
        } else {
          inverse.push_back(Unblock{i, rule->prefix, rule->l4});
        }
      }
    } else if (const auto* u = std::get_if<Unblock>(&a.spec)) {
      const DesiredRule key = key_of(u->prefix, u->l4);
      for (const auto& i : ifaces) {
        RuleEdits& e = rules_of(i);
        auto prev = e.get(key);
        if (prev && prev->verb != RuleVerb::allow) {
          c.rules.push_back({i, key, prev, std::nullopt});
          e.set(key, std::nullopt);
          if (auto spec = spec_of(i, *prev)) inverse.push_back(*spec);
          changes = true;
          continue;
        }
        // A host an aggregate absorbed: it leaves the cover; the last one takes the cover with it.
        if (key.prefix.is_host() && key.l4 == L4Match{})
          if (auto cover = e.cover_of(key.prefix)) {
            std::optional<DesiredRule> shrunk = *cover;
            std::erase(shrunk->absorbed, key.prefix);
            if (shrunk->absorbed.empty()) shrunk.reset();
            c.rules.push_back({i, key_of(cover->prefix, cover->l4), cover, shrunk});
            e.set(*cover, shrunk);
            changes = true;
            detail = shrunk ? "left the cover " + describe(*cover) : "the cover " + describe(*cover) + " went with its last host";
          }
      }
      renewal = false;
      if (!changes) {
        p.outcomes.push_back(outcome(a, OutcomeStatus::skipped, now, "no rule for " + key_text(key) + " to remove"));
        continue;
      }
    } else if (const auto* bt = std::get_if<RuleBatch>(&a.spec)) {
      // One merge per interface, whatever the size: the batch's keys sorted
      // once, the rule list walked once, one pre-image list.
      std::optional<DesiredRule> rule;
      if (!bt->remove) {
        auto r = desired_rule(a, now);
        if (!r) {
          fail(r.error().what, r.error().hint);
          continue;
        }
        rule = std::move(*r);
      }
      const auto keys_ptr = std::make_shared<const std::vector<Prefix>>(batch_keys(*bt));
      const std::vector<Prefix>& keys = *keys_ptr;
      renewal = !bt->remove;
      for (const auto& i : ifaces) {
        RuleEdits& e = rules_of(i);
        auto before = e.set_batch(keys, bt->l4, rule);
        if (rule && e.count() > cfg_.max_rules) {
          const std::size_t with = e.count();
          e.restore_batch(keys, bt->l4, rule, before);
          refused = {i + ": the rule table is full (" + std::to_string(with) + " rules with the batch's " +
                         std::to_string(keys.size()) + " keys, the limit is " + std::to_string(cfg_.max_rules) + ")",
                     "split the batch, aggregate host rules, or raise the guard's rule limit"};
          break;
        }
        if (rule && (before.size() != keys.size() ||
                     !std::all_of(before.begin(), before.end(), [&](const DesiredRule& b) { return same_effect_as(b, *rule); })))
          renewal = false;
        if (!rule && before.empty()) continue;
        for (auto& spec : batch_inverse(i, keys, bt->l4, before, !rule)) inverse.push_back(std::move(spec));
        c.batches.push_back(
            {i, keys_ptr, bt->l4, rule, std::make_shared<const std::vector<DesiredRule>>(std::move(before))});
        changes = true;
      }
      if (refused) {
        for (auto bb = c.batches.rbegin(); bb != c.batches.rend(); ++bb)
          rules_of(bb->iface).restore_batch(*bb->keys, bb->l4, bb->after, *bb->before);
        c.batches.clear();
      } else if (!changes && bt->remove) {
        p.outcomes.push_back(outcome(a, OutcomeStatus::skipped, now,
                                     "none of the batch's " + std::to_string(keys.size()) + " keys holds a rule"));
        continue;
      }
      detail = std::to_string(keys.size()) + " keys";
    } else if (const auto* agg = std::get_if<AggregateRules>(&a.spec)) {
      if (agg->verb == RuleVerb::allow) {
        fail("aggregate of allow rules: allow rules are never widened", "aggregate block, rate_limit or shadow rules");
        continue;
      }
      if (agg->len_v4 == 0 || agg->len_v4 >= 32 || agg->len_v6 == 0 || agg->len_v6 >= 128 || agg->min_hosts < 2) {
        fail("aggregate with lengths /" + std::to_string(agg->len_v4) + ", /" + std::to_string(agg->len_v6) +
                 " and min_hosts " + std::to_string(agg->min_hosts),
             "give lengths below /32 and /128 and min_hosts of 2 or more");
        continue;
      }
      std::size_t covers = 0, hosts = 0;
      std::string list;
      for (const auto& i : ifaces) {
        RuleEdits& e = rules_of(i);
        for (auto& cv : plan_covers(*agg, e.rules(), a.id)) {
          // The inverse lifts the cover first, so the hosts it lists are not absorbed by it again.
          inverse.push_back(Unblock{i, cv.rule.prefix, cv.rule.l4});
          for (const auto& h : cv.replaced) {
            c.rules.push_back({i, key_of(h.prefix, h.l4), h, std::nullopt});
            e.set(h, std::nullopt);
            if (auto spec = spec_of(i, h)) inverse.push_back(*spec);
          }
          c.rules.push_back({i, key_of(cv.rule.prefix, cv.rule.l4), cv.merged, cv.rule});
          e.set(cv.rule, cv.rule);
          ++covers;
          hosts += cv.replaced.size();
          if (covers <= 4) list += (list.empty() ? "" : ", ") + cv.rule.prefix.to_string() + " (" + std::to_string(cv.replaced.size()) + ")";
        }
      }
      renewal = false;
      if (!covers) {
        p.outcomes.push_back(outcome(a, OutcomeStatus::skipped, now,
                                     "no /" + std::to_string(agg->len_v4) + " (IPv6 /" + std::to_string(agg->len_v6) +
                                         ") holds " + std::to_string(agg->min_hosts) +
                                         " host rules of that verb outside the protected ranges"));
        continue;
      }
      changes = true;
      detail = std::to_string(covers) + " prefix rule(s) replace " + std::to_string(hosts) + " host rules: " + list +
               (covers > 4 ? ", ..." : "");
    } else if (const auto* m = std::get_if<SetAttachMode>(&a.spec)) {
      if (m->mode == AttachMode::none) {
        fail("attach mode none is not a mode", "ask for native, generic or tc");
        continue;
      }
      for (const auto& i : ifaces) {
        auto& d = next.ifaces[i];
        if (d.mode == m->mode) continue;
        c.mode_before[i] = d.mode;
        inverse.push_back(SetAttachMode{i, d.mode == AttachMode::none ? AttachMode::native : d.mode});
        d.mode = m->mode;
        changes = true;
      }
      renewal = !changes;
    } else if (const auto* sp = std::get_if<SwapProgram>(&a.spec)) {
      if (!guard::program_variant_flags(sp->program)) {
        std::string names;
        for (const auto& n : guard::program_variants()) names += (names.empty() ? "" : ", ") + n;
        fail("unknown guard program '" + sp->program + "'", "use one of: " + names);
        continue;
      }
      const std::string want = sp->program == guard::kProgramDefault ? "" : sp->program;
      for (const auto& i : ifaces) {
        auto& d = next.ifaces[i];
        if (d.program == want) continue;
        c.program_before[i] = d.program;
        inverse.push_back(SwapProgram{i, d.program.empty() ? guard::kProgramDefault : d.program});
        d.program = want;
        changes = true;
      }
      renewal = !changes;
    } else if (const auto* sh = std::get_if<ShapeInterface>(&a.spec)) {
      for (const auto& i : ifaces) {
        auto& d = next.ifaces[i];
        auto pos = std::find_if(d.shapes.begin(), d.shapes.end(), [&](const DesiredShape& s) { return s.prefix == sh->prefix; });
        std::optional<DesiredShape> prev;
        if (pos != d.shapes.end()) prev = *pos;
        std::optional<DesiredShape> want;
        if (sh->rate_bps) {
          DesiredShape s;
          s.prefix = sh->prefix;
          s.rate_bps = sh->rate_bps;
          s.burst_bytes = sh->burst_bytes;
          s.expires_ns = a.ttl_ns ? now + a.ttl_ns : 0;
          s.action_id = a.id;
          want = s;
        }
        if (!prev && !want) continue;
        if (!(prev && want && prev->rate_bps == want->rate_bps && prev->burst_bytes == want->burst_bytes))
          renewal = false;
        c.shapes.push_back({i, sh->prefix, prev, want});
        if (pos != d.shapes.end()) d.shapes.erase(pos);
        if (want) d.shapes.insert(std::upper_bound(d.shapes.begin(), d.shapes.end(), *want, ShapeLess{}), *want);
        inverse.push_back(prev ? ShapeInterface{i, sh->prefix, prev->rate_bps, prev->burst_bytes}
                               : ShapeInterface{i, sh->prefix, 0, 0});
        changes = true;
      }
      if (!changes) {
        p.outcomes.push_back(outcome(a, OutcomeStatus::skipped, now, "no shaping to remove"));
        continue;
      }
    }

    if (refused) {
      // Whole or not at all: what it did on other interfaces is taken back.
      for (auto rb = c.rules.rbegin(); rb != c.rules.rend(); ++rb) rules_of(rb->iface).set(rb->key, rb->before);
      fail(refused->first, refused->second);
      continue;
    }
    if (!changes) {
      p.outcomes.push_back(outcome(a, OutcomeStatus::skipped, now, detail.empty() ? "already in force" : detail));
      continue;
    }
    any_change = true;
    p.intents.push_back(Intent{copy_action(a), std::move(inverse)});
    for (const auto& i : ifaces) p.touches.push_back({p.intents.size() - 1, i, facet});
    const bool watch = has_postcondition(a.spec) && !renewal && checks < cfg_.max_checks_per_plan;
    if (watch || ifaces.size() > 1) {
      // Multi-interface actions keep their pre-image even unwatched: a
      // failure on one interface takes them back on the others.
      std::optional<Prefix> prefix = plan::target_prefix(a.spec);
      c.base.at = at;
      c.base.before = rates(before_from, at, ifaces, prefix, origin_of(a));
      if (const Symptom* s = answered_symptom(a, snap.symptoms)) c.base.symptom_value = s->evidence.value;
      else if (a.rationale.symptom) c.base.symptom_value = a.rationale.evidence.value;
      // A batch's check keeps its keys for prefixes (masked, sorted, no
      // repeats: the same batch): what it judges every tick is then counted
      // in one pass, not sorted again.
      c.action = std::make_shared<const Action>(
          copy_action(a, std::holds_alternative<RuleBatch>(a.spec) && !c.batches.empty() ? c.batches.front().keys.get()
                                                                                         : nullptr));
      c.ifaces = ifaces;
      c.applied_ns = now;
      c.deadline_ns = watch ? now + cfg_.verify.deadline_ns : 0;  // 0: not watched
      if (watch) ++checks;
      p.checks.push_back(std::move(c));
    }
  }
  if (any_change) {
    for (auto& [i, d] : next.ifaces)
      if (auto e = edits.find(i); e != edits.end()) (void)e->second->rules();
      else if (auto from = staged_->ifaces.find(i); from != staged_->ifaces.end()) d.rules = from->second.rules;
    p.desired = with_version(std::move(next), *staged_);
  }
  p.changed = differs(*p.desired, *desired_);
  return p;
}

// ---- apply ------------------------------------------------------------------

Status Executor::converge_iface(const std::string& iface, Facet f, const DesiredInterface& want,
                                const DesiredInterface& before, TimeNs now, std::string& detail) {
  Actuator* act = actuator_for(f);
  if (!act) {
    if (f == Facet::shapes && want.shapes.empty()) return ok();
    if (f == Facet::program && want.program.empty()) return ok();
    if (f != Facet::shapes && f != Facet::program) return ok();
    return make_error("no actuator here changes " + std::string(to_string(f)));
  }
  auto r = act->converge(iface, f, want, before, now);
  if (!r) return r.error();
  if (r->changed) {
    if (!detail.empty()) detail += "; ";
    detail += std::string(to_string(f)) + ": " + r->detail;
    log().info("{} {}: {} ({:.1f} ms)", iface, to_string(f), r->detail, r->ms);
  }
  return ok();
}

std::vector<Outcome> Executor::apply(const Prepared& p) {
  std::vector<Outcome> out;
  const TimeNs now = p.ts_ns;
  auto before = desired_;
  // The state converged to: p.desired unless a failure changes it (copied
  // only then: a million rules are a copy worth avoiding on every apply).
  std::optional<DesiredState> edited;
  std::map<std::pair<std::string, Facet>, Error> failed;
  std::map<std::string, std::string> details;

  auto converge_all = [&](const DesiredState& want, const DesiredState& had,
                          std::map<std::pair<std::string, Facet>, Error>& errors, bool retry_failed) {
    for (const auto& [iface, w] : want.ifaces) {
      static const DesiredInterface kEmpty;
      auto h = had.ifaces.find(iface);
      const DesiredInterface& hv = h == had.ifaces.end() ? kEmpty : h->second;
      // An interface whose last converge failed is tried again in full.
      const bool was_bad = retry_failed && !health_[iface].error.empty();
      for (Facet f : kFacets) {
        if (!was_bad && same_facet(w, hv, f)) continue;
        if (auto s = converge_iface(iface, f, w, hv, now, details[iface]); !s) {
          errors[{iface, f}] = s.error();
          health_[iface].error = s.error().message();
          log().warn("{} {}: {}", iface, to_string(f), s.error().message());
        }
      }
    }
  };
  converge_all(*p.desired, *before, failed, true);

  // A facet that failed is as it was (each converge is all or nothing).
  std::set<std::string> failed_actions;
  if (!failed.empty())
    for (const auto& t : p.touches)
      if (t.intent < p.intents.size() && failed.count({t.iface, t.facet}))
        failed_actions.insert(p.intents[t.intent].action.id);
  if (!failed.empty()) {
    edited = *p.desired;
    DesiredState& result = *edited;
    for (const auto& [key, err] : failed) {
      auto h = before->ifaces.find(key.first);
      if (h != before->ifaces.end()) copy_facet(result.ifaces[key.first], h->second, key.second);
      else copy_facet(result.ifaces[key.first], DesiredInterface{}, key.second);
    }
    // ... and an action that failed somewhere is taken back everywhere else.
    DesiredState partial = result;
    bool retake = false;
    for (const auto& c : p.checks) {
      if (!failed_actions.count(c.action->id)) continue;
      std::map<std::string, std::unique_ptr<RuleEdits>> back;
      for (const auto& rb : c.rules) {
        if (failed.count({rb.iface, Facet::rules})) continue;
        auto& e = back[rb.iface];
        if (!e) e = std::make_unique<RuleEdits>(result.ifaces[rb.iface].rules);
        if (e->get(rb.key) != rb.after) continue;
        e->set(rb.key, rb.before);
        retake = true;
      }
      for (auto& [i, e] : back) e->flush();
      for (const auto& bb : c.batches)
        if (!failed.count({bb.iface, Facet::rules}) &&
            restore_batch(result.ifaces[bb.iface].rules, *bb.keys, bb.l4, bb.after, *bb.before))
          retake = true;
      for (const auto& [iface, m] : c.mode_before)
        if (!failed.count({iface, Facet::attach})) result.ifaces[iface].mode = m, retake = true;
      for (const auto& [iface, prog] : c.program_before)
        if (!failed.count({iface, Facet::program})) result.ifaces[iface].program = prog, retake = true;
    }
    if (retake) {
      std::map<std::pair<std::string, Facet>, Error> again;
      converge_all(result, partial, again, false);
      for (const auto& [key, err] : again) {
        log().error("{} {}: could not take back a partly failed action: {}", key.first, to_string(key.second),
                    err.message());
        copy_facet(result.ifaces[key.first], partial.ifaces[key.first], key.second);
      }
    }
  }
  for (const auto& [iface, d] : (edited ? *edited : *p.desired).ifaces)
    if (!std::any_of(failed.begin(), failed.end(), [&](const auto& f) { return f.first.first == iface; }))
      health_[iface].error.clear(), health_[iface].actual_mode = d.mode;

  // Outcomes, and the checks of what took effect start now. A plan may hold
  // a million actions: each intent's touches are found by its index (one
  // sort of small integers), not by its id.
  std::vector<std::uint32_t> by_intent(p.touches.size());
  std::iota(by_intent.begin(), by_intent.end(), 0u);
  std::stable_sort(by_intent.begin(), by_intent.end(),
                   [&](std::uint32_t x, std::uint32_t y) { return p.touches[x].intent < p.touches[y].intent; });
  std::size_t tpos = 0;
  std::vector<const Prepared::Touch*> touched_now;
  auto touched = [&](std::size_t k) -> const std::vector<const Prepared::Touch*>& {
    touched_now.clear();
    while (tpos < by_intent.size() && p.touches[by_intent[tpos]].intent < k) ++tpos;
    for (std::size_t q = tpos; q < by_intent.size() && p.touches[by_intent[q]].intent == k; ++q)
      touched_now.push_back(&p.touches[by_intent[q]]);
    return touched_now;
  };
  out.reserve(p.intents.size());
  for (std::size_t k = 0; k < p.intents.size(); ++k) {
    const Action& a = p.intents[k].action;
    if (a.rationale.decision == "rollback") continue;  // its outcome (rolled_back) came from review()
    if (!failed_actions.empty() && failed_actions.count(a.id)) {
      const Error* err = nullptr;
      for (const auto* t : touched(k))
        if (auto f = failed.find({t->iface, t->facet}); f != failed.end()) err = &f->second;
      out.push_back(outcome(a, OutcomeStatus::failed, now, {}, err ? err->what : "failed",
                            err ? err->hint : std::string()));
      continue;
    }
    std::string detail;
    for (const auto* t : touched(k))
      if (auto d = details.find(t->iface); d != details.end() && !d->second.empty()) {
        detail = d->second;
        break;
      }
    out.push_back(outcome(a, OutcomeStatus::applied, now, detail));
  }
  for (const auto& c : p.checks)
    if (c.deadline_ns && !failed_actions.count(c.action->id)) checks_.push_back(c);

  if (!edited || *edited == *p.desired) desired_ = p.desired;
  else desired_ = with_version(std::move(*edited), *p.desired);
  staged_ = desired_;
  return out;
}

// ---- reconcile --------------------------------------------------------------

namespace {

// What the kernel holds of a shape: its prefix, rate (in bytes a second, as
// htb keeps it) and burst (0: htb's default). The expiry and the action that
// asked for it are the Executor's own, never read back.
bool same_shapes(const std::vector<DesiredShape>& want, const std::vector<DesiredShape>& actual) {
  return std::equal(want.begin(), want.end(), actual.begin(), actual.end(),
                    [](const DesiredShape& w, const DesiredShape& a) {
                      return w.prefix == a.prefix && w.rate_bps / 8 == a.rate_bps / 8 &&
                             (w.burst_bytes == 0 || w.burst_bytes == a.burst_bytes);
                    });
}

}  // namespace

std::vector<Outcome> Executor::reconcile(TimeNs now) {
  std::vector<Outcome> out;
  for (const auto& [iface, want] : desired_->ifaces) {
    std::string healed, error, hint;
    for (const auto& act : actuators_) {
      auto actual = act->read(iface, now);
      if (!actual) {
        error = actual.error().what;
        hint = actual.error().hint;
        continue;
      }
      for (Facet f : kFacets) {
        if (!act->owns(f)) continue;
        std::string why;
        switch (f) {
          case Facet::attach:
            if (want.mode == AttachMode::none) break;
            if (!actual->guarded) why = "no guard loaded";
            else if (!actual->attached) why = actual->note.empty() ? "link detached" : actual->note;
            else if (actual->mode != want.mode)
              why = "attached in " + std::string(to_string(actual->mode)) + " mode, not " + std::string(to_string(want.mode));
            break;
          case Facet::program: {
            const std::string w = want.program.empty() ? guard::kProgramDefault : want.program;
            if (actual->guarded && actual->program != w) why = "running " + actual->program + ", not " + w;
            break;
          }
          case Facet::rules:
            if (actual->guarded) rules_drift(want.rules, actual->rules, now, why);
            else if (!want.rules.empty()) why = "no guard to hold " + std::to_string(want.rules.size()) + " rules";
            break;
          case Facet::shapes:
            if (!same_shapes(want.shapes, actual->shapes)) why = "shapes differ";
            break;
        }
        if (why.empty()) continue;
        if (!actual->present) {
          error = "interface " + iface + " is gone";
          hint = "it is guarded again when it comes back";
          break;
        }
        act->forget(iface);
        auto r = act->converge(iface, f, want, want, now);
        if (!r) {
          error = std::string(to_string(f)) + ": " + why + "; healing failed: " + r.error().what;
          hint = r.error().hint;
          continue;
        }
        if (!r->changed) continue;  // read back in another form (a rounded rate), nothing was out of place
        healed += (healed.empty() ? "" : "; ") + std::string(to_string(f)) + ": " + why + ", healed" +
                  (r->detail.empty() ? "" : " (" + r->detail + ")");
        if (f == Facet::attach) {
          // A reload brings an empty guard: the facets after it are judged on what is there now.
          if (auto again = act->read(iface, now)) actual = std::move(again);
        }
      }
    }
    auto& h = health_[iface];
    h.error = error.empty() ? "" : error + (hint.empty() ? "" : " (" + hint + ")");
    if (error.empty()) h.actual_mode = want.mode;
    if (healed.empty() && error.empty()) continue;
    Outcome o;
    o.action_id = "reconcile:" + iface;
    o.ts_ns = now;
    o.status = error.empty() ? OutcomeStatus::applied : OutcomeStatus::failed;
    o.detail = healed;
    o.error = error;
    o.hint = hint;
    if (!healed.empty()) log().warn("{}: drift healed: {}", iface, healed);
    if (!error.empty()) log().error("{}: {}", iface, h.error);
    out.push_back(std::move(o));
  }
  return out;
}

// ---- status -----------------------------------------------------------------

ExecutorStatus Executor::status(TimeNs now) const {
  ExecutorStatus s;
  s.desired_version = desired_->version;
  for (const auto& [iface, d] : desired_->ifaces) {
    InterfaceStatus is;
    is.iface = iface;
    is.mode = d.mode;
    is.program = d.program.empty() ? guard::kProgramDefault : d.program;
    if (auto h = health_.find(iface); h != health_.end()) {
      is.actual_mode = h->second.actual_mode;
      is.error = h->second.error;
      is.healthy = h->second.error.empty();
    }
    is.rules = d.rules.size();
    is.shapes = d.shapes.size();
    for (const auto& r : d.rules)
      is.soonest.push_back({describe(r), r.action_id, r.expires_ns ? std::max<TimeNs>(0, r.expires_ns - now) : 0});
    for (const auto& sh : d.shapes)
      is.soonest.push_back({"shape " + (sh.prefix ? sh.prefix->to_string() : std::string("interface")) + " " +
                                std::to_string(sh.rate_bps) + " bit/s",
                            sh.action_id, sh.expires_ns ? std::max<TimeNs>(0, sh.expires_ns - now) : 0});
    // Soonest expiry first, the ones that never expire last.
    auto rank = [](const InterfaceStatus::Timed& t) { return t.remaining_ns ? t.remaining_ns : INT64_MAX; };
    const std::size_t keep = std::min(is.soonest.size(), ExecutorStatus::kListed);
    std::partial_sort(is.soonest.begin(), is.soonest.begin() + static_cast<std::ptrdiff_t>(keep), is.soonest.end(),
                      [&](const auto& a, const auto& b) { return rank(a) < rank(b); });
    is.soonest.resize(keep);
    s.ifaces.push_back(std::move(is));
  }
  for (const auto& c : checks_) s.pending.push_back({c.action->id, plan::describe(*c.action), c.applied_ns + cfg_.verify.settle_ns});
  return s;
}

}  // namespace reflex::execute
