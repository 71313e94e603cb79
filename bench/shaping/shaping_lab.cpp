#include "bench/shaping/shaping_lab.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <cerrno>
#include <cstring>

namespace reflex::bench::shaping {

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000ll + ts.tv_nsec;
}

Result<std::unique_ptr<Lab>> Lab::create() {
  auto a = sim::NetNs::create(sim::unique_name("rfxsha"));
  if (!a) return a.error();
  auto b = sim::NetNs::create(sim::unique_name("rfxshb"));
  if (!b) return b.error();
  auto lab = std::unique_ptr<Lab>(
      new Lab{std::move(*a), std::move(*b), sim::unique_name("rfsa"), sim::unique_name("rfsb")});
  if (auto s = sim::make_veth(lab->a, lab->b,
                              {lab->a_if, lab->b_if, lab->a_addr + "/24", lab->b_addr + "/24", {}});
      !s)
    return s.error();
  if (auto s = sim::add_address(lab->b, lab->b_if, lab->prefix_addr + "/24"); !s) return s.error();
  if (auto s = lab->a.ip({"route", "add", lab->prefix, "dev", lab->a_if}); !s) return s.error();
  // b answers ARP for its second subnet on the same link.
  if (auto s = lab->b.ip({"route", "replace", lab->prefix, "dev", lab->b_if, "src", lab->prefix_addr}); !s)
    return s.error();
  return lab;
}

Status tc(const sim::NetNs& ns, const std::vector<std::string>& args) {
  std::vector<std::string> argv{"tc", "-n", ns.name()};
  argv.insert(argv.end(), args.begin(), args.end());
  if (auto r = sim::run_command(argv); !r) return r.error();
  return ok();
}

Result<std::unique_ptr<UdpFlow>> UdpFlow::start(const Lab& lab, const std::string& dst,
                                                std::uint64_t offered_bps, std::size_t payload,
                                                bool keep_arrivals) {
  std::unique_ptr<UdpFlow> f(new UdpFlow());
  f->payload_ = std::max<std::size_t>(payload, 8);
  f->offered_bps_ = offered_bps;
  f->keep_ = keep_arrivals;
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(5201);
  if (inet_pton(AF_INET, dst.c_str(), &to.sin_addr) != 1) return make_error("bad IPv4 address " + dst);
  auto rx = sim::socket_in(lab.b, AF_INET, SOCK_DGRAM, 0);
  if (!rx) return rx.error();
  f->rx_ = Fd(*rx);
  int big = 32 << 20;
  setsockopt(f->rx_.get(), SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
  timeval tv{0, 50 * 1000};
  setsockopt(f->rx_.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (::bind(f->rx_.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
    return errno_error("bind UDP " + dst + ":5201 in " + lab.b.name(), errno);
  auto tx = sim::socket_in(lab.a, AF_INET, SOCK_DGRAM, 0);
  if (!tx) return tx.error();
  f->tx_ = Fd(*tx);
  // Datagrams held in a queue count against the sender's socket buffer: with
  // the default one the sender blocks once a few hundred KB are queued, and a
  // sender the host does not schedule for a while lets the shaped queue run
  // dry. Larger than any leaf queue, the excess is the qdisc's to drop.
  setsockopt(f->tx_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
  if (::connect(f->tx_.get(), reinterpret_cast<sockaddr*>(&to), sizeof(to)) < 0)
    return errno_error("connect UDP to " + dst, errno);

  UdpFlow* self = f.get();
  f->rx_thread_ = std::thread([self] {
    std::vector<char> buf(65536);
    while (!self->stop_rx_.load(std::memory_order_relaxed)) {
      ssize_t n = ::recv(self->rx_.get(), buf.data(), buf.size(), 0);
      if (n <= 0) continue;
      std::int64_t t = now_ns();
      self->received_.fetch_add(1, std::memory_order_relaxed);
      self->last_rx_ns_.store(t, std::memory_order_relaxed);
      if (self->keep_) {
        std::lock_guard lk(self->mu_);
        self->arrivals_.push_back(t);
      }
    }
  });
  f->tx_thread_ = std::thread([self] {
    // Paced by a deadline every millisecond: each wake-up sends what the
    // offered rate owes since the start, so a late wake-up does not lower the rate.
    std::vector<char> buf(self->payload_, 0x5a);
    const double per_ns = static_cast<double>(self->offered_bps_) / 8.0 /
                          static_cast<double>(self->payload_ + kUdpOverhead) / 1e9;
    const std::int64_t start = now_ns();
    timespec next{};
    clock_gettime(CLOCK_MONOTONIC, &next);
    std::uint32_t seq = 0;
    while (!self->stop_tx_.load(std::memory_order_relaxed)) {
      auto due = static_cast<std::uint64_t>(static_cast<double>(now_ns() - start) * per_ns);
      while (self->sent_.load(std::memory_order_relaxed) < due) {
        std::memcpy(buf.data(), &seq, sizeof seq);
        if (::send(self->tx_.get(), buf.data(), buf.size(), 0) < 0) {
          if (errno == ENOBUFS || errno == EAGAIN)
            continue;  // the socket buffer: try again, nothing was sent
          break;
        }
        ++seq;
        self->sent_.fetch_add(1, std::memory_order_relaxed);
      }
      next.tv_nsec += 1'000'000;
      if (next.tv_nsec >= 1'000'000'000) {
        next.tv_nsec -= 1'000'000'000;
        ++next.tv_sec;
      }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
    }
  });
  return f;
}

void UdpFlow::stop(std::chrono::milliseconds quiet) {
  stop_tx_.store(true);
  if (tx_thread_.joinable()) tx_thread_.join();
  if (rx_thread_.joinable()) {
    // Drain: the queue empties at the shaped rate; stop once nothing arrived for `quiet`.
    const std::int64_t q = quiet.count() * 1'000'000ll;
    std::int64_t since = now_ns();
    while (true) {
      std::int64_t last = std::max(last_rx_ns_.load(), since);
      if (now_ns() - last >= q) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polls the arrival clock
    }
    stop_rx_.store(true);
    rx_thread_.join();
  }
}

UdpFlow::~UdpFlow() { stop(std::chrono::milliseconds(0)); }

std::vector<std::int64_t> UdpFlow::arrivals_since(std::int64_t t0) const {
  std::lock_guard lk(mu_);
  std::vector<std::int64_t> out;
  for (auto it = std::lower_bound(arrivals_.begin(), arrivals_.end(), t0); it != arrivals_.end(); ++it)
    out.push_back(*it);
  return out;
}

double measure_rate_bps(const UdpFlow& f, std::chrono::milliseconds warmup,
                        std::chrono::milliseconds window) {
  return measure_goodput_bps([&] { return f.wire_bytes(); }, warmup, window);
}

FlowRates measure_rates(const UdpFlow& f, std::chrono::milliseconds warmup,
                        std::chrono::milliseconds window) {
  std::this_thread::sleep_for(warmup);  // a measurement interval, not synchronisation
  const double bits = static_cast<double>(f.payload() + kUdpOverhead) * 8;
  auto s0 = f.sent(), r0 = f.received();
  auto t0 = now_ns();
  std::this_thread::sleep_for(window);
  auto s1 = f.sent(), r1 = f.received();
  double secs = static_cast<double>(now_ns() - t0) / 1e9;
  return {static_cast<double>(s1 - s0) * bits / secs, static_cast<double>(r1 - r0) * bits / secs};
}

}  // namespace reflex::bench::shaping
