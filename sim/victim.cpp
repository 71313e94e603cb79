#include "sim/victim.h"

#include "sim/flood_gen.h"
#include "victim_count.skel.h"
#include "victim_count_kern_user.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <unordered_map>

namespace reflex::sim {

Result<std::unique_ptr<ArrivalCounter>> ArrivalCounter::load() {
  std::unique_ptr<ArrivalCounter> c(new ArrivalCounter());
  c->skel_ = victim_count__open_and_load();
  if (!c->skel_) return errno_error("load the victim's BPF socket filter", errno, "needs CAP_BPF (run as root)");
  return c;
}

ArrivalCounter::~ArrivalCounter() {
  if (skel_) victim_count__destroy(skel_);
}

Status ArrivalCounter::add_class(const Prefix& p, std::uint32_t cls) {
  vc_lpm_key key{};
  key.family = p.family;
  key.prefixlen = 8u + p.len;
  std::memcpy(key.addr, p.addr.data(), p.family == 4 ? 4 : 16);
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.classes), &key, &cls, BPF_ANY) < 0)
    return errno_error("add class prefix " + p.to_string(), errno);
  return ok();
}

Status ArrivalCounter::attach(int socket_fd) const {
  int prog = bpf_program__fd(skel_->progs.victim_count);
  if (setsockopt(socket_fd, SOL_SOCKET, SO_ATTACH_BPF, &prog, sizeof(prog)) < 0)
    return errno_error("attach the arrival counter to the victim's socket", errno);
  return ok();
}

Result<std::vector<ClassCount>> ArrivalCounter::read() const {
  static const int ncpu = libbpf_num_possible_cpus();
  std::vector<vc_counter> per_cpu(static_cast<std::size_t>(ncpu));
  std::vector<ClassCount> out(VC_MAX_CLASSES);
  int fd = bpf_map__fd(skel_->maps.counts);
  for (std::uint32_t k = 0; k < VC_MAX_CLASSES; ++k) {
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) < 0) return errno_error("read arrival counters", errno);
    for (const auto& c : per_cpu) {
      out[k].packets += c.packets;
      out[k].bytes += c.bytes;
    }
  }
  return out;
}

namespace {

Result<Fd> bound_socket(const NetNs& ns, int type, const std::string& addr, std::uint16_t port) {
  auto fd = socket_in(ns, AF_INET, type, 0);
  if (!fd) return fd.error();
  Fd s(*fd);
  int one = 1;
  setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  if (inet_pton(AF_INET, addr.c_str(), &sa.sin_addr) != 1) return make_error("bad IPv4 address " + addr);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) < 0)
    return errno_error("bind " + addr + ":" + std::to_string(port) + " in " + ns.name(), errno);
  return s;
}

}  // namespace

Result<std::unique_ptr<Victim>> Victim::start(const NetNs& ns, const VictimOptions& opts,
                                              const ArrivalCounter& counter) {
  std::unique_ptr<Victim> v(new Victim());
  v->opts_ = opts;
  auto udp = bound_socket(ns, SOCK_DGRAM, opts.addr, kUdpServicePort);
  if (!udp) return udp.error();
  v->udp_ = std::move(*udp);
  setsockopt(v->udp_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &opts.udp_rcvbuf, sizeof(opts.udp_rcvbuf));
  auto tcp = bound_socket(ns, SOCK_STREAM | SOCK_NONBLOCK, opts.addr, kTcpServicePort);
  if (!tcp) return tcp.error();
  v->tcp_listen_ = std::move(*tcp);
  // The filter goes on before listen(): every connection accepted inherits it.
  for (int fd : {v->udp_.get(), v->tcp_listen_.get()})
    if (auto s = counter.attach(fd); !s) return s.error();
  if (::listen(v->tcp_listen_.get(), 128) < 0) return errno_error("listen on the TCP service", errno);
  Victim* self = v.get();
  v->udp_thread_ = std::thread([self] { self->udp_loop(); });
  v->tcp_thread_ = std::thread([self] { self->tcp_loop(); });
  return v;
}

Victim::~Victim() { stop(); }

void Victim::stop() {
  stop_ = true;
  if (udp_thread_.joinable()) udp_thread_.join();
  if (tcp_thread_.joinable()) tcp_thread_.join();
}

void Victim::set_tcp_class(std::uint32_t peer, std::uint32_t cls) {
  tcp_class_by_last_octet_[peer & 0xff].store(cls, std::memory_order_relaxed);
}

void Victim::udp_loop() {
  constexpr unsigned kBatch = 64;
  std::uint8_t bufs[kBatch][64];
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  const auto t0 = std::chrono::steady_clock::now();
  std::uint64_t served = 0;
  const double cap = opts_.udp_capacity_pps;
  while (!stop_.load(std::memory_order_relaxed)) {
    unsigned want = kBatch;
    if (cap > 0) {
      // A finite service: it answers `cap` requests a second; the rest wait
      // in the socket buffer, and what does not fit there is lost.
      double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double allowed = cap * t - static_cast<double>(served);
      if (allowed < 1) {
        long ns = static_cast<long>(std::clamp((1 - allowed) / cap * 1e9, 50e3, 2e6));
        timespec ts{0, ns};
        nanosleep(&ts, nullptr);
        continue;
      }
      want = static_cast<unsigned>(std::min<double>(kBatch, allowed));
    }
    pollfd pfd{udp_.get(), POLLIN, 0};
    if (::poll(&pfd, 1, 50) <= 0) continue;
    for (unsigned i = 0; i < want; ++i) {
      iov[i] = {bufs[i], sizeof(bufs[i])};
      msgs[i] = {};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
    }
    int n = recvmmsg(udp_.get(), msgs, want, MSG_DONTWAIT, nullptr);
    if (n <= 0) continue;
    served += static_cast<unsigned>(n);
    for (int i = 0; i < n; ++i) {
      std::uint32_t cls = 0;
      if (msgs[i].msg_len >= sizeof(PayloadTag)) {
        PayloadTag tag;
        std::memcpy(&tag, bufs[i], sizeof(tag));
        if (ntohl(tag.magic) == kPayloadMagic && ntohl(tag.cls) < kMaxClasses) cls = ntohl(tag.cls);
      }
      udp_served_[cls].fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void Victim::tcp_loop() {
  Fd ep(epoll_create1(EPOLL_CLOEXEC));
  epoll_event ev{EPOLLIN, {.fd = tcp_listen_.get()}};
  epoll_ctl(ep.get(), EPOLL_CTL_ADD, tcp_listen_.get(), &ev);
  std::unordered_map<int, std::pair<Fd, std::uint32_t>> conns;  // fd -> (socket, class)
  std::vector<std::uint8_t> buf(256 * 1024);
  epoll_event events[32];
  while (!stop_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(ep.get(), events, 32, 50);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == tcp_listen_.get()) {
        for (;;) {
          sockaddr_in peer{};
          socklen_t len = sizeof(peer);
          int c = accept4(fd, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break;
          std::uint32_t cls = tcp_class_by_last_octet_[ntohl(peer.sin_addr.s_addr) & 0xff].load();
          epoll_event cev{EPOLLIN, {.fd = c}};
          epoll_ctl(ep.get(), EPOLL_CTL_ADD, c, &cev);
          conns.emplace(c, std::make_pair(Fd(c), cls));
        }
        continue;
      }
      auto it = conns.find(fd);
      if (it == conns.end()) continue;
      for (;;) {
        ssize_t r = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
        if (r > 0) {
          tcp_bytes_[it->second.second].fetch_add(static_cast<std::uint64_t>(r), std::memory_order_relaxed);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
          epoll_ctl(ep.get(), EPOLL_CTL_DEL, fd, nullptr);
          conns.erase(it);
        }
        break;
      }
    }
  }
}

}  // namespace reflex::sim
