#include "api/policy_routes.h"

#include "api/time_format.h"

#include <spdlog/spdlog.h>

namespace reflex::api {

namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

json::value in_force_json(const plan::PolicyStore& store) {
  const auto set = store.current();
  if (!set) return nullptr;
  const auto& st = store.status();
  json::object o;
  o["loaded_at"] = rfc3339(st.last_ok_ns);
  o["trigger"] = st.current_trigger;
  o["mode"] = plan::to_string(set->global.mode);
  o["files"] = strings(set->files);
  o["rule_count"] = set->rules.size();
  json::array rules;
  for (const auto& r : set->rules) {
    json::object jr;
    jr["id"] = r.id;
    jr["enabled"] = r.enabled;
    jr["mode"] = plan::to_string(plan::effective_mode(*set, r));
    jr["priority"] = r.priority;
    jr["source"] = r.loc.to_string();
    rules.emplace_back(std::move(jr));
  }
  o["rules"] = std::move(rules);
  o["warnings"] = strings(st.warnings);
  return o;
}

}  // namespace

json::object diagnostic_json(const plan::Diagnostic& d) {
  json::object o;
  o["level"] = d.level == plan::Diagnostic::Level::error ? "error" : "warning";
  o["file"] = d.loc.file;
  o["line"] = d.loc.line;
  o["column"] = d.loc.column;
  o["field"] = d.field;
  o["message"] = d.message;
  o["hint"] = d.hint;
  o["text"] = d.to_string();  // file:line:col: error: field: message (hint), as check-policy prints it
  return o;
}

json::object rejection_json(const plan::PolicyRejection& r) {
  json::object o;
  o["at"] = rfc3339(r.at_ns);
  o["trigger"] = r.trigger;
  o["errors"] = r.errors;
  json::array findings;
  for (const auto& d : r.findings) findings.emplace_back(diagnostic_json(d));
  o["findings"] = std::move(findings);
  return o;
}

json::object policy_status_json(const plan::PolicyStore& store) {
  const auto& st = store.status();
  json::object o;
  o["dir"] = store.dir().string();
  o["generation"] = st.generation;
  o["in_force"] = in_force_json(store);
  o["loads"] = {{"accepted", st.loads_ok}, {"rejected", st.loads_rejected}};
  o["last_attempt"] = {{"trigger", st.last_trigger}, {"accepted", !st.last_load_rejected}};
  o["last_rejection"] =
      st.last_rejection ? json::value(rejection_json(*st.last_rejection)) : json::value(nullptr);
  return o;
}

void add_policy_routes(Router& router, plan::PolicyStore& store) {
  router.get("/v1/policies",
             [&store](const Request&) { return json_response(http::status::ok, policy_status_json(store)); });

  router.post(
      "/v1/policies/reload",
      [&store](const Request& req) {
        auto body = parse_json_object(req);
        if (!body) return error_response(http::status::bad_request, body.error().what, body.error().hint);
        // Only "reason" (logged with the reload); an unknown field is more
        // likely a typo than something to ignore.
        std::string reason;
        for (const auto& kv : *body) {
          if (kv.key() != "reason")
            return error_response(http::status::bad_request,
                                  "unknown field \"" + std::string(kv.key()) + "\"",
                                  "the body may hold only {\"reason\": \"...\"}, or be empty");
          if (!kv.value().is_string())
            return error_response(http::status::bad_request, "\"reason\" must be a string",
                                  "e.g. {\"reason\": \"ticket 42\"}");
          reason = kv.value().get_string().c_str();
        }
        if (!reason.empty()) spdlog::info("policy reload over the API: {}", reason);
        if (store.reload("api")) return json_response(http::status::ok, policy_status_json(store));

        const auto& st = store.status();
        json::object extra;
        extra["rejection"] = st.last_rejection ? json::value(rejection_json(*st.last_rejection)) : nullptr;
        extra["status"] = policy_status_json(store);
        const int errors = st.last_rejection ? st.last_rejection->errors : 0;
        const std::string kept = st.generation
                                     ? "generation " + std::to_string(st.generation) + " stays in force"
                                     : "no policy set is in force";
        return error_response(
            http::status::unprocessable_entity,
            "policy set in " + store.dir().string() + " rejected: " + std::to_string(errors) + " error(s); " +
                kept,
            "fix the findings and reload; `reflexd check-policy " + store.dir().string() + "` shows the same",
            std::move(extra));
      },
      RouteOptions{.json_body = true});
}

void add_policy_metrics(MetricsRegistry& metrics, const plan::PolicyStore& store) {
  using T = MetricType;
  metrics.collect("reflex_policy_generation",
                  "Generation of the policy set in force (0: none); bumps on every accepted load", T::gauge,
                  [&store] { return double(store.status().generation); });
  metrics.collect("reflex_policy_rules", "Rules in the policy set in force", T::gauge, [&store] {
    auto set = store.current();
    return set ? double(set->rules.size()) : 0.0;
  });
  metrics.collect("reflex_policy_warnings", "Warnings about the policy set in force", T::gauge,
                  [&store] { return double(store.status().warnings.size()); });
  metrics.collect("reflex_policy_reloads_total",
                  "Loads of the policy folder (the first one included), by result; a rejected set never "
                  "replaces the one in force",
                  T::counter, {"result"}, [&store] {
                    const auto& st = store.status();
                    return std::vector<Sample>{{{"accepted"}, double(st.loads_ok)},
                                               {{"rejected"}, double(st.loads_rejected)}};
                  });
  metrics.collect("reflex_policy_last_reload_successful",
                  "1 if the newest load of the policy folder was accepted", T::gauge,
                  [&store] { return store.status().last_load_rejected ? 0.0 : 1.0; });
  metrics.collect("reflex_policy_last_success_timestamp_seconds",
                  "When the policy set in force was loaded (Unix time; 0: none)", T::gauge,
                  [&store] { return double(store.status().last_ok_ns) / 1e9; });
}

}  // namespace reflex::api
