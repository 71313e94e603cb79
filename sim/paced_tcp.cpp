#include "sim/paced_tcp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace reflex::sim {

Result<std::unique_ptr<PacedTcp>> PacedTcp::create(const NetNs& clients, std::string dst_addr, std::uint16_t port) {
  std::unique_ptr<PacedTcp> p(new PacedTcp(clients));
  p->dst_ = std::move(dst_addr);
  p->port_ = port;
  return p;
}

PacedTcp::~PacedTcp() { stop(); }

std::size_t PacedTcp::add(PacedGroup g) {
  auto grp = std::make_unique<Group>();
  grp->conns.resize(g.connections);
  grp->spec = std::move(g);
  groups_.push_back(std::move(grp));
  return groups_.size() - 1;
}

void PacedTcp::start(std::chrono::steady_clock::time_point t0) {
  t0_ = t0;
  thread_ = std::thread([this] { run(); });
}

void PacedTcp::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  for (auto& g : groups_)
    for (auto& c : g->conns) c.fd = Fd();
}

void PacedTcp::open_conn(Group& g, Conn& c) {
  auto fd = socket_in(ns_, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (!fd) {
    g.failures.fetch_add(1);
    return;
  }
  c.fd = Fd(*fd);
  sockaddr_in src{}, dst{};
  src.sin_family = dst.sin_family = AF_INET;
  inet_pton(AF_INET, g.spec.from_addr.c_str(), &src.sin_addr);
  inet_pton(AF_INET, dst_.c_str(), &dst.sin_addr);
  dst.sin_port = htons(port_);
  if (::bind(c.fd.get(), reinterpret_cast<sockaddr*>(&src), sizeof(src)) < 0 ||
      (::connect(c.fd.get(), reinterpret_cast<sockaddr*>(&dst), sizeof(dst)) < 0 && errno != EINPROGRESS)) {
    g.failures.fetch_add(1);
    c.fd = Fd();
    return;
  }
  c.connected = false;
}

void PacedTcp::run() {
  std::vector<std::uint8_t> chunk(64 * 1024, 0x5a);
  while (!stop_.load(std::memory_order_relaxed)) {
    TimeNs now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_).count();
    for (auto& gp : groups_) {
      Group& g = *gp;
      bool live = now >= g.spec.from_ns && now < g.spec.until_ns;
      double per_conn_Bps = static_cast<double>(g.spec.rate_bps) / 8.0 / std::max<std::uint32_t>(1, g.spec.connections);
      for (auto& c : g.conns) {
        if (!live) {
          if (c.fd.valid()) c.fd = Fd();
          continue;
        }
        if (!c.fd.valid()) {
          open_conn(g, c);
          continue;
        }
        if (!c.connected) {
          pollfd pfd{c.fd.get(), POLLOUT, 0};
          if (::poll(&pfd, 1, 0) <= 0) continue;
          int err = 0;
          socklen_t len = sizeof(err);
          getsockopt(c.fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
          if (err) {
            g.failures.fetch_add(1);
            c.fd = Fd();
            continue;
          }
          c.connected = true;
        }
        double due = per_conn_Bps * static_cast<double>(now - g.spec.from_ns) / 1e9;
        if (due <= static_cast<double>(c.written)) continue;
        std::size_t want = std::min<std::size_t>(chunk.size(), static_cast<std::size_t>(due - static_cast<double>(c.written)));
        if (want == 0) continue;
        ssize_t r = ::send(c.fd.get(), chunk.data(), want, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (r > 0) {
          c.written += static_cast<std::uint64_t>(r);
          g.written.fetch_add(static_cast<std::uint64_t>(r), std::memory_order_relaxed);
        } else if (r < 0 && errno != EAGAIN && errno != EINTR) {
          g.failures.fetch_add(1);  // reset: reconnect on the next pass, and pace from where it was
          c.fd = Fd();
        }
      }
    }
    timespec ts{0, 1'000'000};
    nanosleep(&ts, nullptr);
  }
}

}  // namespace reflex::sim
