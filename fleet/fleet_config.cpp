#include "fleet/fleet_config.h"

#include "fleet/verdict.h"

#include <unistd.h>

#include <climits>

namespace reflex::fleet {
namespace {

using plan::YamlReader;

template <class T, class U>
void set(const std::optional<T>& v, U& dst) {
  if (v) dst = static_cast<U>(*v);
}

bool valid_subject_prefix(std::string_view s) {
  if (s.empty() || s.size() > 64 || s.front() == '.' || s.back() == '.') return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '.' && s[i + 1] == '.') return false;
    if (!(c == '.' || c == '-' || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

bool valid_server_url(std::string_view s) {
  for (std::string_view scheme : {"nats://", "tls://"})
    if (s.size() > scheme.size() && s.substr(0, scheme.size()) == scheme) return true;
  return false;
}

void parse_tls(const YAML::Node& n, YamlReader& r, TlsConfig& t) {
  if (!r.expect_map(n, "fleet.tls")) return;
  r.check_keys(n, "fleet.tls", {"enabled", "ca_file", "cert_file", "key_file", "server_name"});
  t.enabled = true;  // writing a tls: section means it
  if (auto v = n["enabled"]) set(r.boolean(v, "fleet.tls.enabled"), t.enabled);
  if (auto v = n["ca_file"]) set(r.string(v, "fleet.tls.ca_file"), t.ca_file);
  if (auto v = n["cert_file"]) set(r.string(v, "fleet.tls.cert_file"), t.cert_file);
  if (auto v = n["key_file"]) set(r.string(v, "fleet.tls.key_file"), t.key_file);
  if (auto v = n["server_name"]) set(r.string(v, "fleet.tls.server_name"), t.server_name);
  if (t.cert_file.empty() != t.key_file.empty())
    r.error(n, "fleet.tls", "cert_file and key_file go together", "give both (a client certificate) or neither");
}

void parse_trust(const YAML::Node& n, YamlReader& r, TrustConfig& t) {
  if (!r.expect_map(n, "fleet.trust")) return;
  r.check_keys(n, "fleet.trust", {"rate_per_minute", "burst", "max_ttl", "max_age", "max_entries", "peers"});
  if (auto v = n["rate_per_minute"])
    set(r.number(v, "fleet.trust.rate_per_minute", 0.01, 6000, "verdicts per minute"), t.rate_per_minute);
  if (auto v = n["burst"]) set(r.integer(v, "fleet.trust.burst", 1, 10000, "a number of verdicts"), t.burst);
  if (auto v = n["max_ttl"]) {
    if (auto d = r.duration(v, "fleet.trust.max_ttl")) {
      if (*d < kNsPerSec) r.error(v, "fleet.trust.max_ttl", "expected at least 1s, got " + YamlReader::describe(v));
      else t.max_ttl = *d;
    }
  }
  if (auto v = n["max_age"]) {
    if (auto d = r.duration(v, "fleet.trust.max_age")) {
      if (*d < kNsPerSec) r.error(v, "fleet.trust.max_age", "expected at least 1s, got " + YamlReader::describe(v));
      else t.max_age = *d;
    }
  }
  if (auto v = n["max_entries"])
    set(r.integer(v, "fleet.trust.max_entries", 16, 1'000'000, "a number of verdicts"), t.max_entries);
  if (auto v = n["peers"]) {
    if (auto list = r.string_list(v, "fleet.trust.peers")) {
      for (const auto& id : *list)
        if (!valid_node_id(id))
          r.error(v, "fleet.trust.peers", "\"" + id + "\" is not a node id", "letters, digits, '-' and '_', at most 64");
      t.peers = *list;
    }
  }
}

}  // namespace

void parse_fleet_config(const YAML::Node& n, YamlReader& r, FleetConfig& c) {
  if (n.IsNull()) return;
  if (!r.expect_map(n, "fleet")) return;
  r.check_keys(n, "fleet",
               {"enabled", "node_id", "servers", "subject_prefix", "token_file", "nkey_seed_file", "tls", "publish",
                "receive", "connect_timeout", "reconnect_wait", "ping_interval", "reconnect_buffer", "send_queue",
                "trust"});
  // A fleet: section with servers is meant to be on unless it says otherwise.
  c.enabled = true;
  if (auto v = n["enabled"]) set(r.boolean(v, "fleet.enabled"), c.enabled);
  if (auto v = n["node_id"]) {
    if (auto id = r.string(v, "fleet.node_id")) {
      if (!valid_node_id(*id))
        r.error(v, "fleet.node_id", "\"" + *id + "\" is not a node id",
                "letters, digits, '-' and '_', at most 64: it is one token of the NATS subject");
      else c.node_id = *id;
    }
  }
  if (auto v = n["servers"]) {
    if (auto list = r.string_list(v, "fleet.servers")) {
      for (const auto& s : *list)
        if (!valid_server_url(s))
          r.error(v, "fleet.servers", "\"" + s + "\" is not a NATS server URL", "write nats://HOST:PORT or tls://HOST:PORT");
      c.servers = *list;
    }
  }
  if (auto v = n["subject_prefix"]) {
    if (auto p = r.string(v, "fleet.subject_prefix")) {
      if (!valid_subject_prefix(*p))
        r.error(v, "fleet.subject_prefix", "\"" + *p + "\" is not a subject prefix",
                "dot-separated tokens of letters, digits, '-' and '_', e.g. `reflex` or `mesh1.reflex`");
      else c.subject_prefix = *p;
    }
  }
  if (auto v = n["token_file"]) set(r.string(v, "fleet.token_file"), c.token_file);
  if (auto v = n["nkey_seed_file"]) set(r.string(v, "fleet.nkey_seed_file"), c.nkey_seed_file);
  if (!c.token_file.empty() && !c.nkey_seed_file.empty())
    r.error(n, "fleet", "token_file and nkey_seed_file are exclusive", "a node authenticates one way; keep one");
  if (auto v = n["tls"]) parse_tls(v, r, c.tls);
  if (auto v = n["publish"]) set(r.boolean(v, "fleet.publish"), c.publish);
  if (auto v = n["receive"]) set(r.boolean(v, "fleet.receive"), c.receive);
  auto dur = [&](const char* key, TimeNs& dst, TimeNs min, TimeNs max) {
    auto v = n[key];
    if (!v) return;
    const std::string field = std::string("fleet.") + key;
    if (auto d = r.duration(v, field)) {
      if (*d < min || *d > max) r.error(v, field, "out of range, got " + YamlReader::describe(v));
      else dst = *d;
    }
  };
  dur("connect_timeout", c.connect_timeout, 100 * kNsPerMs, 60 * kNsPerSec);
  dur("reconnect_wait", c.reconnect_wait, 100 * kNsPerMs, 600 * kNsPerSec);
  dur("ping_interval", c.ping_interval, kNsPerSec, 600 * kNsPerSec);
  if (auto v = n["reconnect_buffer"]) {
    if (auto b = r.byte_size(v, "fleet.reconnect_buffer")) {
      if (*b < 4096 || *b > (1u << 30)) r.error(v, "fleet.reconnect_buffer", "expected 4KiB to 1GiB");
      else c.reconnect_buffer = *b;
    }
  }
  if (auto v = n["send_queue"]) set(r.integer(v, "fleet.send_queue", 1, 100000, "a number of verdicts"), c.send_queue);
  if (auto v = n["trust"]) parse_trust(v, r, c.trust);
  if (c.enabled && c.servers.empty())
    r.error(n, "fleet.servers", "an enabled fleet needs at least one server",
            "add `servers: [nats://HOST:4222]`, or `enabled: false` for an autonomous node");
  for (const auto& s : c.servers)
    if (s.rfind("tls://", 0) == 0) c.tls.enabled = true;
}

bool FleetConfigReport::ok() const {
  for (const auto& d : diagnostics)
    if (d.level == plan::Diagnostic::Level::error) return false;
  return true;
}

FleetConfigReport parse_fleet_config_text(const std::string& text, const std::string& name) {
  FleetConfigReport rep;
  auto docs = plan::parse_yaml_documents(text, name, rep.diagnostics);
  if (docs.empty()) return rep;
  YamlReader r(name, rep.diagnostics);
  parse_fleet_config(docs.front(), r, rep.config);
  return rep;
}

std::string effective_node_id(const FleetConfig& cfg) {
  if (!cfg.node_id.empty()) return cfg.node_id;
  char host[HOST_NAME_MAX + 1] = {};
  if (gethostname(host, sizeof(host) - 1) != 0 || !host[0]) return "node";
  std::string id(host);
  if (id.size() > kMaxNodeIdLen) id.resize(kMaxNodeIdLen);
  for (char& ch : id)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
      ch = '-';
  return id;
}

}  // namespace reflex::fleet
