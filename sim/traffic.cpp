#include "sim/traffic.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

namespace reflex::sim {
namespace {

Result<sockaddr_storage> make_addr(const std::string& addr, std::uint16_t port, socklen_t* len) {
  sockaddr_storage ss{};
  if (addr.find(':') != std::string::npos) {
    auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
    s6->sin6_family = AF_INET6;
    s6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, addr.c_str(), &s6->sin6_addr) != 1) return make_error("bad IPv6 address " + addr);
    *len = sizeof(sockaddr_in6);
  } else {
    auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
    s4->sin_family = AF_INET;
    s4->sin_port = htons(port);
    if (inet_pton(AF_INET, addr.c_str(), &s4->sin_addr) != 1) return make_error("bad IPv4 address " + addr);
    *len = sizeof(sockaddr_in);
  }
  return ss;
}

std::string addr_string(const sockaddr_storage& ss) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET)
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof(buf));
  else
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof(buf));
  return buf;
}

}  // namespace

Result<UdpPeer> UdpPeer::open(const NetNs& ns, const std::string& addr, std::uint16_t port) {
  socklen_t len = 0;
  auto sa = make_addr(addr, port, &len);
  if (!sa) return sa.error();
  auto fd = socket_in(ns, sa->ss_family, SOCK_DGRAM, 0);
  if (!fd) return fd.error();
  UdpPeer p;
  p.fd_ = Fd(*fd);
  p.family_ = sa->ss_family;
  int big = 8 << 20;
  setsockopt(*fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
  setsockopt(*fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
  if (p.family_ == AF_INET6) {
    int one = 1;  // addresses on a fresh interface are usable before DAD ends
    setsockopt(*fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
  }
  if (::bind(*fd, reinterpret_cast<sockaddr*>(&*sa), len) < 0)
    return errno_error("bind UDP " + addr + ":" + std::to_string(port) + " in " + ns.name(), errno);
  sockaddr_storage bound{};
  socklen_t blen = sizeof(bound);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &blen);
  p.port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                              : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  return p;
}

Status UdpPeer::send_seq(const std::string& dst, std::uint16_t port, std::uint32_t seq, std::size_t size) {
  auto n = send_many(dst, port, seq, 1, size);
  if (!n) return n.error();
  if (*n != 1) return make_error("UDP send to " + dst + " was not taken by the kernel");
  return ok();
}

Result<std::size_t> UdpPeer::send_many(const std::string& dst, std::uint16_t port, std::uint32_t first,
                                       std::size_t n, std::size_t size) {
  socklen_t len = 0;
  auto sa = make_addr(dst, port, &len);
  if (!sa) return sa.error();
  std::vector<std::uint8_t> buf(std::max<std::size_t>(size, 4), 0xab);
  std::size_t sent = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::uint32_t seq = htonl(first + static_cast<std::uint32_t>(i));
    std::memcpy(buf.data(), &seq, 4);
    ssize_t r = ::sendto(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&*sa), len);
    if (r < 0) {
      if (errno == ENOBUFS || errno == EAGAIN) continue;  // a full qdisc drops it: like the wire
      return errno_error("UDP send to " + dst, errno);
    }
    ++sent;
  }
  return sent;
}

std::size_t UdpPeer::receive(std::size_t want, std::chrono::milliseconds quiet, const OnDatagram& on) {
  std::size_t got = 0;
  std::uint8_t buf[2048];
  while (got < want) {
    pollfd pfd{fd_.get(), POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(quiet.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (;;) {
      sockaddr_storage from{};
      socklen_t flen = sizeof(from);
      ssize_t n = ::recvfrom(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &flen);
      if (n < 0) break;
      ++got;
      if (on && n >= 4) {
        std::uint32_t seq;
        std::memcpy(&seq, buf, 4);
        on(ntohl(seq), addr_string(from));
      }
    }
  }
  return got;
}

Status tcp_exchange(const NetNs& a, const std::string& a_addr, const NetNs& b, const std::string& b_addr,
                    std::uint16_t port, std::size_t bytes, std::chrono::milliseconds timeout) {
  socklen_t blen = 0, alen = 0;
  auto bsa = make_addr(b_addr, port, &blen);
  if (!bsa) return bsa.error();
  auto asa = make_addr(a_addr, 0, &alen);
  if (!asa) return asa.error();
  auto lfd = socket_in(b, bsa->ss_family, SOCK_STREAM, 0);
  if (!lfd) return lfd.error();
  Fd listener(*lfd);
  int one = 1;
  setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(listener.get(), reinterpret_cast<sockaddr*>(&*bsa), blen) < 0 || ::listen(listener.get(), 4) < 0)
    return errno_error("TCP listen on " + b_addr, errno);
  auto cfd = socket_in(a, asa->ss_family, SOCK_STREAM, 0);
  if (!cfd) return cfd.error();
  Fd client(*cfd);
  if (::bind(client.get(), reinterpret_cast<sockaddr*>(&*asa), alen) < 0)
    return errno_error("TCP bind " + a_addr, errno);
  int ms = static_cast<int>(timeout.count());
  timeval tv{ms / 1000, (ms % 1000) * 1000};
  setsockopt(client.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(client.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::connect(client.get(), reinterpret_cast<sockaddr*>(&*bsa), blen) < 0)
    return errno_error("TCP connect " + a_addr + " -> " + b_addr, errno);
  pollfd pfd{listener.get(), POLLIN, 0};
  if (::poll(&pfd, 1, ms) <= 0) return make_error("TCP accept on " + b_addr + " timed out");
  Fd server(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!server.valid()) return errno_error("TCP accept", errno);
  setsockopt(server.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  std::vector<std::uint8_t> out(bytes, 0x5a), in(bytes);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < out.size()) {
      ssize_t n = ::send(client.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
  });
  std::size_t got = 0;
  while (got < bytes) {
    ssize_t n = ::recv(server.get(), in.data() + got, bytes - got, 0);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::shutdown(client.get(), SHUT_RDWR);
  writer.join();
  if (got != bytes)
    return make_error("TCP " + a_addr + " -> " + b_addr + ": " + std::to_string(got) + " of " + std::to_string(bytes) +
                      " bytes arrived");
  return ok();
}

}  // namespace reflex::sim
