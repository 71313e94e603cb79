#include "cmd/reflexd/run_daemon.h"

#include "api/endpoint.h"
#include "api/policy_routes.h"
#include "api/system_routes.h"
#include "api/time_format.h"
#include "api/version.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>

namespace reflex::cmd {

namespace json = boost::json;

Daemon::Daemon(RunOptions opts)
    : opts_(std::move(opts)),
      store_(opts_.policies),
      hup_(io_, SIGHUP),
      stop_signals_(io_, SIGINT, SIGTERM),
      started_(std::chrono::steady_clock::now()),
      started_wall_ns_(api::wall_now_ns()) {}

Daemon::~Daemon() = default;

Status Daemon::start() {
  auto endpoint = api::parse_endpoint(opts_.listen);
  if (!endpoint) return endpoint.error();

  std::error_code fec;
  if (!std::filesystem::is_directory(opts_.policies, fec))
    return make_error("policy folder " + opts_.policies + " does not exist or is not a folder",
                      "create it (the repository's policies/ is a good start) or pass --policies DIR");
  if (!store_.reload("start")) {
    const auto& rej = store_.status().last_rejection;
    std::string first = rej && !rej->diagnostics.empty() ? rej->diagnostics.front() : "no policy files";
    return make_error(
        "policy set in " + opts_.policies + " is invalid (" + std::to_string(rej ? rej->errors : 0) +
            " error(s)); first: " + first,
        "`reflexd check-policy " + opts_.policies + "` lists every finding; fix them and start again");
  }

  api::add_policy_routes(router_, store_);
  api::add_system_routes(router_, metrics_, [this] { return status_json(); });
  api::add_policy_metrics(metrics_, store_);
  add_daemon_metrics();

  api::ServerConfig config;
  config.listen = *endpoint;
  auto server = api::Server::listen(io_, config, router_, &metrics_);
  if (!server) return server.error();
  server_ = std::move(*server);

  if (opts_.watch) {
    if (auto st = store_.watch(io_, opts_.quiet); !st) return st.error();
  }
  arm_sighup();
  arm_stop_signals();
  server_->start();
  return ok();
}

int Daemon::run() {
  io_.run();
  spdlog::info("reflexd stopped");
  return 0;
}

boost::asio::ip::tcp::endpoint Daemon::listening() const {
  return server_ ? server_->local_endpoint() : boost::asio::ip::tcp::endpoint{};
}

void Daemon::add_status_section(std::string name, std::function<json::value()> section) {
  status_sections_.emplace_back(std::move(name), std::move(section));
}

void Daemon::arm_sighup() {
  hup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec) return;
    spdlog::info("SIGHUP: reloading policies from {}", opts_.policies);
    store_.reload("sighup");  // the store logs the outcome and records a rejection
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

void Daemon::stop(const std::string& why) {
  if (stopping_) {
    spdlog::warn("{} while stopping: ending now", why);
    io_.stop();
    return;
  }
  stopping_ = true;
  spdlog::info("{}: stopping", why);
  boost::system::error_code ec;
  hup_.cancel(ec);
  store_.stop();
  for (auto& hook : stop_hooks_) hook();
  auto finish = [this] {
    boost::system::error_code cec;
    stop_signals_.cancel(cec);
    // Whatever a stage may still have pending is abandoned: the API has
    // answered everything it owed, which is what a graceful stop promises.
    io_.stop();
  };
  if (server_)
    server_->stop(opts_.drain, finish);
  else
    finish();
}

json::object Daemon::status_json() const {
  json::object doc;
  doc["daemon"] = "reflexd";
  doc["version"] = api::version();
  doc["pid"] = static_cast<std::int64_t>(::getpid());
  doc["started_at"] = api::rfc3339(started_wall_ns_);
  // Whole seconds: Boost.JSON prints doubles as 1.05E0, which helps nobody.
  doc["uptime_seconds"] =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_).count();
  doc["listen"] = api::format_endpoint(listening());
  const auto& st = store_.status();
  const auto set = store_.current();
  doc["policy"] = {{"dir", opts_.policies},
                   {"generation", st.generation},
                   {"rules", set ? set->rules.size() : 0},
                   {"last_load_accepted", !st.last_load_rejected},
                   {"watching", opts_.watch}};
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

}  // namespace reflex::cmd
