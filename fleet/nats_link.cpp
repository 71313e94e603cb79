#include "fleet/nats_link.h"

#include "common/log.h"
#include "fleet/nkey.h"
#include "fleet/verdict.h"

#include <boost/asio/post.hpp>
#include <nats/nats.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

namespace reflex::fleet {

namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto l = stage_logger("fleet");
  return l;
}

std::string nats_error(natsStatus s) {
  const char* text = natsStatus_GetText(s);
  std::string out = text ? text : "unknown NATS error";
  const char* last = nats_GetLastError(nullptr);
  if (last && *last && out.find(last) == std::string::npos) out += std::string(": ") + last;
  return out;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  return s.substr(i);
}

}  // namespace

Result<std::string> read_secret_file(const std::string& path, const char* what) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0)
    return errno_error(std::string(what) + " " + path, errno, "create it (mode 0600), or fix the path in fleet:");
  if (!S_ISREG(st.st_mode)) return make_error(std::string(what) + " " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return make_error(std::string(what) + " " + path + " has mode " + mode + ": other users can read it",
                      "chmod 600 " + path);
  }
  if (st.st_uid != geteuid())
    return make_error(std::string(what) + " " + path + " belongs to uid " + std::to_string(st.st_uid) +
                          ", not to this process (uid " + std::to_string(geteuid()) + ")",
                      "chown it to the user reflexd runs as");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (!in) return errno_error(std::string("read ") + what + " " + path, errno);
  auto s = trim(ss.str());
  if (s.empty()) return make_error(std::string(what) + " " + path + " is empty", "write the secret into it");
  return s;
}

NatsLinkOptions NatsLinkOptions::from(const FleetConfig& cfg, const std::string& node_id) {
  NatsLinkOptions o;
  o.servers = cfg.servers;
  o.name = "reflexd-" + node_id;
  o.token_file = cfg.token_file;
  o.nkey_seed_file = cfg.nkey_seed_file;
  o.tls = cfg.tls;
  o.connect_timeout = cfg.connect_timeout;
  o.reconnect_wait = cfg.reconnect_wait;
  o.ping_interval = cfg.ping_interval;
  o.reconnect_buffer = cfg.reconnect_buffer;
  o.send_queue = cfg.send_queue;
  // Every peer's verdicts (a node drops its own echo).
  o.subscribe = cfg.receive ? verdict_wildcard(cfg.subject_prefix) : std::string();
  return o;
}

struct NatsLink::Shared : std::enable_shared_from_this<NatsLink::Shared> {
  boost::asio::any_io_executor owner;
  NatsLinkOptions opts;
  MessageHandler on_message;
  StateHandler on_state;
  std::string token, nkey_public;

  std::atomic<bool> alive{true};       // the NatsLink exists (owner's thread clears it)
  std::atomic<int> inflight{0};
  std::shared_ptr<Shared> self;        // held until libnats is done calling back
  std::atomic<int> finals{0};          // libnats "last callbacks" still to come
  std::atomic<bool> stopping{false}, released{false};
  bool redo = false;                   // the connection closed under us: make a new one
  std::string last_error;              // the last asynchronous error libnats reported

  mutable std::mutex mu;
  LinkStatus status;
  std::condition_variable cv;
  std::deque<std::pair<std::string, std::string>> queue;
  bool stop = false;
  std::thread worker;

  natsOptions* nopts = nullptr;
  natsConnection* conn = nullptr;
  natsSubscription* sub = nullptr;

  void set_state(LinkState st, std::string reason, bool count_connect = false, bool count_reconnect = false,
                 bool count_disconnect = false) {
    LinkStatus copy;
    {
      std::lock_guard lk(mu);
      status.state = st;
      status.reason = std::move(reason);
      if (count_connect) ++status.connects;
      if (count_reconnect) ++status.reconnects;
      if (count_disconnect) ++status.disconnects;
      if (st == LinkState::connected && conn) {
        char url[256] = {};
        if (natsConnection_GetConnectedUrl(conn, url, sizeof url) == NATS_OK) status.server = url;
      } else if (st != LinkState::connected) {
        status.server.clear();
      }
      copy = status;
    }
    if (!on_state) return;
    auto sp = shared_from_this();
    boost::asio::post(owner, [sp, copy] {
      if (sp->alive) sp->on_state(copy);
    });
  }

  void drop_self() {
    if (!released.exchange(true)) auto keep = std::move(self);
  }
  // libnats's last callback for a connection (closed) or a subscription
  // (complete): once none is due and the link is stopping, nothing of
  // libnats's can call us again.
  void release_final() {
    if (finals.fetch_sub(1) == 1 && stopping.load()) drop_self();
  }

  // ---- libnats callbacks (its threads) ---------------------------------------
  static void on_msg(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto* s = static_cast<Shared*>(closure);
    Inbound in{natsMsg_GetSubject(msg) ? natsMsg_GetSubject(msg) : "",
               std::string(natsMsg_GetData(msg) ? natsMsg_GetData(msg) : "",
                           static_cast<std::size_t>(std::max(0, natsMsg_GetDataLength(msg))))};
    natsMsg_Destroy(msg);
    {
      std::lock_guard lk(s->mu);
      ++s->status.received;
    }
    if (s->inflight.fetch_add(1) >= static_cast<int>(s->opts.max_inflight)) {
      s->inflight.fetch_sub(1);
      std::lock_guard lk(s->mu);
      ++s->status.receive_dropped;
      return;
    }
    auto sp = s->shared_from_this();
    boost::asio::post(s->owner, [sp, in = std::move(in)]() mutable {
      sp->inflight.fetch_sub(1);
      if (sp->alive) sp->on_message(std::move(in));
    });
  }
  static void on_disconnected(natsConnection* nc, void* closure) {
    auto* s = static_cast<Shared*>(closure);
    const char* last = nullptr;
    natsConnection_GetLastError(nc, &last);
    s->set_state(LinkState::reconnecting,
                 std::string("lost the NATS server") + (last && *last ? std::string(": ") + last : std::string()) +
                     "; reconnecting every " + std::to_string(s->opts.reconnect_wait / kNsPerMs) + " ms",
                 false, false, true);
  }
  static void on_reconnected(natsConnection*, void* closure) {
    static_cast<Shared*>(closure)->set_state(LinkState::connected, "", true, true);
  }
  static void on_closed(natsConnection* nc, void* closure) {
    auto* s = static_cast<Shared*>(closure);
    const char* last = nullptr;
    natsConnection_GetLastError(nc, &last);
    std::string why = last && *last ? last : "";
    {
      std::lock_guard lk(s->mu);
      if (!s->stop) s->redo = true;
      // "No server available" hides why: the server's own word, if it gave one.
      if (!s->last_error.empty() && why.find(s->last_error) == std::string::npos)
        why = s->last_error + (why.empty() ? "" : " (" + why + ")");
    }
    if (!s->stopping) {
      s->set_state(LinkState::reconnecting, "the server closed the connection" + (why.empty() ? "" : ": " + why) +
                                                hint_for(why) + "; retrying every " +
                                                std::to_string(s->opts.reconnect_wait / kNsPerMs) + " ms");
      s->cv.notify_all();
    }
    s->release_final();
  }
  static std::string hint_for(const std::string& why) {
    if (why.find("uthoriz") != std::string::npos)
      return " (check fleet.token_file / nkey_seed_file against the server's authorization)";
    if (why.find("SSL") != std::string::npos || why.find("TLS") != std::string::npos ||
        why.find("ertificate") != std::string::npos)
      return " (check fleet.tls: the CA, the server name)";
    return "";
  }
  static void on_error(natsConnection*, natsSubscription* sub, natsStatus err, void* closure) {
    auto* s = static_cast<Shared*>(closure);
    if (err == NATS_SLOW_CONSUMER && sub) {
      int64_t dropped = 0;
      natsSubscription_GetDropped(sub, &dropped);
      std::lock_guard lk(s->mu);
      s->status.receive_dropped = std::max<std::uint64_t>(s->status.receive_dropped, static_cast<std::uint64_t>(dropped));
      return;
    }
    std::uint64_t n;
    {
      std::lock_guard lk(s->mu);
      n = ++s->status.errors;
      s->last_error = natsStatus_GetText(err);
    }
    // A node publishing where it may not (a permissions mistake) would say so
    // on every verdict: the first, then every hundredth.
    if (n == 1 || n % 100 == 0) logger()->warn("NATS error ({} so far): {}", n, natsStatus_GetText(err));
  }
  static void on_sub_complete(void* closure) { static_cast<Shared*>(closure)->release_final(); }
  static natsStatus sign(char** custom_err, unsigned char** sig, int* sig_len, const char* nonce, void* closure) {
    (void)custom_err;
    auto* s = static_cast<Shared*>(closure);
    // Read the seed at each connect, so it is not held in memory between them.
    auto seed = read_secret_file(s->opts.nkey_seed_file, "nkey seed file");
    if (!seed) return NATS_ERR;
    return nats_Sign(seed->c_str(), nonce, sig, sig_len);
  }

  // ---- the worker ------------------------------------------------------------
  Status build_options() {
    auto check = [](natsStatus st, const char* what) -> Status {
      if (st == NATS_OK) return ok();
      return make_error(std::string("NATS option ") + what + ": " + nats_error(st), "check the fleet: section");
    };
    if (auto st = check(natsOptions_Create(&nopts), "create"); !st) return st;
    std::vector<const char*> urls;
    for (const auto& u : opts.servers) urls.push_back(u.c_str());
    if (auto st = check(natsOptions_SetServers(nopts, urls.data(), static_cast<int>(urls.size())), "servers"); !st)
      return st;
    if (!opts.name.empty()) natsOptions_SetName(nopts, opts.name.c_str());
    natsOptions_SetTimeout(nopts, opts.connect_timeout / kNsPerMs);
    natsOptions_SetAllowReconnect(nopts, true);
    natsOptions_SetMaxReconnect(nopts, -1);  // forever: a node never gives its fleet up
    natsOptions_SetReconnectWait(nopts, opts.reconnect_wait / kNsPerMs);
    natsOptions_SetReconnectBufSize(nopts, static_cast<int>(opts.reconnect_buffer));
    natsOptions_SetPingInterval(nopts, opts.ping_interval / kNsPerMs);
    natsOptions_SetMaxPingsOut(nopts, 2);
    // A stuck socket fails a publish instead of holding the worker forever.
    natsOptions_SetWriteDeadline(nopts, std::max<int64_t>(opts.connect_timeout / kNsPerMs, 1000));
    // No RetryOnFailedConnect: the worker retries a failed first connect
    // itself, so the reason (refused, authorization, TLS) is the server's own.
    natsOptions_SetDisconnectedCB(nopts, &Shared::on_disconnected, this);
    natsOptions_SetReconnectedCB(nopts, &Shared::on_reconnected, this);
    natsOptions_SetClosedCB(nopts, &Shared::on_closed, this);
    natsOptions_SetErrorHandler(nopts, &Shared::on_error, this);
    if (!token.empty())
      if (auto st = check(natsOptions_SetToken(nopts, token.c_str()), "token"); !st) return st;
    if (!nkey_public.empty())
      if (auto st = check(natsOptions_SetNKey(nopts, nkey_public.c_str(), &Shared::sign, this), "nkey"); !st)
        return st;
    if (opts.tls.enabled) {
      if (auto st = check(natsOptions_SetSecure(nopts, true), "tls"); !st) return st;
      if (!opts.tls.ca_file.empty())
        if (auto st = check(natsOptions_LoadCATrustedCertificates(nopts, opts.tls.ca_file.c_str()), "tls.ca_file"); !st)
          return st;
      if (!opts.tls.cert_file.empty())
        if (auto st = check(natsOptions_LoadCertificatesChain(nopts, opts.tls.cert_file.c_str(),
                                                              opts.tls.key_file.c_str()),
                            "tls.cert_file/key_file");
            !st)
          return st;
      if (!opts.tls.server_name.empty())
        if (auto st = check(natsOptions_SetExpectedHostname(nopts, opts.tls.server_name.c_str()), "tls.server_name");
            !st)
          return st;
    }
    return ok();
  }

  bool wait_or_stop(TimeNs d) {
    std::unique_lock lk(mu);
    return cv.wait_for(lk, std::chrono::nanoseconds(d), [&] { return stop; });
  }

  void connect_until_done() {
    std::uint64_t failures = 0;
    while (true) {
      {
        std::lock_guard lk(mu);
        if (stop) return;
      }
      set_state(LinkState::connecting, "connecting to " + opts.servers.front() +
                                           (opts.servers.size() > 1 ? " (and " + std::to_string(opts.servers.size() - 1) +
                                                                          " more)"
                                                                    : ""));
      natsStatus st = natsConnection_Connect(&conn, nopts);
      if (st == NATS_OK) {
        ++finals;  // its closed callback
        set_state(LinkState::connected, "", true);
        if (!opts.subscribe.empty()) {
          natsStatus ss = natsConnection_Subscribe(&sub, conn, opts.subscribe.c_str(), &Shared::on_msg, this);
          if (ss == NATS_OK) {
            ++finals;
            natsSubscription_SetOnCompleteCB(sub, &Shared::on_sub_complete, this);
            natsSubscription_SetPendingLimits(sub, 65536, 64 << 20);
          } else {
            // Closed already: the closed callback asked for a new connection.
            std::lock_guard lk(mu);
            if (!redo) {
              logger()->error("cannot subscribe to {}: {}", opts.subscribe, nats_error(ss));
              status.reason = "cannot subscribe to " + opts.subscribe + ": " + nats_error(ss);
            }
          }
        }
        return;
      }
      // Not there, or refused (authorization, TLS): a state with its reason, retried.
      conn = nullptr;
      std::string why = nats_error(st);
      std::string hint = hint_for(why);
      set_state(LinkState::reconnecting, "connect to " + opts.servers.front() + " failed: " + why + hint +
                                             "; retrying every " + std::to_string(opts.reconnect_wait / kNsPerMs) +
                                             " ms");
      if (++failures == 1 || failures % 100 == 0)
        logger()->warn("connect failed ({} times): {}{}", failures, why, hint);
      if (wait_or_stop(opts.reconnect_wait)) return;
    }
  }

  void teardown(bool flush) {
    if (!conn) return;
    if (flush) natsConnection_FlushTimeout(conn, 500);
    if (sub) {
      natsSubscription_Unsubscribe(sub);
      natsSubscription_Destroy(sub);
      sub = nullptr;
    }
    natsConnection_Close(conn);
    natsConnection_Destroy(conn);
    conn = nullptr;
  }

  void run() {
    while (true) {
      connect_until_done();
      bool stopped = false;
      while (true) {
        std::pair<std::string, std::string> item;
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return stop || redo || !queue.empty(); });
          if (redo && !stop) break;
          if (queue.empty()) {
            stopped = true;  // stop, and nothing left to send
            break;
          }
          item = std::move(queue.front());
          queue.pop_front();
        }
        if (!conn) {
          std::lock_guard lk(mu);
          ++status.publish_dropped;
          continue;
        }
        natsStatus st = natsConnection_Publish(conn, item.first.c_str(), item.second.data(),
                                               static_cast<int>(item.second.size()));
        std::lock_guard lk(mu);
        if (st == NATS_OK) ++status.published;
        else ++status.publish_dropped;
      }
      teardown(stopped);
      if (stopped) break;
      {
        std::lock_guard lk(mu);
        redo = false;
      }
      if (wait_or_stop(opts.reconnect_wait)) break;
    }
    natsOptions_Destroy(nopts);
    nopts = nullptr;
  }
};

NatsLink::NatsLink(std::shared_ptr<Shared> s) : s_(std::move(s)) {}

Result<std::unique_ptr<NatsLink>> NatsLink::start(boost::asio::any_io_executor owner, NatsLinkOptions opts,
                                                  MessageHandler on_message, StateHandler on_state) {
  if (opts.servers.empty())
    return make_error("fleet: no NATS server configured", "add fleet.servers: [nats://HOST:4222]");
  auto s = std::make_shared<Shared>();
  s->owner = std::move(owner);
  s->on_message = std::move(on_message);
  s->on_state = std::move(on_state);
  if (!opts.token_file.empty()) {
    auto t = read_secret_file(opts.token_file, "NATS token file");
    if (!t) return t.error();
    s->token = *t;
  }
  if (!opts.nkey_seed_file.empty()) {
    auto seed = read_secret_file(opts.nkey_seed_file, "nkey seed file");
    if (!seed) return seed.error();
    auto pub = nkey_user_public_key(*seed);
    if (!pub) return make_error(opts.nkey_seed_file + ": " + pub.error().what, pub.error().hint);
    s->nkey_public = *pub;
  }
  for (const auto& f : {opts.tls.ca_file, opts.tls.cert_file, opts.tls.key_file})
    if (!f.empty() && access(f.c_str(), R_OK) != 0)
      return errno_error("fleet TLS file " + f, errno, "fix the path in fleet.tls");
  s->opts = std::move(opts);
  if (auto st = s->build_options(); !st) {
    if (s->nopts) natsOptions_Destroy(s->nopts);
    return st.error();
  }
  s->self = s;
  s->status.state = LinkState::connecting;
  s->worker = std::thread([raw = s.get()] { raw->run(); });
  return std::unique_ptr<NatsLink>(new NatsLink(std::move(s)));
}

NatsLink::~NatsLink() {
  s_->alive = false;
  s_->stopping = true;
  {
    std::lock_guard lk(s_->mu);
    s_->stop = true;
  }
  s_->cv.notify_all();
  if (s_->worker.joinable()) s_->worker.join();
  // Every connection is destroyed: once its last callbacks ran, let go.
  if (s_->finals.load() == 0) s_->drop_self();
}

void NatsLink::publish(std::string subject, std::string payload) {
  {
    std::lock_guard lk(s_->mu);
    if (s_->stop) return;
    if (s_->queue.size() >= s_->opts.send_queue) {
      s_->queue.pop_front();  // the newest verdict matters most
      ++s_->status.publish_dropped;
    }
    s_->queue.emplace_back(std::move(subject), std::move(payload));
  }
  s_->cv.notify_one();
}

LinkStatus NatsLink::status() const {
  std::lock_guard lk(s_->mu);
  return s_->status;
}

}  // namespace reflex::fleet
