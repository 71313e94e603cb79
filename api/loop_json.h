#pragma once
// The loop's view (daemon/loop_api.h) as the REST API shows it. The value
// types inside (symptoms, actions, outcomes, overrides, rules, records) are
// the codecs' JSON (knowledge/json/), the same the store keeps; this adds what
// an operator reads beside them: wall-clock times ("at": RFC 3339), remaining
// TTLs in seconds, names and one-line descriptions. docs/api.md and
// docs/openapi.yaml describe every document.

#include "daemon/loop_api.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace reflex::api {

// Turns the loop's clock into what operators read. Wall times come from the
// last tick's (loop, wall) pair; before the first tick there are none.
class ViewClock {
 public:
  explicit ViewClock(const daemon::LoopView& v);
  TimeNs now_ns() const { return now_ns_; }
  // RFC 3339 of a loop-clock time; null when unknown (or t is 0).
  boost::json::value wall(TimeNs loop_ns) const;
  std::optional<TimeNs> wall_ns(TimeNs loop_ns) const;
  // Whole seconds left until `expires_ns` (rounded up, at least 0); null for 0 (never).
  boost::json::value remaining_s(TimeNs expires_ns) const;

 private:
  TimeNs now_ns_ = 0;
  std::optional<TimeNs> offset_;  // wall - loop
};

std::string_view override_kind_name(Override::Kind k);  // pause, forbid, pin, manual

boost::json::object override_json(const daemon::OverrideView& o, const ViewClock& clock);
boost::json::object rule_json(const std::string& iface, const DesiredRule& r, const ViewClock& clock);
boost::json::object shape_json(const std::string& iface, const DesiredShape& s, const ViewClock& clock);
boost::json::object symptom_json(const Symptom& s, const ViewClock& clock);
boost::json::object symptom_event_json(const SymptomEvent& e, const ViewClock& clock);
boost::json::object plan_json(const Plan& p, const ViewClock& clock);
boost::json::object action_view_json(const daemon::ActionView& a, const ViewClock& clock);
boost::json::object interface_json(const daemon::InterfaceState& s, const daemon::LoopView& v);
boost::json::object tick_json(const daemon::TickInfo& t);
boost::json::object stages_json(const daemon::LoopView& v);
boost::json::object store_json(const daemon::LoopView& v);
boost::json::object record_json(const Record& r);

// "pending" for an action with no outcome yet, else its status.
std::string_view action_status(const daemon::ActionView& a);

// Quantile of a log2-us histogram, as the upper bound (us) of the bucket it
// falls in; 0 when empty.
std::uint64_t log2_quantile_us(const std::array<std::uint64_t, 32>& buckets, double q);

// Rules of the desired state in a stable order: interfaces by name, then the
// rules' own (prefix, l4) order. A cursor names the last rule of a page:
// "IFACE|PREFIX|PROTO|PORT" (0 for none).
struct RuleFilter {
  std::string iface;             // "" any
  std::optional<Prefix> within;  // rules whose prefix is inside this one
  std::optional<RuleVerb> verb;
};
struct RulePage {
  boost::json::array items;
  std::size_t total = 0;                 // rules in the desired state (unfiltered)
  std::optional<std::string> next;       // cursor for the next page
};
Result<RulePage> rule_page(const daemon::LoopView& v, const RuleFilter& f, std::size_t limit,
                           const std::string& cursor);
std::optional<RuleVerb> parse_rule_verb(std::string_view s);

// Sampled flows grouped by (interface, source, protocol, port, verdict), most
// sampled first; or the samples themselves, newest first (raw).
struct FlowFilter {
  std::string iface;
  std::optional<Prefix> src;
  std::optional<std::uint8_t> proto;
  std::optional<std::uint16_t> port;
  std::string verdict;  // drop, rate_limited, shadow
  bool raw = false;
};
boost::json::object flows_json(const daemon::LoopView& v, const FlowFilter& f, std::size_t limit);

// GET /v1/state: `rules` caps the rules listed (the rest are paged by /v1/rules).
boost::json::object state_json(const daemon::LoopView& v, std::size_t rules);

// GET /readyz: why the daemon is not ready yet (empty: ready).
std::vector<std::string> not_ready_reasons(const daemon::LoopView& v);

}  // namespace reflex::api
