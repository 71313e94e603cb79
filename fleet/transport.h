#pragma once
// What a fleet node needs of its message bus: publish a payload on a subject
// without waiting, and say how the link is. NatsLink (fleet/nats_link.h) is
// the real one; the fleet simulator's bus is another. Messages received are
// handed to the owner's callback on the owner's thread (the loop's), as
// Inbound values.

#include <cstdint>
#include <string>
#include <string_view>

namespace reflex::fleet {

enum class LinkState { disabled, connecting, connected, reconnecting, closed };
constexpr std::string_view to_string(LinkState s) {
  switch (s) {
    case LinkState::disabled: return "disabled";
    case LinkState::connecting: return "connecting";
    case LinkState::connected: return "connected";
    case LinkState::reconnecting: return "reconnecting";
    case LinkState::closed: return "closed";
  }
  return "unknown";
}
inline constexpr LinkState kAllLinkStates[] = {LinkState::disabled, LinkState::connecting, LinkState::connected,
                                               LinkState::reconnecting, LinkState::closed};

struct LinkStatus {
  LinkState state = LinkState::disabled;
  std::string reason;        // why not connected, with the fix
  std::string server;        // the server connected to ("" when none)
  std::uint64_t connects = 0, disconnects = 0, reconnects = 0;
  std::uint64_t published = 0;      // handed to the server (or its reconnect buffer)
  std::uint64_t publish_dropped = 0;  // queue full, or the client refused it
  std::uint64_t received = 0;
  std::uint64_t receive_dropped = 0;  // the loop was too far behind, or the server's slow-consumer drops
  std::uint64_t errors = 0;           // errors the server reported (e.g. a publish it does not permit)
  bool degraded() const { return state != LinkState::connected && state != LinkState::disabled; }
};

struct Inbound {
  std::string subject;
  std::string payload;
};

class VerdictTransport {
 public:
  virtual ~VerdictTransport() = default;
  // Never blocks: queues, and drops (counting it) when it cannot.
  virtual void publish(std::string subject, std::string payload) = 0;
  virtual LinkStatus status() const = 0;
};

}  // namespace reflex::fleet
