#include "knowledge/store/rows.h"

#include <boost/json/object.hpp>

#include "knowledge/json/action_json.h"
#include "knowledge/json/observation_json.h"
#include "knowledge/json/recorder_json.h"
#include "knowledge/json/symptom_json.h"
#include "knowledge/json/text.h"
#include "plan/action_text.h"

namespace reflex::store {
namespace {

namespace json = boost::json;

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

std::string join_subject(const std::string& iface, const std::string& rest) {
  if (iface.empty()) return rest;
  if (rest.empty()) return iface;
  return iface + " " + rest;
}

std::string seconds_text(TimeNs ns) {
  if (ns % kNsPerSec == 0) return std::to_string(ns / kNsPerSec) + "s";
  return std::to_string(ns / kNsPerMs) + "ms";
}

Row make_row(RecordKind kind, TimeNs ts, TimeNs wall, std::string subject, std::string summary,
             const json::value& body, bool decision) {
  Row r{kind, ts, wall, std::move(subject), std::move(summary), {}, decision};
  append_text(r.body, body);
  return r;
}

}  // namespace

std::string subject_text(const Subject& s) {
  if (s.prefix) return join_subject(s.iface, s.prefix->to_string());
  if (!s.map.empty()) return join_subject(s.iface, s.map);
  return join_subject(s.iface, s.reason);
}

std::string subject_text(const ActionSpec& spec) {
  return std::visit(Overloaded{
                        [](const Alert&) { return std::string(); },
                        [](const SetAttachMode& a) { return a.iface; },
                        [](const SwapProgram& a) { return a.iface; },
                        [](const AggregateRules& a) { return a.iface; },
                        [](const RuleBatch& a) { return a.iface; },
                        [](const ShapeInterface& a) {
                          return join_subject(a.iface, a.prefix ? a.prefix->to_string() : std::string());
                        },
                        [](const auto& a) { return join_subject(a.iface, a.prefix.to_string()); },
                    },
                    spec);
}

std::vector<Row> decision_rows(const Decisions& d, TimeNs wall) {
  std::vector<Row> rows;
  rows.reserve((d.plan ? 1 : 0) + d.intents.size() + d.outcomes.size() + d.overrides.size());
  const std::string plan_id = d.plan ? d.plan->id : std::string();
  if (d.plan) {
    // The actions are their own records (with inverses); the plan names them.
    json::value body = to_json(Plan{d.plan->id, d.plan->snapshot_version, d.plan->ts_ns, {}, d.plan->notes});
    json::array ids;
    for (const auto& a : d.plan->actions) ids.push_back(json::value(a.id));
    body.as_object()["action_ids"] = std::move(ids);
    std::string summary = "plan " + d.plan->id + ": " + std::to_string(d.plan->actions.size()) + " action" +
                          (d.plan->actions.size() == 1 ? "" : "s");
    if (!d.plan->notes.empty())
      summary +=
          ", " + std::to_string(d.plan->notes.size()) + " note" + (d.plan->notes.size() == 1 ? "" : "s");
    rows.push_back(make_row(RecordKind::plan, d.plan->ts_ns ? d.plan->ts_ns : d.ts_ns, wall, d.plan->id,
                            std::move(summary), body, true));
  }
  for (const auto& i : d.intents) {
    json::value body = to_json(i);
    if (!plan_id.empty()) body.as_object()["plan_id"] = plan_id;
    const auto& a = i.action;
    std::string summary = plan::describe(a.spec);
    if (a.ttl_ns) summary += " for " + seconds_text(a.ttl_ns);
    if (a.dry_run) summary += " (dry run)";
    if (!a.rationale.rule_id.empty())
      summary +=
          " [" + a.rationale.rule_id + (a.rationale.decision.empty() ? "" : " " + a.rationale.decision) + "]";
    rows.push_back(
        make_row(RecordKind::action, d.ts_ns, wall, subject_text(a.spec), std::move(summary), body, true));
  }
  for (const auto& o : d.outcomes) {
    std::string summary = o.action_id + " " + std::string(to_string(o.status));
    if (!o.error.empty())
      summary += ": " + o.error;
    else if (!o.detail.empty())
      summary += ": " + o.detail;
    rows.push_back(make_row(RecordKind::outcome, o.ts_ns ? o.ts_ns : d.ts_ns, wall, o.action_id,
                            std::move(summary), to_json(o), true));
  }
  for (const auto& r : d.overrides) {
    const auto& ov = r.override_;
    std::string summary = std::string(to_string(ov.kind)) + " override " + ov.id + " " +
                          std::string(to_string(r.change)) + " by " +
                          (r.change == OverrideChange::removed && !r.who.empty() ? r.who : ov.who);
    std::string subject = ov.action ? subject_text(ov.action->spec) : subject_text(ov.subject);
    rows.push_back(make_row(RecordKind::override_, r.ts_ns ? r.ts_ns : d.ts_ns, wall, std::move(subject),
                            std::move(summary), to_json(r), true));
  }
  return rows;
}

Row observation_row(const Observation& obs, TimeNs wall) {
  std::string summary = "tick " + std::to_string(obs.seq) + ": " + std::to_string(obs.interfaces.size()) +
                        " interface" + (obs.interfaces.size() == 1 ? "" : "s");
  if (!obs.degraded.empty()) summary += ", " + std::to_string(obs.degraded.size()) + " probe(s) degraded";
  return make_row(RecordKind::observation, obs.ts_ns, wall, "", std::move(summary), to_json(obs), false);
}

Row symptom_row(const SymptomEvent& e, TimeNs wall) {
  const auto& s = e.symptom;
  std::string subject = subject_text(s.subject);
  std::string summary = std::string(to_string(s.kind)) + (subject.empty() ? "" : " on " + subject) + " " +
                        std::string(to_string(e.transition)) + " (" + std::string(to_string(s.severity)) +
                        ")";
  return make_row(RecordKind::symptom, s.ts_ns, wall, std::move(subject), std::move(summary), to_json(e),
                  false);
}

Row event_row(const LoopEvent& e, TimeNs wall) {
  return make_row(e.kind, e.ts_ns, wall, e.subject, e.summary, e.body, false);
}

}  // namespace reflex::store
