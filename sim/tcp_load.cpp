#include "sim/tcp_load.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>
#include <vector>

namespace reflex::sim {
namespace {

Result<sockaddr_in> v4(const std::string& addr, std::uint16_t port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) return make_error("bad IPv4 address " + addr);
  return sa;
}

}  // namespace

Result<std::unique_ptr<TcpLoad>> TcpLoad::start(const NetNs& a, const std::string& a_addr, const NetNs& b,
                                                const std::string& b_addr, std::uint16_t port,
                                                const std::string& congestion, std::uint64_t rate_bps) {
  auto bsa = v4(b_addr, port);
  if (!bsa) return bsa.error();
  auto asa = v4(a_addr, 0);
  if (!asa) return asa.error();
  auto lfd = socket_in(b, AF_INET, SOCK_STREAM, 0);
  if (!lfd) return lfd.error();
  Fd listener(*lfd);
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&*bsa), sizeof(*bsa)) < 0 ||
      ::listen(listener.get(), 1) < 0)
    return errno_error("TCP listen on " + b_addr, errno);
  auto cfd = socket_in(a, AF_INET, SOCK_STREAM, 0);
  if (!cfd) return cfd.error();
  std::unique_ptr<TcpLoad> t(new TcpLoad());
  t->client_ = Fd(*cfd);
  if (!congestion.empty()) {
    // reno is always built in; it is loss-based like cubic, so it fills buffers too.
    bool set = false;
    for (const std::string& cc : {congestion, std::string("reno")})
      if (setsockopt(t->client_.get(), IPPROTO_TCP, TCP_CONGESTION, cc.data(),
                     static_cast<socklen_t>(cc.size())) == 0) {
        set = true;
        break;
      }
    if (!set)
      return errno_error("TCP congestion control " + congestion, errno,
                         "see net.ipv4.tcp_available_congestion_control");
  }
  if (::bind(t->client_.get(), reinterpret_cast<sockaddr*>(&*asa), sizeof(*asa)) < 0)
    return errno_error("TCP bind " + a_addr, errno);
  if (::connect(t->client_.get(), reinterpret_cast<sockaddr*>(&*bsa), sizeof(*bsa)) < 0)
    return errno_error("TCP connect " + a_addr + " -> " + b_addr, errno);
  pollfd pfd{listener.get(), POLLIN, 0};
  if (::poll(&pfd, 1, 3000) <= 0) return make_error("TCP accept on " + b_addr + " timed out");
  t->server_ = Fd(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!t->server_.valid()) return errno_error("TCP accept", errno);

  // Bounded blocking calls, so stop() never waits on a wedged path for long.
  timeval tv{0, 200 * 1000};
  setsockopt(t->client_.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(t->server_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  TcpLoad* self = t.get();
  if (rate_bps > 0) {
    int one = 1;
    setsockopt(t->client_.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    static constexpr auto kEvery = std::chrono::milliseconds(2);
    const std::size_t chunk = std::max<std::size_t>(1, static_cast<std::size_t>(rate_bps / 8 / 500));
    t->sender_ = std::thread([self, chunk] {
      std::vector<std::uint8_t> buf(chunk, 0x5a);
      auto next = std::chrono::steady_clock::now();
      while (!self->stop_.load(std::memory_order_relaxed)) {
        ::send(self->client_.get(), buf.data(), buf.size(), MSG_NOSIGNAL);
        next += kEvery;
        std::this_thread::sleep_until(next);  // pacing, not synchronisation
      }
    });
    t->receiver_ = std::thread([self] {
      std::vector<std::uint8_t> buf(64 * 1024);
      int one = 1;
      while (!self->stop_.load(std::memory_order_relaxed)) {
        ssize_t n = ::recv(self->server_.get(), buf.data(), buf.size(), 0);
        // Quick ACKs: a delayed ACK would add up to 40 ms to every sample.
        setsockopt(self->server_.get(), IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
        if (n > 0)
          self->received_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
        else if (n == 0 || (errno != EAGAIN && errno != EINTR))
          break;
      }
    });
    return t;
  }
  t->sender_ = std::thread([self] {
    std::vector<std::uint8_t> buf(64 * 1024, 0x5a);
    while (!self->stop_.load(std::memory_order_relaxed)) {
      ssize_t n = ::send(self->client_.get(), buf.data(), buf.size(), MSG_NOSIGNAL);
      if (n < 0 && errno != EAGAIN && errno != EINTR) break;
    }
  });
  t->receiver_ = std::thread([self] {
    std::vector<std::uint8_t> buf(256 * 1024);
    while (!self->stop_.load(std::memory_order_relaxed)) {
      ssize_t n = ::recv(self->server_.get(), buf.data(), buf.size(), 0);
      if (n > 0)
        self->received_.fetch_add(static_cast<std::uint64_t>(n), std::memory_order_relaxed);
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        break;
    }
  });
  return t;
}

void TcpLoad::stop() {
  stop_.store(true);
  if (sender_.joinable()) sender_.join();
  if (receiver_.joinable()) receiver_.join();
  client_ = Fd();
  server_ = Fd();
}

TcpLoad::~TcpLoad() { stop(); }

}  // namespace reflex::sim
