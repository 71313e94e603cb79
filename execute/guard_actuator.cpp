#include "execute/guard_actuator.h"

#include "common/netns.h"
#include "common/huge_pages.h"
#include "execute/conversions.h"

#include <malloc.h>
#include <net/if.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

namespace reflex::execute {
namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A read-back of many rules is a one-off (an operator's bulk load): what it
// freed stays in malloc's arenas, resident, unless handed back; rare enough
// that the trim's walk of the heap does not matter.
void trim_after_large_read(std::size_t rules) {
  if (rules >= 10000) malloc_trim(0);
}

bool key_less(const guard::GuardRule& a, const guard::GuardRule& b) {
  if (a.prefix != b.prefix) return a.prefix < b.prefix;
  return a.l4 < b.l4;
}

guard::RuleKey key_of(const DesiredRule& r) { return guard::RuleKey{r.prefix, r.l4}; }

// Whether a sorted rule list holds this key.
bool has_key(const std::vector<DesiredRule>& sorted, const DesiredRule& r) {
  return std::binary_search(sorted.begin(), sorted.end(), r, rule_key_less);
}

Error with_iface(const std::string& iface, Error e) {
  e.what = iface + ": " + e.what;
  return e;
}

std::uint32_t map_id_of(int fd) {
  auto info = guard::map_info(fd);
  return info ? info->id : 0;
}

}  // namespace

guard::LoadMode load_mode_for(AttachMode m) {
  switch (m) {
    case AttachMode::native: return guard::LoadMode::native;
    case AttachMode::generic: return guard::LoadMode::generic;
    case AttachMode::tc: return guard::LoadMode::tc;
    case AttachMode::none: break;
  }
  return guard::LoadMode::auto_;
}

ClockMap GuardActuator::clock_map(TimeNs now) const {
  // `now` is the snapshot's time, which may be a tick behind; the two clocks
  // must be read together or every expiry that makes the round trip drifts
  // by the lag.
  return ClockMap::at(opts_.loop_clock ? opts_.loop_clock->now_ns() : now);
}

std::string EnsureReport::describe() const {
  std::string s = iface + ": " + (adopted ? "adopted the pinned guard" : "loaded the guard") + " in " +
                  std::string(to_string(mode)) + " mode";
  if (!steps.empty()) s += " (" + guard::describe(steps) + ")";
  s += ", " + std::to_string(rules) + " rules, program " + program;
  return s;
}

// One interface the actuator serves, and what it last left there.
struct GuardActuator::Slot {
  monitor::InterfaceRef ref;
  std::optional<guard::Guard> g;
  std::uint32_t ctl_id = 0;  // the guard's control map: a reload makes a new one
  // The rules this actuator installed, sorted by key, and the rule set's
  // version right after: while the version has not moved, the kernel holds
  // exactly these (and whatever others it held), so no read-back is needed.
  std::vector<guard::GuardRule> ours;
  std::uint64_t version = 0;
  bool cached = false;
  // While cached: the kernel holds no rule but ours (nobody else's to keep
  // in a whole-set swap), as last read back or swapped in.
  bool exact = false;
};

GuardActuator::GuardActuator(GuardActuatorOptions opts) : opts_(std::move(opts)) {}
GuardActuator::~GuardActuator() = default;

guard::GuardOptions GuardActuator::options(const Slot& s) const {
  return guard::GuardOptions{opts_.pin_root, opts_.max_rules, s.ref.netns};
}

void GuardActuator::add_interface(const monitor::InterfaceRef& iface) {
  auto& s = slots_[iface.key];
  if (!s) s = std::make_unique<Slot>();
  s->ref = iface;
}

Result<GuardActuator::Slot*> GuardActuator::slot(const std::string& iface) {
  auto it = slots_.find(iface);
  if (it != slots_.end()) return it->second.get();
  // Not configured: a key names its namespace itself ("veth1@ns2").
  auto ref = monitor::parse_interface_ref(iface);
  if (!ref) return ref.error();
  add_interface(*ref);
  return slots_[iface].get();
}

Result<guard::Guard*> GuardActuator::open(Slot& s) {
  auto opts = options(s);
  if (s.g) {
    // Still the guard whose pins we opened? Someone may have unloaded and
    // loaded it again (new maps), which makes our file descriptors stale.
    auto pinned = guard::open_pinned(s.g->pin_dir() + "/" + guard::Guard::map_name(guard::Guard::kCtl));
    if (pinned && map_id_of(pinned->get()) == s.ctl_id) return &*s.g;
    s.g.reset();
    s.cached = false;
  }
  if (!guard::Guard::is_pinned(s.ref.name, opts))
    return make_error("no reflex guard on " + s.ref.key, "Execute loads it again when it converges the attach mode",
                      ENOENT);
  auto g = guard::Guard::open(s.ref.name, opts);
  if (!g) return g.error();
  s.g.emplace(std::move(*g));
  s.ctl_id = map_id_of(s.g->map_fd(guard::Guard::kCtl));
  s.cached = false;
  return &*s.g;
}

Result<guard::Guard*> GuardActuator::guard_of(const std::string& iface) {
  auto s = slot(iface);
  if (!s) return s.error();
  return open(**s);
}

Result<EnsureReport> GuardActuator::ensure_guard(const monitor::InterfaceRef& iface, guard::LoadMode mode) {
  add_interface(iface);
  Slot& s = *slots_[iface.key];
  auto opts = options(s);
  EnsureReport rep;
  rep.iface = iface.key;
  rep.adopted = guard::Guard::is_pinned(iface.name, opts);
  auto g = guard::Guard::load(iface.name, mode, opts);
  if (!g) return with_iface(iface.key, g.error());
  s.g.emplace(std::move(*g));
  s.ctl_id = map_id_of(s.g->map_fd(guard::Guard::kCtl));
  s.cached = false;
  rep.mode = s.g->mode();
  rep.steps = s.g->last_attach();
  rep.rules = s.g->rule_count();
  auto prog = s.g->program_variant();
  rep.program = prog ? *prog : "unknown";
  return rep;
}

Result<ActualInterface> GuardActuator::read(const std::string& iface, TimeNs now) {
  auto sp = slot(iface);
  if (!sp) return sp.error();
  Slot& s = **sp;
  ActualInterface a;
  unsigned ifindex = 0;
  if (auto st = run_in_netns(s.ref.netns, [&] { ifindex = if_nametoindex(s.ref.name.c_str()); }); !st)
    return with_iface(iface, st.error());
  a.present = ifindex != 0;
  auto g = open(s);
  if (!g) {
    if (g.error().code == ENOENT) return a;  // not guarded: an answer, not an error
    return with_iface(iface, g.error());
  }
  a.guarded = true;
  auto link = (*g)->link();
  a.attached = link && link->attached;
  a.mode = a.attached ? (*g)->mode() : AttachMode::none;
  if (!a.attached) a.note = "the guard's link is detached (interface gone, or detached from outside)";
  auto prog = (*g)->program_variant();
  a.program = prog ? *prog : "";
  auto rules = (*g)->rules();
  if (!rules) return with_iface(iface, rules.error());
  const ClockMap cm = clock_map(now);
  a.rules.reserve(rules->size());
  for (const auto& r : *rules) {
    if (r.expires_ns && r.expires_ns <= cm.boot_now) continue;  // expired: the datapath ignores it
    a.rules.push_back(from_guard_rule(r, cm));
  }
  std::sort(a.rules.begin(), a.rules.end(), rule_key_less);
  return a;
}

void GuardActuator::forget(const std::string& iface) {
  if (auto it = slots_.find(iface); it != slots_.end()) it->second->cached = false;
}

Result<ConvergeReport> GuardActuator::converge(const std::string& iface, Facet f, const DesiredInterface& want,
                                               const DesiredInterface& before, TimeNs now) {
  auto sp = slot(iface);
  if (!sp) return sp.error();
  Result<ConvergeReport> r = make_error("facet " + std::string(to_string(f)) + " is not the guard's");
  switch (f) {
    case Facet::rules: r = converge_rules(**sp, want, before, now); break;
    case Facet::attach: r = converge_attach(**sp, want); break;
    case Facet::program: r = converge_program(**sp, want); break;
    case Facet::shapes: break;
  }
  if (!r) return with_iface(iface, r.error());
  return r;
}

Result<ConvergeReport> GuardActuator::converge_rules(Slot& s, const DesiredInterface& want,
                                                     const DesiredInterface& before, TimeNs now) {
  auto t0 = std::chrono::steady_clock::now();
  auto g = open(s);
  if (!g) return g.error();
  // One critical section from reading what is there to writing the change,
  // so a reflex-guard command cannot slip in between and be overwritten.
  auto lock = (*g)->lock_mutations();
  if (!lock) return lock.error();
  const ClockMap cm = clock_map(now);

  // What the kernel holds for the keys we care about.
  std::vector<guard::GuardRule> wanted;
  reserve_huge(wanted, want.rules.size());
  for (const auto& r : want.rules)
    if (!r.expires_ns || r.expires_ns > now) wanted.push_back(to_guard_rule(r, cm));
  // The change as indices into `wanted` and keys to remove: a million
  // upserts are then a list of integers, not a second copy of the rules.
  std::vector<std::uint32_t> up;
  std::vector<guard::RuleKey> remove;
  const bool cache_ok = s.cached && (*g)->active_meta().version == s.version;
  // The rules read back (sorted by key, expired ones dropped), when they were.
  std::optional<std::vector<guard::GuardRule>> cur;
  auto read_back = [&]() -> Status {
    auto rules = (*g)->rules();
    if (!rules) return rules.error();
    cur = std::move(*rules);
    std::erase_if(*cur, [&](const guard::GuardRule& r) { return r.expires_ns && r.expires_ns <= cm.boot_now; });
    std::sort(cur->begin(), cur->end(), key_less);
    return ok();
  };
  if (cache_ok) {
    // Nobody changed the rules since we did: diff against what we installed (both sorted by key).
    auto it = s.ours.begin();
    for (std::uint32_t i = 0; i < wanted.size(); ++i) {
      const auto& w = wanted[i];
      while (it != s.ours.end() && key_less(*it, w)) ++it;
      bool same = it != s.ours.end() && !key_less(w, *it) && same_in_kernel(*it, w) &&
                  (!it->expires_ns || it->expires_ns > cm.boot_now);
      if (!same) up.push_back(i);
    }
    remove.reserve(s.ours.size() > wanted.size() ? s.ours.size() - wanted.size() : 0);
    auto wr = want.rules.begin();
    for (const auto& o : s.ours) {
      while (wr != want.rules.end() && wr->prefix < o.prefix) ++wr;
      auto probe = wr;
      bool kept = false;
      while (probe != want.rules.end() && probe->prefix == o.prefix && !kept) kept = (probe++)->l4 == o.l4;
      if (!kept) remove.push_back(o.key());
    }
  } else if (!wanted.empty() || !before.rules.empty()) {
    // Read back: something else changed the rules (or we never looked). Only
    // the keys we want or wanted matter, but finding them takes the whole
    // set: sorted in place and searched, no second copy of it (an operator's
    // 100k rules are megabytes as GuardRules, and more again in a hash map).
    // With nothing wanted before or now there is nothing to look up.
    if (auto st = read_back(); !st) return st.error();
    auto find = [&](const guard::GuardRule& k) -> const guard::GuardRule* {
      auto it = std::lower_bound(cur->begin(), cur->end(), k, key_less);
      return it != cur->end() && !key_less(k, *it) ? &*it : nullptr;
    };
    for (std::uint32_t i = 0; i < wanted.size(); ++i) {
      const auto* have = find(wanted[i]);
      if (!have || !same_in_kernel(*have, wanted[i])) up.push_back(i);
    }
    for (const auto& b : before.rules) {
      if (has_key(want.rules, b)) continue;
      guard::GuardRule k;
      k.prefix = b.prefix;
      k.l4 = b.l4;
      if (find(k)) remove.push_back(key_of(b));
    }
    // A wanted rule that expired in the kernel already is gone for the datapath; nothing to remove.
  }
  ConvergeReport rep;
  const std::size_t n_changes = up.size() + remove.size();
  if (n_changes) {
    Result<guard::UpdateReport> done = make_error("");
    // Past the guard's own in-place limit (Guard::apply_in_place), Guard::apply
    // reads every rule back and swaps in the merge; the same swap is made here
    // from what is known already: with nobody else's rules on the guard, the
    // new set is `wanted` itself (the anchor's Guard::replace, no merge).
    if (n_changes > std::max<std::size_t>(64, (*g)->rule_count() / 16)) {
      if (!(cache_ok && s.exact) && !cur)
        if (auto st = read_back(); !st) return st.error();
      // Somebody else's: a rule whose key is neither wanted, nor wanted
      // before, nor (while nobody changed the set since) installed by us.
      std::vector<guard::GuardRule> others;
      if (cur)
        for (auto& r : *cur) {
          DesiredRule probe;
          probe.prefix = r.prefix;
          probe.l4 = r.l4;
          if (has_key(want.rules, probe) || has_key(before.rules, probe) ||
              (cache_ok && std::binary_search(s.ours.begin(), s.ours.end(), r, key_less)))
            continue;
          others.push_back(std::move(r));
        }
      const std::size_t read = cur ? cur->size() : 0;
      cur.reset();
      trim_after_large_read(read);
      Result<guard::InstallReport> inst = make_error("");
      if (others.empty()) {
        inst = (*g)->replace(wanted);
      } else {
        std::vector<guard::GuardRule> next;
        reserve_huge(next, others.size() + wanted.size());
        std::merge(others.begin(), others.end(), wanted.begin(), wanted.end(), std::back_inserter(next), key_less);
        inst = (*g)->replace(next);
      }
      if (!inst) return inst.error();
      done = guard::UpdateReport{false, inst->version, n_changes, 0, inst->rules};
      s.exact = others.empty();
    } else {
      guard::RuleChanges ch;
      ch.upsert.reserve(up.size());
      for (auto i : up) ch.upsert.push_back(wanted[i]);
      ch.remove = std::move(remove);
      done = (*g)->apply(ch);
      if (!done) return done.error();
      // Small changes keep the rules of others as they were: known none only if known before.
      if (!cache_ok) s.exact = false;
    }
    rep.changed = true;
    rep.detail = std::to_string(up.size()) + " rule(s) set, " + std::to_string(n_changes - up.size()) +
                 " removed, " + (done->in_place ? "in place" : "in one swap") + "; " + std::to_string(done->rules) +
                 " rules in force";
  } else if (!cache_ok) {
    s.exact = false;
  }
  if (cur) trim_after_large_read(cur->size());
  s.ours = std::move(wanted);
  s.version = (*g)->active_meta().version;
  s.cached = true;
  rep.ms = ms_since(t0);
  return rep;
}

Result<ConvergeReport> GuardActuator::converge_attach(Slot& s, const DesiredInterface& want) {
  auto t0 = std::chrono::steady_clock::now();
  ConvergeReport rep;
  if (want.mode == AttachMode::none) return rep;
  auto g = open(s);
  if (!g) {
    if (g.error().code != ENOENT) return g.error();
    // Unloaded from outside: load it again (empty; the rules follow).
    auto e = ensure_guard(s.ref, load_mode_for(want.mode));
    if (!e) return e.error();
    rep.changed = true;
    rep.detail = "loaded again in " + std::string(to_string(e->mode)) + " mode (its pins were gone)";
    rep.ms = ms_since(t0);
    return rep;
  }
  auto link = (*g)->link();
  const bool live = link && link->attached;
  const AttachMode cur = (*g)->mode();
  if (live && cur == want.mode) return rep;
  unsigned ifindex = 0;
  if (auto st = run_in_netns(s.ref.netns, [&] { ifindex = if_nametoindex(s.ref.name.c_str()); }); !st)
    return st.error();
  if (!ifindex)
    return make_error("interface " + s.ref.key + " is gone", "the guard attaches again when it comes back", ENODEV);
  if (ifindex != (*g)->ctl().ifindex) {
    // The interface was re-created: a load attaches to the new one.
    auto e = ensure_guard(s.ref, load_mode_for(want.mode));
    if (!e) return e.error();
    rep.changed = true;
    rep.detail = "attached to the re-created interface in " + std::string(to_string(e->mode)) + " mode";
    rep.ms = ms_since(t0);
    return rep;
  }
  auto r = (*g)->reattach(load_mode_for(want.mode));
  if (!r) {
    auto e = r.error();
    if ((*g)->mode() != cur) e.what += "; the guard stays attached in " + std::string(to_string((*g)->mode())) + " mode";
    return e;
  }
  rep.changed = true;
  rep.detail = (live ? std::string(to_string(cur)) : std::string("detached")) + " -> " +
               std::string(to_string(r->mode)) + (live && cur != AttachMode::tc && r->mode != AttachMode::tc
                                                      ? " (bridged by tc)"
                                                      : "");
  rep.ms = ms_since(t0);
  return rep;
}

Result<ConvergeReport> GuardActuator::converge_program(Slot& s, const DesiredInterface& want) {
  ConvergeReport rep;
  auto g = open(s);
  if (!g) return g.error();
  const std::string target = want.program.empty() ? guard::kProgramDefault : want.program;
  auto cur = (*g)->program_variant();
  if (cur && *cur == target) return rep;
  auto sw = (*g)->swap_program(target);
  if (!sw) return sw.error();
  rep.changed = true;
  rep.detail = sw->from + " -> " + sw->to + (sw->link_updated ? " (link updated, maps kept)" : " (pinned for the next attach)");
  rep.ms = sw->ms;
  return rep;
}

}  // namespace reflex::execute
