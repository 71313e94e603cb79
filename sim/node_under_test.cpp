#include "sim/node_under_test.h"

#include "guard/guard.h"
#include "sim/http_get.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace reflex::sim {

using namespace std::chrono_literals;

std::string_view to_string(NodeKind k) {
  switch (k) {
    case NodeKind::reflex: return "reflex";
    case NodeKind::none: return "none";
    case NodeKind::threshold: return "threshold";
  }
  return "?";
}

std::optional<NodeKind> parse_node_kind(std::string_view s) {
  if (s == "reflex") return NodeKind::reflex;
  if (s == "none") return NodeKind::none;
  if (s == "threshold") return NodeKind::threshold;
  return std::nullopt;
}

TimeNs since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
}

namespace {

guard::GuardOptions guard_options(const NodeContext& c) {
  guard::GuardOptions o;
  o.pin_root = c.pin_root;
  o.netns = c.topology->node().name();  // pins are keyed IF@NETNS, as reflexd keys them
  if (c.scenario->node.max_rules) o.max_rules = c.scenario->node.max_rules;
  return o;
}

Result<guard::Guard> load_guard_in(const NodeContext& c) {
  auto mode = guard::parse_load_mode(c.scenario->node.mode);
  if (!mode) return make_error("bad attach mode " + c.scenario->node.mode);
  return guard::Guard::load(c.topology->node_if(), *mode, guard_options(c));
}

class NoneNode final : public NodeUnderTest {
 public:
  NodeKind kind() const override { return NodeKind::none; }
  Status start() override { return ok(); }
  Status poll(TimeNs) override { return ok(); }
  std::vector<NodeEvent> take_events() override { return {}; }
  void stop() override {}
  bool has_guard() const override { return false; }
};

// Block any source above a fixed rate, as per-source threshold detectors
// (FastNetMon and the like) do: no baseline, no aggregation, a fixed ban
// time renewed while the source stays above the line.
class ThresholdNode final : public NodeUnderTest {
 public:
  explicit ThresholdNode(const NodeContext& c) : ctx_(c) {}
  NodeKind kind() const override { return NodeKind::threshold; }
  bool has_guard() const override { return true; }

  Status start() override {
    auto g = load_guard_in(ctx_);
    if (!g) return g.error();
    guard_.emplace(std::move(*g));
    return guard_->set_talkers(true);
  }

  Status poll(TimeNs now) override {
    if (now < next_tick_) return ok();
    next_tick_ = now + ctx_.scenario->tick_ns;
    auto talkers = guard_->talkers();
    if (!talkers) return talkers.error();
    const double limit = ctx_.scenario->threshold.pps;
    const TimeNs ttl = ctx_.scenario->threshold.ttl_ns;
    const std::uint64_t boot = guard::boottime_ns();
    std::map<Prefix, std::uint64_t> seen;
    for (const auto& t : *talkers) seen[t.source] += t.packets;  // a source may own a slot on each CPU
    for (const auto& [src, packets] : seen) {
      auto it = last_.find(src);
      if (it == last_.end() || last_tick_ < 0 || packets < it->second) continue;
      double pps = static_cast<double>(packets - it->second) * 1e9 / static_cast<double>(now - last_tick_);
      if (pps <= limit) continue;
      auto& expiry = blocked_[src];
      if (expiry && expiry > boot + static_cast<std::uint64_t>(ttl / 2)) continue;  // still well inside its ban
      guard::GuardRule r;
      r.prefix = src;
      r.action = guard::RuleAction::drop;
      r.expires_ns = boot + static_cast<std::uint64_t>(ttl);
      auto up = guard_->upsert(r);
      if (!up) return up.error();
      char line[160];
      std::snprintf(line, sizeof(line), "%s at %.0f pps > %.0f pps", src.to_string().c_str(), pps, limit);
      if (!expiry) {
        events_.push_back({now, "symptom", "over_threshold", src.to_string(), line});
        events_.push_back({now, "action", "block", src.to_string(),
                           "block " + src.to_string() + " for " + std::to_string(ttl / kNsPerSec) + "s"});
      }
      expiry = r.expires_ns;
    }
    last_ = std::move(seen);
    last_tick_ = now;
    return ok();
  }

  std::vector<NodeEvent> take_events() override { return std::exchange(events_, {}); }

  void stop() override {
    guard_.reset();
    (void)guard::Guard::unload(ctx_.topology->node_if(), guard_options(ctx_));
  }

 private:
  NodeContext ctx_;
  std::optional<guard::Guard> guard_;
  std::map<Prefix, std::uint64_t> last_;
  std::map<Prefix, std::uint64_t> blocked_;  // source -> expiry (boottime) of its ban
  TimeNs last_tick_ = -1, next_tick_ = 0;
  std::vector<NodeEvent> events_;
};

unsigned short free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  ::close(fd);
  return ntohs(sa.sin_port);
}

std::string tail_of(const std::string& path, std::size_t n) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > n ? "..." + s.substr(s.size() - n) : s;
}

// `reflexd run` as a child process: its own process group (a terminal's
// Ctrl-C reaches the runner, which stops the daemon in order), killed with
// the runner if the runner dies.
class ReflexNode final : public NodeUnderTest {
 public:
  explicit ReflexNode(const NodeContext& c) : ctx_(c) {}
  NodeKind kind() const override { return NodeKind::reflex; }
  bool has_guard() const override { return true; }

  Status start() override {
    port_ = free_loopback_port();
    wall_at_t0_ = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count() -
                  since(ctx_.t0);
    return start_daemon();
  }

  Status start_daemon() override {
    if (pid_ > 0) return make_error("reflexd is already running");
    std::vector<std::string> args{ctx_.reflexd,
                                  "--log-level",
                                  "info",
                                  "run",
                                  "--iface",
                                  ctx_.topology->node_if() + "@" + ctx_.topology->node().name(),
                                  "--mode",
                                  ctx_.scenario->node.mode,
                                  "--listen",
                                  "127.0.0.1:" + std::to_string(port_),
                                  "--unix-socket",  // nothing outside the run's own folders
                                  "off",
                                  "--store",
                                  ctx_.work_dir + "/store.db",
                                  "--token-file",
                                  ctx_.work_dir + "/token",
                                  "--policies",
                                  ctx_.policies,
                                  "--tick-ms",
                                  std::to_string(ctx_.scenario->tick_ns / kNsPerMs),
                                  "--pin-root",
                                  ctx_.pin_root,
                                  "--log-format",
                                  "json"};
    if (ctx_.scenario->node.max_rules) {  // the same capacity the baselines' guard gets
      args.push_back("--max-rules");
      args.push_back(std::to_string(ctx_.scenario->node.max_rules));
    }
    std::string log = ctx_.work_dir + "/reflexd.log";
    pid_t pid = fork();
    if (pid < 0) return errno_error("fork reflexd", errno);
    if (pid == 0) {
      setpgid(0, 0);
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);  // the runner blocks its signals; the daemon must not inherit that
      int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    pid_ = pid;
    auto deadline = std::chrono::steady_clock::now() + 15s;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return make_error("reflexd exited before it was ready: " + tail_of(log, 1500),
                          "see " + log + "; run it by hand with the same flags");
      }
      auto r = http_get("127.0.0.1", port_, "/readyz", 500ms);
      if (r && r->status == 200) {
        events_.push_back({since(ctx_.t0), "daemon", "ready", "", "reflexd ready (pid " + std::to_string(pid_) + ")"});
        return ok();
      }
      std::this_thread::sleep_for(20ms);  // polling a child's readiness: there is nothing to wait on
    }
    return make_error("reflexd did not become ready within 15 s: " + tail_of(log, 1500), "see " + log);
  }

  Status kill_daemon() override {
    if (pid_ <= 0) return make_error("reflexd is not running");
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    events_.push_back({since(ctx_.t0), "daemon", "killed", "", "reflexd killed (kill -9)"});
    return ok();
  }

  Status poll(TimeNs now) override {
    if (pid_ <= 0 || now < next_poll_) return ok();
    next_poll_ = now + 200 * kNsPerMs;
    return read_history();
  }

  std::vector<NodeEvent> take_events() override { return std::exchange(events_, {}); }

  void stop() override {
    if (pid_ > 0) {
      (void)read_history();
      ::kill(pid_, SIGTERM);
      int status = 0;
      for (int i = 0; i < 500 && waitpid(pid_, &status, WNOHANG) == 0; ++i) std::this_thread::sleep_for(10ms);
      if (waitpid(pid_, &status, WNOHANG) == 0) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
      }
      pid_ = -1;
    }
    // SIGTERM leaves the datapath pinned, by design; the scenario is over.
    (void)guard::Guard::unload(ctx_.topology->node_if(), guard_options(ctx_));
  }

  ~ReflexNode() override {
    if (pid_ > 0) stop();
  }

 private:
  // Reads the history records newer than the last one seen and turns them
  // into events. The API pages newest first; the pages are gathered back to
  // the last record seen, then taken oldest first.
  Status read_history() {
    const std::int64_t since_wall = since_wall_ns_ ? since_wall_ns_ : wall_at_t0_;
    std::string frac = std::to_string(since_wall % kNsPerSec);
    const std::string since = std::to_string(since_wall / kNsPerSec) + "." + std::string(9 - frac.size(), '0') + frac;
    std::vector<boost::json::object> fresh;
    std::string cursor;
    for (int page = 0; page < 50; ++page) {
      std::string target = "/v1/history?limit=500&since=" + since + (cursor.empty() ? "" : "&cursor=" + cursor);
      auto r = http_get("127.0.0.1", port_, target, 1s);
      if (!r || r->status != 200) return ok();  // a busy or restarting daemon: try again next poll
      boost::system::error_code ec;
      auto doc = boost::json::parse(r->body, ec);
      if (ec || !doc.is_object()) return ok();
      const auto* recs = doc.as_object().if_contains("records");
      if (!recs || !recs->is_array()) return ok();
      bool older = false;
      for (const auto& rec : recs->as_array()) {
        if (!rec.is_object()) continue;
        const auto* id = rec.as_object().if_contains("id");
        if (id && id->is_number() && id->to_number<std::int64_t>() <= last_id_) {
          older = true;
          break;
        }
        fresh.push_back(rec.as_object());
      }
      const auto* next = doc.as_object().if_contains("next");
      if (older || !next || next->is_null()) break;
      cursor = next->is_string() ? std::string(next->as_string()) : std::to_string(next->to_number<std::uint64_t>());
    }
    for (auto it = fresh.rbegin(); it != fresh.rend(); ++it) {
      const auto& o = *it;
      auto num = [&](const char* k) -> std::int64_t {
        auto* v = o.if_contains(k);
        return v && v->is_int64() ? v->as_int64() : v && v->is_uint64() ? static_cast<std::int64_t>(v->as_uint64()) : 0;
      };
      auto str = [&](const char* k) -> std::string {
        auto* v = o.if_contains(k);
        return v && v->is_string() ? std::string(v->as_string()) : std::string();
      };
      last_id_ = std::max(last_id_, num("id"));
      since_wall_ns_ = std::max(since_wall_ns_, num("wall_ns"));
      NodeEvent e;
      e.t_ns = num("wall_ns") - wall_at_t0_;
      e.lane = str("kind");
      e.subject = str("subject");
      e.text = str("summary");
      if (auto* b = o.if_contains("body"); b && b->is_object()) {
        const auto& body = b->as_object();
        for (const char* k : {"kind", "action", "status", "transition"})
          if (auto* v = body.if_contains(k); v && v->is_string()) {
            e.kind = std::string(v->as_string());
            break;
          }
      }
      if (e.kind.empty()) e.kind = e.lane;
      events_.push_back(std::move(e));
    }
    return ok();
  }

  NodeContext ctx_;
  pid_t pid_ = -1;
  unsigned short port_ = 0;
  TimeNs wall_at_t0_ = 0;
  TimeNs next_poll_ = 0;
  std::int64_t since_wall_ns_ = 0, last_id_ = 0;
  std::vector<NodeEvent> events_;
};

}  // namespace

std::unique_ptr<NodeUnderTest> make_node(NodeKind kind, const NodeContext& ctx) {
  switch (kind) {
    case NodeKind::reflex: return std::make_unique<ReflexNode>(ctx);
    case NodeKind::threshold: return std::make_unique<ThresholdNode>(ctx);
    case NodeKind::none: break;
  }
  return std::make_unique<NoneNode>();
}

}  // namespace reflex::sim
