#pragma once
// NatsLink: this node's connection to the fleet's NATS servers (libnats).
//
// The loop never waits for it. libnats runs its own threads; everything that
// may block (connecting, a TLS handshake, a socket write) happens on the
// link's one worker thread, fed by a bounded queue; received messages and
// state changes are handed to the owner's executor with asio::post, so the
// owner's callbacks run on its own thread (the loop's). A lost server is a
// degraded state (reconnecting, with the reason), retried forever every
// reconnect_wait; verdicts published meanwhile wait in libnats's reconnect
// buffer, and what does not fit is dropped and counted.
//
// Credentials: a token or a user nkey seed, each read from a file that only
// its owner may read (mode 0600 or stricter; anything looser is refused, as
// ssh refuses a readable key). TLS when configured or when a server URL is
// tls://.

#include "common/result.h"
#include "fleet/fleet_config.h"
#include "fleet/transport.h"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace reflex::fleet {

struct NatsLinkOptions {
  std::vector<std::string> servers;
  std::string name;             // the client's name, as the server's monitoring shows it
  std::string token_file, nkey_seed_file;
  TlsConfig tls;
  TimeNs connect_timeout = 2 * kNsPerSec;
  TimeNs reconnect_wait = 2 * kNsPerSec;
  TimeNs ping_interval = 10 * kNsPerSec;
  std::size_t reconnect_buffer = 1 << 20;
  std::size_t send_queue = 256;
  std::string subscribe;        // a subject (wildcards allowed) to receive; "" = publish only
  std::size_t max_inflight = 4096;  // received messages posted to the owner and not yet run

  static NatsLinkOptions from(const FleetConfig& cfg, const std::string& node_id);
};

// Reads a secret from a file only its owner can read; the error names the
// file and the fix (chmod 600, the owner, an empty file).
Result<std::string> read_secret_file(const std::string& path, const char* what);

class NatsLink final : public VerdictTransport {
 public:
  using MessageHandler = std::function<void(Inbound)>;
  using StateHandler = std::function<void(const LinkStatus&)>;

  // Checks the options and credentials and starts connecting in the
  // background; returns at once. Errors are configuration errors (a loose
  // secret file, an unreadable seed, no server), not connection failures,
  // which are states.
  static Result<std::unique_ptr<NatsLink>> start(boost::asio::any_io_executor owner, NatsLinkOptions opts,
                                                 MessageHandler on_message, StateHandler on_state = {});
  ~NatsLink() override;  // flushes what is queued (briefly), closes, joins the worker

  void publish(std::string subject, std::string payload) override;
  LinkStatus status() const override;

  struct Shared;

 private:
  explicit NatsLink(std::shared_ptr<Shared> s);
  std::shared_ptr<Shared> s_;
};

}  // namespace reflex::fleet
