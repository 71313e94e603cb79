#include "sim/latency_probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstring>

namespace reflex::sim {

namespace {
constexpr std::uint16_t kEchoPort = 5307;

Result<Fd> udp_bound(const NetNs& ns, const std::string& addr, std::uint16_t port) {
  auto fd = socket_in(ns, AF_INET, SOCK_DGRAM, 0);
  if (!fd) return fd.error();
  Fd s(*fd);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, addr.c_str(), &sa.sin_addr);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0)
    return errno_error("bind " + addr + " in " + ns.name(), errno);
  return s;
}
}  // namespace

Result<std::unique_ptr<LatencyProbe>> LatencyProbe::start(const NetNs& node, const std::string& node_addr,
                                                          const NetNs& clients, const std::string& echo_addr,
                                                          std::chrono::steady_clock::time_point t0,
                                                          TimeNs interval_ns) {
  std::unique_ptr<LatencyProbe> p(new LatencyProbe());
  auto echo = udp_bound(clients, echo_addr, kEchoPort);
  if (!echo) return echo.error();
  auto probe = udp_bound(node, node_addr, 0);
  if (!probe) return probe.error();
  p->echo_ = std::move(*echo);
  p->probe_ = std::move(*probe);
  p->t0_ = t0;
  p->interval_ns_ = interval_ns;
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(kEchoPort);
  inet_pton(AF_INET, echo_addr.c_str(), &dst.sin_addr);
  if (::connect(p->probe_.get(), reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0)
    return errno_error("connect the latency probe", errno);
  LatencyProbe* self = p.get();
  p->responder_ = std::thread([self] {
    std::uint8_t buf[64];
    while (!self->stop_.load()) {
      pollfd pfd{self->echo_.get(), POLLIN, 0};
      if (::poll(&pfd, 1, 50) <= 0) continue;
      sockaddr_in from{};
      socklen_t len = sizeof(from);
      ssize_t n = ::recvfrom(self->echo_.get(), buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
      if (n > 0) ::sendto(self->echo_.get(), buf, static_cast<std::size_t>(n), 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  });
  p->prober_ = std::thread([self] {
    auto now_ns = [self] {
      return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - self->t0_).count();
    };
    TimeNs next = now_ns();
    while (!self->stop_.load()) {
      TimeNs t = now_ns();
      if (t >= next) {
        ::send(self->probe_.get(), &t, sizeof(t), MSG_DONTWAIT);
        next += self->interval_ns_;
      }
      pollfd pfd{self->probe_.get(), POLLIN, 0};
      int wait_ms = static_cast<int>(std::max<TimeNs>(0, (next - now_ns()) / kNsPerMs));
      if (::poll(&pfd, 1, wait_ms) <= 0) continue;
      TimeNs sent = 0;
      while (::recv(self->probe_.get(), &sent, sizeof(sent), MSG_DONTWAIT) == sizeof(sent)) {
        std::lock_guard lk(self->mu_);
        self->samples_.push_back({sent, now_ns() - sent});
      }
    }
  });
  return p;
}

LatencyProbe::~LatencyProbe() { stop(); }

void LatencyProbe::stop() {
  stop_ = true;
  if (prober_.joinable()) prober_.join();
  if (responder_.joinable()) responder_.join();
}

std::vector<RttSample> LatencyProbe::samples() const {
  std::lock_guard lk(mu_);
  return samples_;
}

}  // namespace reflex::sim
