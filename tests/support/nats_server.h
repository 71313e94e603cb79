#pragma once
// A real nats-server (Debian's nats-server) started by a test on loopback,
// on a port the server picks, with the test's own configuration (tokens,
// nkey users and their permissions, TLS). RAII: the process and its folder
// go when the object does, also when the test fails.

#include <sys/types.h>

#include <string>

namespace reflex::testing {

// Empty when nats-server can be run here; else why not.
std::string nats_server_unavailable_reason();

class NatsServer {
 public:
  // `config`: the body of a nats-server config file, without `listen` (the
  // fixture adds it); may be empty (no authorization).
  explicit NatsServer(std::string config = {});
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  // Empty on success; else what went wrong (with the server's log).
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  const std::string& dir() const { return dir_; }

  // Stops the server (SIGTERM, then waits) and starts it again on the same
  // port: for reconnect tests. Returns false with error() set on failure.
  void stop();
  bool restart();
  bool running() const { return pid_ > 0; }
  std::string log() const;

 private:
  bool launch(int port);  // port 0: let the server pick (-1)

  std::string config_, dir_, error_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace reflex::testing
