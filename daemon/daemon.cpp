#include "daemon/daemon.h"

#include "fleet/fleet_metrics.h"

#include "api/endpoint.h"
#include "api/api_routes.h"
#include "api/time_format.h"
#include "api/version.h"
#include "common/log.h"
#include "execute/shaping/shaping_actuator.h"
#include "knowledge/json/desired_state_json.h"
#include "knowledge/json/planner_state_json.h"
#include "knowledge/store/clock_rebase.h"

#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace reflex::daemon {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = stage_logger("daemon");
  return l;
}

TimeNs wall_now() { return api::wall_now_ns(); }

const Clock& loop_clock() { return monitor::SteadyClock::instance(); }

}  // namespace

Daemon::Daemon(DaemonConfig cfg)
    : cfg_(std::move(cfg)),
      policies_(cfg_.policies),
      hup_(io_, SIGHUP),
      stop_signals_(io_, SIGINT, SIGTERM),
      started_(std::chrono::steady_clock::now()),
      started_wall_ns_(wall_now()) {
  for (const auto& i : cfg_.interfaces) refs_.push_back({i.key, i.name, i.netns});
}

Daemon::~Daemon() {
  // The Monitor holds timers on io_ and probes that read the guard's maps:
  // it goes before the executor's actuators close them.
  monitor_.reset();
  server_.reset();
  loop_.reset();
  if (store_) (void)store_->close();
}

Status Daemon::start() {
  if (cfg_.interfaces.empty())
    return make_error("no interface to guard", "give one with --iface IF (or IF@NETNS), or `interfaces:` in " +
                                                   (cfg_.source.empty() ? std::string(kDefaultConfigPath) : cfg_.source));
  if (auto st = start_policies(); !st) return st;
  if (auto st = start_store(); !st) return st;
  if (auto st = start_datapath(); !st) return st;
  resume();
  if (auto st = start_fleet(); !st) return st;
  if (auto st = start_api(); !st) return st;
  if (auto st = start_monitor(); !st) return st;
  arm_sighup();
  arm_stop_signals();
  record(RecordKind::daemon, "reflexd", "reflexd " + std::string(api::version()) + " started, guarding " +
                                           std::to_string(refs_.size()) + " interface(s)",
         json::object{{"pid", static_cast<std::int64_t>(::getpid())}, {"tick_ms", cfg_.tick / kNsPerMs}});
  return ok();
}

Status Daemon::start_fleet() {
  if (!cfg_.fleet.enabled) return ok();
  auto m = FleetMember::start(cfg_.fleet, io_.get_executor(), *loop_, loop_clock(), policies_, *recorder_);
  if (!m) return m.error();
  fleet_ = std::move(*m);
  fleet::publish_fleet_metrics(metrics_, fleet_->node(), fleet_->link());
  add_status_section("fleet", [this] { return fleet_->status(); });
  return ok();
}

Status Daemon::start_policies() {
  std::error_code ec;
  if (!fs::is_directory(cfg_.policies, ec))
    return make_error("policy folder " + cfg_.policies + " does not exist or is not a folder",
                      "create it (the repository's policies/ is a good start) or pass --policies DIR");
  if (!policies_.reload("start")) {
    const auto& rej = policies_.status().last_rejection;
    std::string first = rej && !rej->diagnostics.empty() ? rej->diagnostics.front() : "no policy files";
    return make_error("policy set in " + cfg_.policies + " is invalid (" + std::to_string(rej ? rej->errors : 0) +
                          " error(s)); first: " + first,
                      "`reflexd check-policy " + cfg_.policies + "` lists every finding; fix them and start again");
  }
  // Every later load (inotify, SIGHUP, POST /v1/policies/reload) is recorded,
  // and a rejected one leaves the set in force as it was.
  policies_.on_change([this](const plan::PolicySetPtr& set) {
    if (loop_ && set) {
      auto v = loop_->executor().config().verify;
      v.max_drop_fraction = set->global.guardrails.max_drop_fraction;
      loop_->executor().set_verify(v);
    }
    const auto& st = policies_.status();
    record(RecordKind::policy, cfg_.policies,
           "policy generation " + std::to_string(st.generation) + " loaded (" + st.current_trigger + ", " +
               std::to_string(set ? set->rules.size() : 0) + " rule(s))",
           json::object{{"generation", st.generation}, {"trigger", st.current_trigger}, {"accepted", true}});
  });
  policies_.on_reject([this](const plan::PolicyRejection& rej) {
    json::array findings;
    for (const auto& d : rej.diagnostics) findings.emplace_back(d);
    record(RecordKind::policy, cfg_.policies,
           "policy load rejected (" + rej.trigger + ", " + std::to_string(rej.errors) + " error(s)); generation " +
               std::to_string(policies_.status().generation) + " stays in force",
           json::object{{"accepted", false}, {"trigger", rej.trigger}, {"errors", rej.errors}, {"findings", findings}});
  });
  return ok();
}

Status Daemon::start_store() {
  if (cfg_.store.path == "none") {
    logger()->warn("store: none: decisions are not recorded and a restart forgets the desired state");
    return ok();
  }
  std::error_code ec;
  fs::create_directories(fs::path(cfg_.store.path).parent_path(), ec);
  store::StoreOptions o;
  o.synchronous = cfg_.store.synchronous_full ? store::StoreOptions::Sync::full : store::StoreOptions::Sync::normal;
  o.retention.raw_ns = cfg_.store.raw_for;
  o.retention.minute_ns = cfg_.store.minutes_for;
  o.retention.hour_ns = cfg_.store.hours_for;
  o.retention.max_bytes = cfg_.store.max_bytes;
  auto opened = store::SqliteStore::open(cfg_.store.path, o);
  if (!opened) return opened.error();
  store_ = std::move(opened->store);
  recorder_ = store_.get();
  const auto& rep = opened->report;
  if (rep.moved_to)
    logger()->error("store: {} was damaged ({}); moved to {}, starting an empty record", rep.path, rep.damage,
                    *rep.moved_to);
  else
    logger()->info("store: {}", rep.notice().empty() ? "opened " + rep.path : rep.notice());
  LoopEvent opened_event = rep.event(loop_clock().now_ns());
  if (opened_event.summary.empty()) opened_event.summary = "opened " + rep.path;
  recorder_->record_event(opened_event);
  return ok();
}

Status Daemon::start_datapath() {
  execute::GuardActuatorOptions go;
  go.pin_root = cfg_.pin_root;
  go.max_rules = cfg_.max_rules;
  go.loop_clock = &loop_clock();
  auto guard = std::make_unique<execute::GuardActuator>(go);
  auto shaping = std::make_unique<execute::shaping::ShapingActuator>(execute::shaping::ShaperOptions{cfg_.pin_root});
  guards_ = guard.get();
  guarded_.assign(refs_.size(), false);
  guard_errors_.assign(refs_.size(), {});
  std::vector<std::pair<std::string, AttachMode>> modes;
  for (std::size_t i = 0; i < refs_.size(); ++i) {
    shaping->add_interface(refs_[i]);
    auto rep = guard->ensure_guard(refs_[i], cfg_.mode_of(cfg_.interfaces[i]));
    if (!rep) {
      // A missing interface or a refused attach is not fatal for the others:
      // the interface is reported unhealthy and retried on the loop's timer.
      guard_errors_[i] = rep.error().message();
      logger()->error("{}: the guard is not up: {}", refs_[i].key, guard_errors_[i]);
      guard->add_interface(refs_[i]);
      continue;
    }
    guarded_[i] = true;
    modes.emplace_back(refs_[i].key, rep->mode);
    logger()->info("{}", rep->describe());
    record(RecordKind::attach, refs_[i].key, rep->describe(),
           json::object{{"mode", std::string(to_string(rep->mode))}, {"adopted", rep->adopted}, {"rules", rep->rules}});
  }

  execute::ExecutorConfig ec;
  for (const auto& r : refs_) ec.ifaces.push_back(r.key);
  ec.max_rules = cfg_.max_rules;
  if (auto set = policies_.current()) ec.verify.max_drop_fraction = set->global.guardrails.max_drop_fraction;
  std::vector<execute::ActuatorPtr> acts;
  acts.push_back(std::move(guard));
  acts.push_back(std::move(shaping));
  auto executor = std::make_unique<execute::Executor>(ec, std::move(acts));
  for (const auto& [k, m] : modes) executor->set_mode(k, m);

  LoopConfig lc;
  for (const auto& r : refs_) lc.interfaces.push_back(r.key);
  lc.tick_ns = cfg_.tick;
  lc.reconcile_every = static_cast<unsigned>(std::max<TimeNs>(1, 10 * kNsPerSec / std::max<TimeNs>(cfg_.tick, 1)));
  lc.store_path = cfg_.store.path;
  loop_ = std::make_unique<Loop>(
      lc, loop_clock(),
      [this] { return PolicyHandle{policies_.current(), policies_.status().generation}; }, analyze::Analyzer{},
      std::move(executor), *recorder_, store_.get());
  std::vector<InterfaceState> states;
  for (std::size_t i = 0; i < refs_.size(); ++i) {
    InterfaceState s;
    s.key = refs_[i].key;
    s.healthy = guarded_[i];
    s.problem = guard_errors_[i];
    states.push_back(s);
  }
  loop_->set_interfaces(std::move(states));
  loop_->set_datapath_ready(std::all_of(guarded_.begin(), guarded_.end(), [](bool b) { return b; }));
  return ok();
}

void Daemon::resume() {
  if (!store_) return;
  ResumeState rs;
  const store::ClockPair now{loop_clock().now_ns(), wall_now()};
  if (auto d = store_->load_state("desired"); d && *d) {
    DesiredState ds;
    if (auto st = from_json((*d)->value, ds); st)
      rs.desired = store::rebase(std::move(ds), (*d)->saved, now);
    else
      logger()->error("store: the saved desired state does not parse ({}); starting from the datapath as pinned",
                      st.error().message());
  } else if (!d) {
    logger()->error("store: cannot read the saved desired state: {}", d.error().message());
  }
  if (auto p = store_->load_state("planner"); p && *p) {
    PlannerState ps;
    if (auto st = from_json((*p)->value, ps); st)
      rs.planner = store::rebase(std::move(ps), (*p)->saved, now);
    else
      logger()->error("store: the saved planner state does not parse ({}); cooldowns start afresh",
                      st.error().message());
  }
  if (rs.desired || rs.planner) {
    const bool had = rs.desired.has_value();
    loop_->resume(std::move(rs));
    if (had)
      record(RecordKind::daemon, "reflexd", "resumed the desired state from the store; reconciling the datapath");
  }
}

Status Daemon::start_api() {
  api::ServerConfig sc;
  if (cfg_.api.listen.empty()) {
    sc.listen.reset();
  } else {
    auto ep = api::parse_endpoint(cfg_.api.listen);
    if (!ep) return ep.error();
    sc.listen = *ep;
  }
  sc.unix_socket = cfg_.api.unix_socket;
  sc.socket_mode = cfg_.api.socket_mode;
  sc.body_limit = cfg_.api.body_limit;
  sc.max_connections = cfg_.api.max_connections;
  sc.request_timeout = std::chrono::milliseconds(cfg_.api.request_timeout / kNsPerMs);
  if (!sc.listen && sc.unix_socket.empty()) {
    logger()->warn("api: no listener (--listen off and --unix-socket off): nothing can query or override the loop");
  } else {
    auto auth = api::TokenAuth::load_or_create(cfg_.api.token_file);
    if (!auth) return auth.error();
    auth_ = std::make_shared<const api::TokenAuth>(std::move(*auth));
  }
  // The loop's routes come after the system ones: its /healthz knows a stalled loop.
  api::add_api(router_, metrics_, api::ApiParts{*loop_, policies_, [this] { return status_json(); }, auth_});
  add_daemon_metrics();
  if (cfg_.watch_policies)
    if (auto st = policies_.watch(io_); !st) return st.error();
  if (!sc.listen && sc.unix_socket.empty()) return ok();
  auto server = api::Server::listen(io_, sc, router_, &metrics_);
  if (!server) return server.error();
  server_ = std::move(*server);
  return ok();
}

Status Daemon::start_monitor() {
  monitor::MonitorConfig mc;
  mc.interfaces = refs_;
  mc.interval = std::chrono::milliseconds(cfg_.tick / kNsPerMs);
  mc.pin_root = cfg_.pin_root;
  mc.max_rules = cfg_.max_rules;
  mc.top_talkers = cfg_.monitor.top_talkers;
  mc.run_time_every = cfg_.monitor.run_time_every;
  auto m = monitor::Monitor::create(io_, mc, [this](const Observation& o) { on_observation(o); }, &loop_clock());
  if (!m) return m.error();
  monitor_ = std::move(*m);
  return ok();
}

void Daemon::on_observation(const Observation& obs) {
  if (stopping_) return;
  const TimeNs monitor_ns = std::max<TimeNs>(0, loop_clock().now_ns() - obs.ts_ns);
  retry_guards();
  loop_->step(obs, monitor_ns);
  for (auto& h : tick_hooks_) h(*loop_);
}

void Daemon::retry_guards() {
  if (std::all_of(guarded_.begin(), guarded_.end(), [](bool b) { return b; })) return;
  if (loop_->ticks() % 10 != 0) return;  // an attach attempt costs milliseconds: not every tick
  bool all = true;
  for (std::size_t i = 0; i < refs_.size(); ++i) {
    if (guarded_[i]) continue;
    auto rep = guards_->ensure_guard(refs_[i], cfg_.mode_of(cfg_.interfaces[i]));
    if (!rep) {
      if (rep.error().message() != guard_errors_[i]) logger()->warn("{}: still no guard: {}", refs_[i].key, rep.error().message());
      guard_errors_[i] = rep.error().message();
      all = false;
      continue;
    }
    guarded_[i] = true;
    guard_errors_[i].clear();
    loop_->executor().set_mode(refs_[i].key, rep->mode);
    logger()->info("{}", rep->describe());
    record(RecordKind::attach, refs_[i].key, rep->describe(), json::object{{"mode", std::string(to_string(rep->mode))}});
  }
  loop_->set_datapath_ready(all);
}

std::optional<boost::asio::ip::tcp::endpoint> Daemon::listening() const {
  if (!server_) return std::nullopt;
  return server_->local_endpoint();
}

std::string Daemon::describe_listeners() const {
  std::string s;
  if (auto ep = listening(); ep && !cfg_.api.listen.empty()) s = "http://" + api::format_endpoint(*ep);
  if (!cfg_.api.unix_socket.empty() && server_) s += (s.empty() ? "" : " and ") + ("unix://" + cfg_.api.unix_socket);
  return s.empty() ? "no listener" : s;
}

void Daemon::add_status_section(std::string name, std::function<json::value()> section) {
  status_sections_.emplace_back(std::move(name), std::move(section));
}

void Daemon::record(RecordKind kind, std::string subject, std::string summary, json::value body) {
  LoopEvent e;
  e.kind = kind;
  e.ts_ns = loop_clock().now_ns();
  e.subject = std::move(subject);
  e.summary = std::move(summary);
  e.body = std::move(body);
  recorder_->record_event(e);
}

void Daemon::arm_sighup() {
  hup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    logger()->info("SIGHUP: reloading policies from {}", cfg_.policies);
    policies_.reload("sighup");  // on_reject records a rejection
    arm_sighup();
  });
}

void Daemon::arm_stop_signals() {
  stop_signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    stop(signo == SIGINT ? "SIGINT" : "SIGTERM");
    if (!io_.stopped()) arm_stop_signals();  // a second signal forces the stop
  });
}

int Daemon::run() {
  if (server_) server_->start();
  monitor_->start();
  io_.run();
  logger()->info("reflexd stopped");
  return 0;
}

void Daemon::stop(const std::string& why) {
  if (stopping_) {
    logger()->warn("{} while stopping: ending now", why);
    io_.stop();
    return;
  }
  stopping_ = true;
  logger()->info("{}: stopping (the datapath stays pinned and keeps protecting)", why);
  boost::system::error_code ec;
  hup_.cancel(ec);
  policies_.stop();
  if (monitor_) monitor_->stop();
  for (auto& hook : stop_hooks_) hook();
  if (loop_) {
    loop_->set_phase(LoopPhase::stopping);
    record(RecordKind::daemon, "reflexd", "reflexd stopping (" + why + "); the datapath stays pinned");
    if (auto st = loop_->flush(); !st) logger()->warn("store: the last records were not written: {}", st.error().message());
  }
  auto finish = [this] {
    boost::system::error_code cec;
    stop_signals_.cancel(cec);
    io_.stop();
  };
  if (server_)
    server_->stop(std::chrono::milliseconds(cfg_.drain / kNsPerMs), finish);
  else
    finish();
}

json::object Daemon::status_json() const {
  json::object doc;
  doc["daemon"] = "reflexd";
  doc["version"] = api::version();
  doc["pid"] = static_cast<std::int64_t>(::getpid());
  doc["started_at"] = api::rfc3339(started_wall_ns_);
  doc["uptime_seconds"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  doc["listen"] = describe_listeners();
  const auto& st = policies_.status();
  const auto set = policies_.current();
  doc["policy"] = {{"dir", cfg_.policies},
                   {"generation", st.generation},
                   {"rules", set ? set->rules.size() : 0},
                   {"last_load_accepted", !st.last_load_rejected},
                   {"watching", cfg_.watch_policies}};
  if (loop_) {
    auto v = loop_->view();
    doc["loop"] = {{"phase", std::string(to_string(v->phase))}, {"ready", v->ready}, {"ticks", v->ticks},
                   {"overruns", v->overruns}};
  }
  doc["store"] = cfg_.store.path;
  for (const auto& [name, section] : status_sections_) doc[name] = section();
  return doc;
}

void Daemon::add_daemon_metrics() {
  metrics_.gauge("reflex_up", "1 while the reflex daemon runs and answers").get().set(1);
  metrics_.gauge("reflex_build_info", "The daemon's version, as a label; the value is always 1", {"version"})
      .with({std::string(api::version())})
      .set(1);
  metrics_.gauge("reflex_start_time_seconds", "When the daemon started (Unix time)")
      .get()
      .set(static_cast<double>(started_wall_ns_) / 1e9);
}

}  // namespace reflex::daemon
