#include "fleet/peer_book.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>

namespace reflex::fleet {
namespace {

bool overlaps(const Prefix& a, const Prefix& b) { return a.contains(b) || b.contains(a); }

std::string symptom_id(const Prefix& p, TimeNs since) {
  return "peer_verdict:" + p.to_string() + "@" + std::to_string(since);
}

}  // namespace

std::string_view to_string(Refusal r) {
  switch (r) {
    case Refusal::malformed: return "malformed";
    case Refusal::node_mismatch: return "node_mismatch";
    case Refusal::unknown_peer: return "unknown_peer";
    case Refusal::rate_capped: return "rate_capped";
    case Refusal::stale: return "stale";
    case Refusal::never_block: return "never_block";
    case Refusal::too_wide: return "too_wide";
    case Refusal::capacity: return "capacity";
    case Refusal::duplicate: return "duplicate";
  }
  return "unknown";
}

std::uint64_t PeerBookStats::refused_total() const {
  std::uint64_t n = 0;
  for (auto r : refused) n += r;
  return n;
}

PeerBook::PeerBook(TrustConfig trust, std::string self_id) : trust_(std::move(trust)), self_(std::move(self_id)) {}

Admission PeerBook::refuse(Refusal r, std::string detail) {
  ++stats_.refused[static_cast<std::size_t>(r)];
  Admission a;
  a.refusal = r;
  a.detail = std::move(detail);
  return a;
}

Admission PeerBook::refuse_malformed(std::string_view subject_node, const std::string& why) {
  return refuse(Refusal::malformed, "from " + std::string(subject_node) + ": " + why);
}

// A token bucket per peer: rate_per_minute sustained, `burst` at once.
bool PeerBook::take_token(Bucket& b, TimeNs now) {
  const double rate_per_ns = trust_.rate_per_minute / (60.0 * kNsPerSec);
  if (!b.seen) {
    b.tokens = trust_.burst;
    b.ts = now;
    b.seen = true;
  } else if (now > b.ts) {
    b.tokens = std::min<double>(trust_.burst, b.tokens + static_cast<double>(now - b.ts) * rate_per_ns);
    b.ts = now;
  }
  if (b.tokens < 1.0) return false;
  b.tokens -= 1.0;
  return true;
}

Admission PeerBook::admit(const Verdict& v, std::string_view subject_node, TimeNs now, TimeNs wall_now,
                          const plan::Guardrails& g) {
  const std::string what = std::string(to_string(v.action)) + " " + v.prefix.to_string();
  if (v.node != subject_node)
    return refuse(Refusal::node_mismatch, "verdict on " + what + " names node " + v.node + " but came from " +
                                              std::string(subject_node) + "'s subject");
  if (v.node == self_) {
    ++stats_.own;
    Admission a;
    a.detail = "our own verdict on " + what;
    return a;
  }
  if (!trust_.peers.empty() && std::find(trust_.peers.begin(), trust_.peers.end(), v.node) == trust_.peers.end())
    return refuse(Refusal::unknown_peer, "verdict on " + what + " from " + v.node + ", not in trust.peers");

  if (buckets_.size() >= trust_.max_entries && !buckets_.count(v.node)) {
    // Forget peers that have been quiet long enough to have a full bucket again.
    const TimeNs refill = static_cast<TimeNs>(trust_.burst / trust_.rate_per_minute * 60.0 * kNsPerSec);
    for (auto it = buckets_.begin(); it != buckets_.end();)
      it = now - it->second.ts > refill ? buckets_.erase(it) : std::next(it);
    if (buckets_.size() >= trust_.max_entries)
      return refuse(Refusal::capacity, "verdict on " + what + " from " + v.node + ": too many peers tracked (" +
                                           std::to_string(buckets_.size()) + ")");
  }
  Bucket& b = buckets_[v.node];
  if (b.seen && v.seq <= b.last_seq)
    return refuse(Refusal::duplicate, "verdict " + std::to_string(v.seq) + " on " + what + " from " + v.node +
                                          " repeats or precedes " + std::to_string(b.last_seq));
  const TimeNs skew = v.wall_ns > wall_now ? v.wall_ns - wall_now : wall_now - v.wall_ns;
  if (skew > trust_.max_age)
    return refuse(Refusal::stale, "verdict on " + what + " from " + v.node + " is " +
                                      std::to_string(skew / kNsPerSec) + " s off our clock (max_age " +
                                      std::to_string(trust_.max_age / kNsPerSec) + " s)");
  // Every verdict that got this far costs its sender a token, refused or not:
  // a peer cannot probe the guardrails faster than its cap either.
  if (!take_token(b, now))
    return refuse(Refusal::rate_capped, "verdict on " + what + " from " + v.node + " over its cap of " +
                                            std::to_string(trust_.rate_per_minute) + "/min");
  b.last_seq = v.seq;

  for (const auto& nb : g.never_block)
    if (overlaps(v.prefix, nb))
      return refuse(Refusal::never_block,
                    "verdict on " + what + " from " + v.node + " overlaps protected " + nb.to_string());
  const unsigned min_len = v.prefix.family == 4 ? g.max_block_len_v4 : g.max_block_len_v6;
  if (v.prefix.len < min_len)
    return refuse(Refusal::too_wide, "verdict on " + what + " from " + v.node + " is wider than /" +
                                         std::to_string(min_len) + " (max_block_prefix)");

  auto& by_key = live_[v.prefix];
  const auto key = std::make_pair(v.l4, v.node);
  auto it = by_key.find(key);
  const bool renewal = it != by_key.end() && it->second.expires_ns > now;
  if (it == by_key.end() && entries_ >= trust_.max_entries) {
    if (by_key.empty()) live_.erase(v.prefix);
    return refuse(Refusal::capacity, "verdict on " + what + " from " + v.node + ": the book holds " +
                                         std::to_string(entries_) + " verdicts (trust.max_entries)");
  }
  if (it == by_key.end()) {
    it = by_key.emplace(key, Entry{}).first;
    ++entries_;
  }
  Entry& e = it->second;
  if (!renewal) e.received_ns = now;
  const TimeNs ttl = v.ttl_ns > 0 ? std::min(v.ttl_ns, trust_.max_ttl) : trust_.max_ttl;
  e.expires_ns = now + ttl;
  next_expiry_ = std::min(next_expiry_, e.expires_ns);
  e.seq = v.seq;
  e.verdict = v;
  dirty_.insert(v.prefix);
  ++(renewal ? stats_.renewed : stats_.accepted);
  Admission a;
  a.accepted = true;
  a.renewal = renewal;
  a.detail = (renewal ? "renewed " : "accepted ") + what + " from " + v.node + " for " +
             std::to_string(ttl / kNsPerSec) + " s";
  return a;
}

std::size_t PeerBook::peers() const {
  std::set<std::string> nodes;
  for (const auto& [p, by_key] : live_)
    for (const auto& [k, e] : by_key) nodes.insert(k.second);
  return nodes.size();
}

std::vector<SymptomEvent> PeerBook::update(TimeNs now, std::span<const Symptom> local) {
  std::vector<SymptomEvent> events;
  // Nothing expires before the earliest expiry: the entries are only looked
  // at when one may have run out.
  const bool expiring = now >= next_expiry_;
  board_ts_ = now;
  // Nothing expired, nothing admitted, and the local prefixes that
  // corroborate are the last update's: every symptom stands as it was.
  local_scratch_.clear();
  for (const auto& s : local)
    if (local_evidence(s)) local_scratch_.push_back(*s.subject.prefix);
  if (!expiring && dirty_.empty() && local_scratch_ == judged_local_) return events;
  judged_local_.swap(local_scratch_);
  if (expiring) next_expiry_ = std::numeric_limits<TimeNs>::max();
  // The board is walked along the book (both by prefix): what the book no
  // longer has is cleared, after the raised and updated.
  auto b = board_.begin();
  std::vector<std::map<Prefix, OnBoard>::iterator> gone;
  for (auto pit = live_.begin(); pit != live_.end();) {
    auto& by_key = pit->second;
    bool expired = false;
    if (expiring)
      for (auto it = by_key.begin(); it != by_key.end();) {
        if (it->second.expires_ns <= now) {
          it = by_key.erase(it);
          --entries_;
          expired = true;
        } else {
          next_expiry_ = std::min(next_expiry_, it->second.expires_ns);
          ++it;
        }
      }
    if (by_key.empty()) {
      pit = live_.erase(pit);
      continue;
    }
    const Prefix& p = pit->first;
    for (; b != board_.end() && b->first < p; ++b) gone.push_back(b);
    const bool on_board = b != board_.end() && b->first == p;
    const bool corroborated =
        std::any_of(judged_local_.begin(), judged_local_.end(), [&](const Prefix& q) { return overlaps(q, p); });
    // Nothing about this prefix changed since the last tick: its symptom
    // stands as it was (a book of many live verdicts is not rebuilt per tick).
    if (!expired && on_board && !dirty_.count(p) && (b->second.symptom.severity == Severity::critical) == corroborated) {
      ++b;  // its time is board_ts_
      ++pit;
      continue;
    }
    std::set<std::string> nodes;
    std::set<std::string> actions;
    double score = 0;
    TimeNs since = now;
    for (const auto& [k, e] : by_key) {
      nodes.insert(k.second);
      score = std::max(score, e.verdict.score);
      since = std::min(since, e.received_ns);
      std::string a(to_string(e.verdict.action));
      if (e.verdict.l4.proto) a += " proto=" + std::to_string(*e.verdict.l4.proto);
      if (e.verdict.l4.port) a += " port=" + std::to_string(*e.verdict.l4.port);
      actions.insert(a);
    }

    Symptom s;
    s.kind = SymptomKind::peer_verdict;
    s.subject.prefix = p;
    s.severity = corroborated ? Severity::critical : Severity::warning;
    s.score = score;
    s.evidence.value = static_cast<double>(nodes.size());
    s.evidence.baseline = 0;
    s.evidence.deviation = static_cast<double>(nodes.size());
    std::string who, what;
    for (const auto& n : nodes) who += (who.empty() ? "" : ", ") + n;
    for (const auto& a : actions) what += (what.empty() ? "" : "; ") + a;
    s.evidence.detail = std::to_string(nodes.size()) + (nodes.size() == 1 ? " peer (" : " peers (") + who +
                        "): " + what + (corroborated ? "; seen here too" : "");
    s.ts_ns = now;

    if (!on_board) {
      s.since_ns = since;
      s.id = symptom_id(p, since);
      board_.emplace_hint(b, p, OnBoard{s, next_symptom_stamp()});  // before b, which stays where it is
      events.push_back({SymptomTransition::raised, std::move(s)});
    } else {
      Symptom& was = b->second.symptom;
      s.since_ns = was.since_ns;
      s.id = was.id;
      const bool changed = s.severity != was.severity || s.evidence.value != was.evidence.value ||
                           s.score != was.score || s.evidence.detail != was.evidence.detail;
      was = s;
      b->second.stamp = next_symptom_stamp();
      if (changed) events.push_back({SymptomTransition::updated, std::move(s)});
      ++b;
    }
    ++pit;
  }
  dirty_.clear();
  for (; b != board_.end(); ++b) gone.push_back(b);
  for (auto it : gone) {
    Symptom last = std::move(it->second.symptom);
    last.ts_ns = now;
    events.push_back({SymptomTransition::cleared, std::move(last)});
    board_.erase(it);
  }
  index_.entries.clear();
  for (const auto& [p, e] : board_) index_.entries.emplace_back(e.stamp, &e.symptom);
  index_.valid = true;
  return events;
}

std::vector<Symptom> PeerBook::active() const {
  std::vector<Symptom> out;
  SymptomFill fill(out);
  active(fill);
  fill.done();
  return out;
}

void PeerBook::active(SymptomFill& out) const {
  if (index_.valid) {
    for (const auto& [stamp, s] : index_.entries) out.put(*s, stamp).ts_ns = board_ts_;
    return;
  }
  for (const auto& [p, e] : board_) out.put(e.symptom, e.stamp).ts_ns = board_ts_;
}

}  // namespace reflex::fleet
