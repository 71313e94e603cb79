#include "sim/flood_gen.h"

#include "sim/packet.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace reflex::sim {

namespace {

constexpr std::size_t kBatch = 64;
constexpr std::size_t kMaxFrame = 1514;
constexpr std::size_t kEth = 14, kIp = 20;

std::string v4_string(std::uint32_t host) {
  in_addr a{htonl(host)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

void put32(std::uint8_t* p, std::uint32_t v) {
  v = htonl(v);
  std::memcpy(p, &v, 4);
}
void put16(std::uint8_t* p, std::uint16_t v) {
  v = htons(v);
  std::memcpy(p, &v, 2);
}

}  // namespace

std::uint16_t inet_checksum(const std::uint8_t* data, std::size_t len, std::uint32_t sum) {
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += static_cast<std::uint32_t>(data[i] << 8 | data[i + 1]);
  if (len & 1) sum += static_cast<std::uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

std::uint64_t packets_due(const Stream& s, TimeNs t) {
  TimeNs end = std::min(t, s.until_ns);
  TimeNs elapsed = end - s.from_ns;
  if (elapsed <= 0) return 0;
  TimeNs on = elapsed;
  if (s.pulse) {
    TimeNs period = s.pulse->on_ns + s.pulse->off_ns;
    on = (elapsed / period) * s.pulse->on_ns + std::min(elapsed % period, s.pulse->on_ns);
  }
  return static_cast<std::uint64_t>(s.pps * static_cast<double>(on) / 1e9);
}

Result<std::unique_ptr<PacketGenerator>> PacketGenerator::open(const NetNs& ns, const std::string& ifname,
                                                               Mac dst_mac, const std::string& dst_addr,
                                                               std::uint16_t udp_port, std::uint16_t tcp_port) {
  std::unique_ptr<PacketGenerator> g(new PacketGenerator());
  auto fd = socket_in(ns, AF_PACKET, SOCK_RAW, 0);  // protocol 0: sends only, receives nothing
  if (!fd) return make_error(fd.error().what, "the scenario runner needs CAP_NET_RAW", fd.error().code);
  g->fd_ = Fd(*fd);
  auto mac = interface_mac(ns, ifname);
  if (!mac) return mac.error();
  g->src_mac_ = *mac;
  unsigned ifindex = 0;
  auto st = ns.run([&] { ifindex = if_nametoindex(ifname.c_str()); });
  if (!st) return st.error();
  if (!ifindex) return make_error("no interface " + ifname + " in " + ns.name());
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = static_cast<int>(ifindex);
  if (::bind(g->fd_.get(), reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) < 0)
    return errno_error("bind packet socket to " + ifname, errno);
  int one = 1;  // veth has no qdisc worth passing through; the far end does the work
  setsockopt(g->fd_.get(), SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
  int big = 4 << 20;
  setsockopt(g->fd_.get(), SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
  g->dst_mac_ = dst_mac;
  in_addr a{};
  if (inet_pton(AF_INET, dst_addr.c_str(), &a) != 1) return make_error("bad IPv4 address " + dst_addr);
  g->dst_addr_ = ntohl(a.s_addr);
  g->udp_port_ = udp_port;
  g->tcp_port_ = tcp_port;
  return g;
}

PacketGenerator::~PacketGenerator() { stop(); }

std::size_t PacketGenerator::add(Stream s) {
  auto st = std::make_unique<State>();
  PacketBuilder b;
  std::string src = v4_string(s.sources.empty() ? 0 : s.sources[0]), dst = v4_string(dst_addr_);
  if (s.kind == TrafficKind::syn)
    b.ipv4(src, dst).tcp(40000, tcp_port_);
  else
    b.ipv4(src, dst).udp(40000, udp_port_).payload(std::max<std::size_t>(s.payload, sizeof(PayloadTag)));
  st->frame = b.build();
  std::memcpy(st->frame.data(), dst_mac_.data(), 6);
  std::memcpy(st->frame.data() + 6, src_mac_.data(), 6);
  streams_.push_back(std::move(s));
  state_.push_back(std::move(st));
  return streams_.size() - 1;
}

std::size_t source_index(const Stream& s, std::uint64_t n, TimeNs t) {
  const std::size_t count = s.sources.size();
  if (!s.wave || s.wave->size == 0 || count == 0) return count ? n % count : 0;
  const std::size_t size = std::min<std::size_t>(s.wave->size, count);
  const std::size_t lane_len = count / size;  // the last count % size sources are never sent
  const auto wave = static_cast<std::uint64_t>(std::max<TimeNs>(0, t - s.from_ns) / s.wave->every_ns);
  return (n % size) * lane_len + wave % lane_len;
}

std::size_t PacketGenerator::fill(std::size_t i, std::uint8_t* out, TimeNs now) {
  const Stream& s = streams_[i];
  State& st = *state_[i];
  std::size_t len = st.frame.size();
  std::memcpy(out, st.frame.data(), len);
  std::uint32_t src = s.sources[source_index(s, st.next_src++, now)];
  std::uint32_t seq = static_cast<std::uint32_t>(st.seq++);
  std::uint8_t* ip = out + kEth;
  put16(ip + 4, static_cast<std::uint16_t>(seq));  // IP id
  put32(ip + 12, src);
  put16(ip + 10, 0);
  put16(ip + 10, inet_checksum(ip, kIp));
  std::uint8_t* l4 = ip + kIp;
  if (s.kind == TrafficKind::syn) {
    put16(l4, static_cast<std::uint16_t>(1024 + seq % 60000));  // source port
    put32(l4 + 4, seq * 2654435761u);                          // ISN
    put16(l4 + 16, 0);
    // Pseudo-header: addresses, protocol, TCP length (from the IP header:
    // the frame may carry Ethernet padding). The stack checks it before any
    // socket sees the SYN.
    const std::size_t tcp_len = static_cast<std::size_t>(ip[2] << 8 | ip[3]) - kIp;
    std::uint32_t sum = (src >> 16) + (src & 0xffff) + (dst_addr_ >> 16) + (dst_addr_ & 0xffff) + IPPROTO_TCP +
                        static_cast<std::uint32_t>(tcp_len);
    put16(l4 + 16, inet_checksum(l4, tcp_len, sum));
  } else {
    put16(l4, static_cast<std::uint16_t>(1024 + (src & 0x3fff)));  // one source port per source: one flow
    std::uint8_t* tag = l4 + 8;
    put32(tag, kPayloadMagic);
    put32(tag + 4, s.cls);
    put32(tag + 8, seq);
  }
  return len;
}

void PacketGenerator::start(std::chrono::steady_clock::time_point t0) {
  t0_ = t0;
  stop_ = false;
  thread_ = std::thread([this] { run(); });
}

void PacketGenerator::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void PacketGenerator::run() {
  std::vector<std::uint8_t> buf(kBatch * kMaxFrame);
  iovec iov[kBatch];
  mmsghdr msgs[kBatch];
  std::size_t owner[kBatch];
  std::size_t rotate = 0;
  while (!stop_.load(std::memory_order_relaxed)) {
    TimeNs now = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0_).count();
    std::size_t n = 0;
    double fastest = 0;
    for (std::size_t k = 0; k < streams_.size() && n < kBatch; ++k) {
      std::size_t i = (k + rotate) % streams_.size();
      const Stream& s = streams_[i];
      State& st = *state_[i];
      if (s.sources.empty()) continue;
      std::uint64_t due = packets_due(s, now);
      std::uint64_t have = st.sent.load(std::memory_order_relaxed) + st.missed.load(std::memory_order_relaxed);
      if (due <= have) {
        if (now >= s.from_ns && now < s.until_ns) fastest = std::max(fastest, s.pps);
        continue;
      }
      std::uint64_t owed = due - have;
      // A stall (the host was busy) is not made up in one burst: more than
      // 20 ms behind, the rest is counted as missed.
      auto cap = std::max<std::uint64_t>(kBatch, static_cast<std::uint64_t>(s.pps / 50));
      if (owed > cap) {
        st.missed.fetch_add(owed - cap, std::memory_order_relaxed);
        owed = cap;
      }
      while (owed-- && n < kBatch) {
        std::uint8_t* f = buf.data() + n * kMaxFrame;
        iov[n] = {f, fill(i, f, now)};
        msgs[n] = {};
        msgs[n].msg_hdr.msg_iov = &iov[n];
        msgs[n].msg_hdr.msg_iovlen = 1;
        owner[n] = i;
        ++n;
      }
      fastest = std::max(fastest, s.pps);
    }
    ++rotate;
    if (n == 0) {
      // Nothing owed: sleep about one packet time of the fastest live stream.
      long ns = fastest > 0 ? static_cast<long>(std::clamp(1e9 / fastest, 20e3, 1e6)) : 1'000'000;
      timespec ts{0, ns};
      nanosleep(&ts, nullptr);
      continue;
    }
    int r = sendmmsg(fd_.get(), msgs, static_cast<unsigned>(n), 0);
    std::size_t taken = r > 0 ? static_cast<std::size_t>(r) : 0;
    for (std::size_t j = 0; j < n; ++j) {
      State& st = *state_[owner[j]];
      if (j < taken) {
        if (st.first_ns.load(std::memory_order_relaxed) < 0) st.first_ns.store(now, std::memory_order_relaxed);
        st.sent.fetch_add(1, std::memory_order_relaxed);
      } else {
        st.missed.fetch_add(1, std::memory_order_relaxed);  // the kernel refused it (ENOBUFS): lost at the sender
      }
    }
  }
}

}  // namespace reflex::sim
