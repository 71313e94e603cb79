#include "daemon/override_book.h"

#include "plan/action_text.h"
#include "plan/policy.h"

#include <variant>

#include <algorithm>

namespace reflex::daemon {
namespace {

bool valid_id(const std::string& id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
  });
}

// What a pin or manual override may carry: something the loop can apply.
Status check_action(const Action& a) {
  return std::visit(
      [](const auto& s) -> Status {
        using T = std::decay_t<decltype(s)>;
        if constexpr (std::is_same_v<T, RateLimitPrefix>) {
          if (s.pps == 0) return make_error("a limit needs pps above 0", "send e.g. \"pps\": 1000");
        } else if constexpr (std::is_same_v<T, ShapeInterface>) {
          if (s.iface.empty()) return make_error("a shape needs an interface", "send \"iface\": \"eth0\"");
          if (s.rate_bps == 0) return make_error("a shape needs a rate above 0", "send e.g. \"rate\": \"10mbit\"");
        } else if constexpr (std::is_same_v<T, SetAttachMode>) {
          if (s.iface.empty()) return make_error("an attach mode needs an interface", "send \"iface\": \"eth0\"");
          if (s.mode == AttachMode::none) return make_error("attach mode none cannot be set", "use native, generic or tc");
        } else if constexpr (std::is_same_v<T, SwapProgram>) {
          if (s.iface.empty() || s.program.empty())
            return make_error("a program swap needs an interface and a program", "send \"iface\" and \"program\"");
        } else if constexpr (std::is_same_v<T, Alert>) {
          return make_error("an alert is not an action an override can apply",
                            "overrides block, unblock, limit, shape or set an attach mode");
        }
        return ok();
      },
      a.spec);
}

const RuleBatch* batch_of(const Override& o) {
  if (o.kind != Override::Kind::manual || !o.action) return nullptr;
  return std::get_if<RuleBatch>(&o.action->spec);
}

}  // namespace

Status check_batch_guardrails(const Override& o, const plan::Guardrails& g) {
  const RuleBatch* b = batch_of(o);
  if (!b || b->remove || b->verb == RuleVerb::shadow) return ok();
  for (std::size_t i = 0; i < b->prefixes.size(); ++i) {
    const Prefix& p = b->prefixes[i];
    const std::string at = "prefixes[" + std::to_string(i) + "] " + p.to_string();
    const unsigned widest = p.family == 4 ? g.max_block_len_v4 : g.max_block_len_v6;
    if (p.len < widest)
      return make_error(at + " is wider than /" + std::to_string(widest) + ", the widest prefix a block may cover (" +
                            "global.guardrails.max_block_prefix." + (p.family == 4 ? "ipv4" : "ipv6") + ")",
                        "split it into /" + std::to_string(widest) +
                            "s, or widen max_block_prefix in the policy; nothing was applied");
    for (const auto& nb : g.never_block)
      if (nb.contains(p) || p.contains(nb))
        return make_error(at + " overlaps " + nb.to_string() + ", a never_block range (global.guardrails.never_block)",
                          "remove entry " + std::to_string(i) + " from the list; nothing was applied");
  }
  return ok();
}

std::optional<Override> undo_of(const Override& removed, const std::string& who, TimeNs now, TimeNs ttl) {
  const RuleBatch* b = batch_of(removed);
  if (!b || b->remove) return std::nullopt;
  Override u;
  u.kind = Override::Kind::manual;
  u.who = who.empty() ? removed.who : who;
  u.created_ns = now;
  u.expires_ns = now + ttl;
  u.reason = "undo of override " + removed.id + " (removed by " + u.who + ")";
  Action a;
  RuleBatch rm{b->iface, b->prefixes, b->l4};
  rm.remove = true;
  a.spec = std::move(rm);
  a.ttl_ns = ttl;
  a.rationale.decision = "manual";
  a.rationale.note = u.reason;
  u.action = std::move(a);
  return u;
}

Result<Override> OverrideBook::add(Override o, TimeNs now) {
  if (o.expires_ns <= 0)
    return make_error("an override must carry an expiry",
                      "send \"ttl\" (e.g. \"30m\"): a forgotten override must not outlive the incident");
  if (o.expires_ns <= now) return make_error("the override's expiry is already past", "send a positive ttl");
  if (o.who.empty()) return make_error("an override must say who asked for it", "send \"who\": \"your name\"");
  switch (o.kind) {
    case Override::Kind::pause_all:
      if (paused())
        return make_error("the loop is already paused", "remove the pause in force first, or let it expire");
      break;
    case Override::Kind::forbid:
      if (o.action_kind != "*" && !plan::parse_action_kind(o.action_kind))
        return make_error("unknown action kind \"" + o.action_kind + "\" to forbid",
                          "one of block, rate_limit, shadow, shape, attach_mode, swap_program, alert, or *");
      break;
    case Override::Kind::pin:
    case Override::Kind::manual:
      if (!o.action) return make_error("a pin or manual override needs an action", "send \"action\": {...}");
      if (auto st = check_action(*o.action); !st) return st.error();
      // The action lives as long as the override that asked for it.
      if (o.action->ttl_ns <= 0) o.action->ttl_ns = o.expires_ns - now;
      break;
  }
  if (o.id.empty()) {
    do o.id = "ovr-" + std::to_string(next_id_++);
    while (book_.count(o.id));
  } else if (!valid_id(o.id)) {
    return make_error("override id \"" + o.id + "\" is not valid", "use letters, digits, '-', '_' or '.', up to 64");
  } else if (book_.count(o.id)) {
    return make_error("an override with id " + o.id + " is already in force", "choose another id, or remove it first");
  }
  if (o.created_ns == 0) o.created_ns = now;
  book_[o.id] = Entry{o, false};
  return o;
}

Result<Override> OverrideBook::remove(const std::string& id) {
  auto it = book_.find(id);
  if (it == book_.end())
    return make_error("no override " + id + " is in force", "list them: GET /v1/state or `reflexctl override list`");
  Override o = it->second.o;
  book_.erase(it);
  return o;
}

std::vector<Override> OverrideBook::expire(TimeNs now) {
  std::vector<Override> gone;
  for (auto it = book_.begin(); it != book_.end();) {
    if (it->second.o.expires_ns <= now) {
      gone.push_back(it->second.o);
      it = book_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

std::vector<Override> OverrideBook::in_force() const {
  std::vector<Override> out;
  out.reserve(book_.size());
  for (const auto& [id, e] : book_) out.push_back(e.o);
  return out;
}

bool OverrideBook::matched(const std::string& id) const {
  auto it = book_.find(id);
  return it != book_.end() && it->second.matched;
}

void OverrideBook::note_plan(const Plan& plan) {
  for (const auto& id : plan.overrides_used)
    if (auto it = book_.find(id); it != book_.end()) it->second.matched = true;
}

bool OverrideBook::paused() const {
  return std::any_of(book_.begin(), book_.end(),
                     [](const auto& kv) { return kv.second.o.kind == Override::Kind::pause_all; });
}

}  // namespace reflex::daemon
