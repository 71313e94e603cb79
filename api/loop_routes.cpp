#include "api/loop_routes.h"

#include "api/loop_json.h"
#include "api/override_request.h"
#include "api/query.h"
#include "api/time_format.h"
#include "common/log.h"
#include "plan/action_text.h"
#include "plan/policy.h"

#include <algorithm>
#include <memory>
#include <mutex>
#include <variant>

namespace reflex::api {
namespace {

using daemon::LoopView;
using daemon::LoopViewPtr;

Response bad_request(const Error& e) { return error_response(http::status::bad_request, e.what, e.hint); }

// The query of a request, restricted to `allowed`; a Response when it is wrong.
std::variant<Query, Response> query_of(const Request& req, std::initializer_list<std::string_view> allowed) {
  auto q = Query::parse(req.target());
  if (!q) return bad_request(q.error());
  if (auto st = q->only(allowed); !st) return bad_request(st.error());
  return std::move(*q);
}

#define QUERY_OR_RETURN(q, req, ...)                      \
  auto q##_or = query_of(req, __VA_ARGS__);               \
  if (auto* r = std::get_if<Response>(&q##_or)) return std::move(*r); \
  [[maybe_unused]] const Query& q = std::get<Query>(q##_or);

#define VALUE_OR_RETURN(var, expr)      \
  auto var = (expr);                    \
  if (!var) return bad_request(var.error());

// GET /v1/state's body, rendered once per view. The loop publishes a view
// per tick (and when an override changes), immutable, and state_json reads
// nothing else: at 5,000 requests/s and a 100 ms tick, 500 requests answer
// from one view, and building its ~1.6 KB of JSON was most of each request.
// The cache names its view by a weak_ptr, so it never keeps an old view (and
// its snapshot of up to 100k+ rules) alive.
class StateCache {
 public:
  std::string body(const LoopViewPtr& v, std::size_t rules) {
    std::lock_guard l(mu_);
    if (rules != rules_ || view_.owner_before(v) || v.owner_before(view_) || view_.expired()) {
      text_ = json_text(state_json(*v, rules));
      view_ = v;
      rules_ = rules;
    }
    return text_;
  }

 private:
  std::mutex mu_;  // the server runs on one thread today; a second must not tear the cache
  std::weak_ptr<const LoopView> view_;
  std::size_t rules_ = 0;
  std::string text_;
};

Response state(daemon::LoopApi& loop, const LoopRouteOptions& opts, StateCache& cache, const Request& req) {
  QUERY_OR_RETURN(q, req, {"rules"});
  VALUE_OR_RETURN(rules, q.integer("rules", opts.page_max));
  return text_response(http::status::ok, cache.body(loop.view(), rules->value_or(opts.state_rules)), kJsonType);
}

Response rules(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request& req) {
  QUERY_OR_RETURN(q, req, {"iface", "prefix", "verb", "limit", "cursor"});
  VALUE_OR_RETURN(limit, q.limit(opts.page_default, opts.page_max));
  VALUE_OR_RETURN(within, q.prefix("prefix"));
  RuleFilter f;
  f.iface = q.get("iface").value_or("");
  f.within = *within;
  if (auto verb = q.get("verb")) {
    f.verb = parse_rule_verb(*verb);
    if (!f.verb)
      return error_response(http::status::bad_request, "query parameter verb: \"" + *verb + "\" is not a rule verb",
                            "use drop, allow, rate_limit or shadow");
  }
  const LoopViewPtr v = loop.view();
  auto page = rule_page(*v, f, *limit, q.get("cursor").value_or(""));
  if (!page) return bad_request(page.error());
  json::object out;
  out["total"] = page->total;
  out["rules"] = std::move(page->items);
  out["next"] = page->next ? json::value(*page->next) : json::value(nullptr);
  return json_response(http::status::ok, out);
}

bool subject_has_iface(const Subject& s, const std::string& iface) { return iface.empty() || s.iface == iface; }

Response symptoms(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request& req) {
  QUERY_OR_RETURN(q, req, {"kind", "iface", "limit"});
  VALUE_OR_RETURN(limit, q.limit(opts.page_default, opts.page_max));
  std::optional<SymptomKind> kind;
  if (auto k = q.get("kind")) {
    kind = plan::parse_symptom_kind(*k);
    if (!kind)
      return error_response(http::status::bad_request, "query parameter kind: \"" + *k + "\" is not a symptom kind",
                            "use latency_high, drop_rate_high, map_pressure, flood, attach_degraded, loss_high or "
                            "peer_verdict");
  }
  const std::string iface = q.get("iface").value_or("");
  auto keep = [&](const Symptom& s) { return (!kind || s.kind == *kind) && subject_has_iface(s.subject, iface); };
  const LoopViewPtr v = loop.view();
  const ViewClock clock(*v);
  json::array active, events;
  if (v->snapshot)
    for (const auto& s : v->snapshot->symptoms)
      if (keep(s)) active.emplace_back(symptom_json(s, clock));
  for (auto it = v->symptom_events.rbegin(); it != v->symptom_events.rend() && events.size() < *limit; ++it)
    if (keep(it->symptom)) events.emplace_back(symptom_event_json(*it, clock));
  json::object out;
  out["active"] = std::move(active);
  out["events"] = std::move(events);
  return json_response(http::status::ok, out);
}

Response plans(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request& req) {
  QUERY_OR_RETURN(q, req, {"limit"});
  VALUE_OR_RETURN(limit, q.limit(opts.page_default, opts.page_max));
  const LoopViewPtr v = loop.view();
  const ViewClock clock(*v);
  json::array items;
  for (auto it = v->plans.rbegin(); it != v->plans.rend() && items.size() < *limit; ++it)
    items.emplace_back(plan_json(*it, clock));
  json::object out;
  out["plans"] = std::move(items);
  return json_response(http::status::ok, out);
}

Response actions(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request& req) {
  QUERY_OR_RETURN(q, req, {"kind", "status", "iface", "prefix", "limit"});
  VALUE_OR_RETURN(limit, q.limit(opts.page_default, opts.page_max));
  VALUE_OR_RETURN(within, q.prefix("prefix"));
  const std::string kind = q.get("kind").value_or(""), status = q.get("status").value_or(""),
                    iface = q.get("iface").value_or("");
  const LoopViewPtr v = loop.view();
  const ViewClock clock(*v);
  json::array items;
  for (auto it = v->actions.rbegin(); it != v->actions.rend() && items.size() < *limit; ++it) {
    const auto& spec = it->action.spec;
    if (!kind.empty() && plan::action_kind_name(spec) != kind) continue;
    if (!status.empty() && action_status(*it) != status) continue;
    if (!iface.empty() && plan::target_iface(spec) != iface) continue;
    if (*within) {
      auto p = plan::target_prefix(spec);
      if (!p || !(*within)->contains(*p)) continue;
    }
    items.emplace_back(action_view_json(*it, clock));
  }
  json::object out;
  out["actions"] = std::move(items);
  return json_response(http::status::ok, out);
}

Response flows(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request& req) {
  QUERY_OR_RETURN(q, req, {"iface", "src", "proto", "port", "verdict", "limit", "raw"});
  VALUE_OR_RETURN(limit, q.limit(opts.page_default, opts.page_max));
  VALUE_OR_RETURN(src, q.prefix("src"));
  VALUE_OR_RETURN(port, q.integer("port", 65535));
  VALUE_OR_RETURN(raw, q.boolean("raw"));
  FlowFilter f;
  f.iface = q.get("iface").value_or("");
  f.src = *src;
  if (*port) f.port = static_cast<std::uint16_t>(**port);
  if (auto p = q.get("proto")) {
    f.proto = parse_ip_proto(*p);
    if (!f.proto)
      return error_response(http::status::bad_request, "query parameter proto: \"" + *p + "\" is not a protocol",
                            "use tcp, udp, icmp, icmpv6 or a number");
  }
  f.verdict = q.get("verdict").value_or("");
  if (!f.verdict.empty() && f.verdict != "drop" && f.verdict != "rate_limited" && f.verdict != "shadow")
    return error_response(http::status::bad_request, "query parameter verdict: \"" + f.verdict + "\" is not a verdict",
                          "use drop, rate_limited or shadow");
  f.raw = raw->value_or(false);
  const LoopViewPtr v = loop.view();
  return json_response(http::status::ok, flows_json(*v, f, *limit));
}

Response history(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request& req) {
  QUERY_OR_RETURN(q, req, {"since", "until", "kind", "subject", "limit", "cursor"});
  const History* h = loop.history();
  if (!h)
    return error_response(http::status::service_unavailable, "this daemon keeps no history (store: none)",
                          "set store.path in the daemon's config to keep a record");
  const TimeNs now = opts.wall_now ? opts.wall_now() : wall_now_ns();
  VALUE_OR_RETURN(since, q.instant("since", now));
  VALUE_OR_RETURN(until, q.instant("until", now));
  VALUE_OR_RETURN(limit, q.limit(opts.page_default, opts.page_max));
  VALUE_OR_RETURN(cursor, q.integer("cursor", UINT64_MAX));
  RecordQuery rq;
  rq.since_wall_ns = *since;
  rq.until_wall_ns = *until;
  rq.limit = *limit;
  rq.before_id = *cursor;
  rq.subject = q.get("subject").value_or("");
  if (auto kinds = q.get("kind")) {
    std::string_view rest = *kinds;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string_view name = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      auto k = parse_record_kind(name);
      if (!k) {
        std::string all;
        for (auto kk : kAllRecordKinds) all += (all.empty() ? "" : ", ") + std::string(to_string(kk));
        return error_response(http::status::bad_request,
                              "query parameter kind: \"" + std::string(name) + "\" is not a record kind",
                              "use one or more of " + all + ", comma-separated");
      }
      rq.kinds.push_back(*k);
    }
  }
  if (rq.since_wall_ns && rq.until_wall_ns && *rq.until_wall_ns <= *rq.since_wall_ns)
    return error_response(http::status::bad_request, "until is not after since",
                          "the window is [since, until): give an until later than since");
  auto page = h->query(rq);
  if (!page)
    return error_response(http::status::service_unavailable, "the store could not answer: " + page.error().what,
                          page.error().hint.empty() ? "see the daemon's log and GET /v1/state's store section"
                                                    : page.error().hint);
  json::object out;
  json::array records;
  for (const auto& r : page->records) records.emplace_back(record_json(r));
  out["records"] = std::move(records);
  out["next"] = page->next ? json::value(*page->next) : json::value(nullptr);
  return json_response(http::status::ok, out);
}

const daemon::OverrideView* find_override(const LoopView& v, std::string_view id) {
  for (const auto& o : v.overrides)
    if (o.override_.id == id) return &o;
  return nullptr;
}

Response override_not_found(std::string_view id) {
  return error_response(http::status::not_found, "no override " + std::string(id) + " is in force",
                        "GET /v1/overrides lists them (`reflexctl override list`); an expired one is in "
                        "GET /v1/history?kind=override");
}

Response list_overrides(daemon::LoopApi& loop, const Request& req) {
  QUERY_OR_RETURN(q, req, {});
  const LoopViewPtr v = loop.view();
  const ViewClock clock(*v);
  json::array items;
  for (const auto& o : v->overrides) items.emplace_back(override_json(o, clock));
  json::object out;
  out["overrides"] = std::move(items);
  out["paused"] = v->phase == daemon::LoopPhase::paused;
  return json_response(http::status::ok, out);
}

Response add_override(daemon::LoopApi& loop, const Call& call) {
  auto body = parse_json_object(call.request);
  if (!body) return bad_request(body.error());
  auto parsed = parse_override_request(*body, call.peer);
  if (!parsed) return bad_request(parsed.error());
  daemon::OverrideRequest req;
  req.override_ = std::move(parsed->override_);
  req.ttl_ns = parsed->ttl_ns;
  auto stored = loop.add_override(std::move(req));
  if (!stored)
    return error_response(http::status::unprocessable_entity, "override refused: " + stored.error().what,
                          stored.error().hint);
  stage_logger("api")->info("override {} ({}) added by {}: {}", stored->id, override_kind_name(stored->kind),
                            stored->who, stored->reason);
  const LoopViewPtr v = loop.view();
  const ViewClock clock(*v);
  const auto* in_view = find_override(*v, stored->id);
  auto res = json_response(http::status::created,
                           override_json(in_view ? *in_view : daemon::OverrideView{*stored, false}, clock));
  res.set(http::field::location, "/v1/overrides/" + stored->id);
  return res;
}

Response get_override(daemon::LoopApi& loop, const Call& call) {
  QUERY_OR_RETURN(q, call.request, {});
  const LoopViewPtr v = loop.view();
  const auto* o = find_override(*v, call.param("id"));
  if (!o) return override_not_found(call.param("id"));
  return json_response(http::status::ok, override_json(*o, ViewClock(*v)));
}

Response remove_override(daemon::LoopApi& loop, const Call& call) {
  QUERY_OR_RETURN(q, call.request, {"who"});
  const std::string id(call.param("id"));
  const LoopViewPtr v = loop.view();
  const auto* o = find_override(*v, id);
  if (!o) return override_not_found(id);
  const daemon::OverrideView removed = *o;
  const std::string who = q.get("who").value_or(default_who(call.peer));
  if (auto st = loop.remove_override(id, who); !st)
    return error_response(http::status::conflict, "override " + id + " was not removed: " + st.error().what,
                          st.error().hint);
  stage_logger("api")->info("override {} removed by {}", id, who);
  json::object out;
  out["removed"] = id;
  out["who"] = who;
  out["override"] = override_json(removed, ViewClock(*v));
  return json_response(http::status::ok, out);
}

Response readyz(daemon::LoopApi& loop, const Request&) {
  const LoopViewPtr v = loop.view();
  json::object out;
  out["phase"] = to_string(v->phase);
  if (v->ready) {
    out["ready"] = true;
    return json_response(http::status::ok, out);
  }
  out["ready"] = false;
  json::array reasons;
  for (auto& r : not_ready_reasons(*v)) reasons.emplace_back(r);
  out["reasons"] = std::move(reasons);
  auto res = json_response(http::status::service_unavailable, out);
  res.set(http::field::retry_after, "1");
  return res;
}

Response healthz(daemon::LoopApi& loop, const LoopRouteOptions& opts, const Request&) {
  const LoopViewPtr v = loop.view();
  const bool ticking = v->phase == daemon::LoopPhase::running || v->phase == daemon::LoopPhase::paused;
  if (ticking && v->last_tick && v->last_tick->wall_ns > 0 && v->tick_interval_ns > 0) {
    const TimeNs now = opts.wall_now ? opts.wall_now() : wall_now_ns();
    const TimeNs stall = std::max<TimeNs>(opts.stall_min_ns, v->tick_interval_ns * opts.stall_ticks);
    const TimeNs age = now - v->last_tick->wall_ns;
    if (age > stall)
      return error_response(http::status::service_unavailable,
                            "the loop has not ticked for " + std::to_string(age / kNsPerMs) + " ms (tick every " +
                                std::to_string(v->tick_interval_ns / kNsPerMs) + " ms)",
                            "the loop is stuck: see the daemon's log, then restart it (systemctl restart reflexd)");
  }
  return text_response(http::status::ok, "ok\n");
}

#undef QUERY_OR_RETURN
#undef VALUE_OR_RETURN

}  // namespace

void add_loop_routes(Router& router, daemon::LoopApi& loop, LoopRouteOptions opts) {
  auto o = std::make_shared<const LoopRouteOptions>(std::move(opts));
  auto read = [&router, &loop, o](std::string path, Response (*fn)(daemon::LoopApi&, const LoopRouteOptions&,
                                                                   const Request&)) {
    router.get(std::move(path), [&loop, o, fn](const Request& req) { return fn(loop, *o, req); });
  };
  router.get("/v1/state", [&loop, o, cache = std::make_shared<StateCache>()](const Request& req) {
    return state(loop, *o, *cache, req);
  });
  read("/v1/rules", rules);
  read("/v1/symptoms", symptoms);
  read("/v1/plans", plans);
  read("/v1/actions", actions);
  read("/v1/flows", flows);
  read("/v1/history", history);
  read("/healthz", healthz);
  router.get("/readyz", [&loop](const Request& req) { return readyz(loop, req); });
  router.get("/v1/overrides", [&loop](const Request& req) { return list_overrides(loop, req); });
  router.route(
      http::verb::post, "/v1/overrides", [&loop](const Call& c) { return add_override(loop, c); },
      RouteOptions{.json_body = true, .body_limit = kOverrideBodyLimit});
  router.route(http::verb::get, "/v1/overrides/{id}", [&loop](const Call& c) { return get_override(loop, c); });
  router.route(http::verb::delete_, "/v1/overrides/{id}",
               [&loop](const Call& c) { return remove_override(loop, c); });
}

}  // namespace reflex::api
