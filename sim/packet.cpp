#include "sim/packet.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>
#include <stdexcept>

namespace reflex::sim {
namespace {

void put16(std::vector<std::uint8_t>& b, std::uint16_t v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}

void set16(std::vector<std::uint8_t>& b, std::size_t off, std::uint16_t v) {
  b[off] = static_cast<std::uint8_t>(v >> 8);
  b[off + 1] = static_cast<std::uint8_t>(v);
}

std::uint16_t csum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t s = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) s += (p[i] << 8) | p[i + 1];
  if (n & 1) s += p[n - 1] << 8;
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<std::uint16_t>(~s);
}

}  // namespace

PacketBuilder& PacketBuilder::vlan(std::uint16_t tci, std::uint16_t tpid) {
  vlans_.emplace_back(tpid, tci);
  return *this;
}
PacketBuilder& PacketBuilder::ethertype(std::uint16_t t) {
  ethertype_ = t;
  return *this;
}
PacketBuilder& PacketBuilder::ipv4(const std::string& src, const std::string& dst) {
  family_ = 4;
  if (inet_pton(AF_INET, src.c_str(), src_) != 1 || inet_pton(AF_INET, dst.c_str(), dst_) != 1)
    throw std::invalid_argument("bad IPv4 address");
  return *this;
}
PacketBuilder& PacketBuilder::ipv6(const std::string& src, const std::string& dst) {
  family_ = 6;
  if (inet_pton(AF_INET6, src.c_str(), src_) != 1 || inet_pton(AF_INET6, dst.c_str(), dst_) != 1)
    throw std::invalid_argument("bad IPv6 address");
  return *this;
}
PacketBuilder& PacketBuilder::fragment(std::uint16_t offset_units, bool more) {
  frag_ = {offset_units, more};
  return *this;
}
PacketBuilder& PacketBuilder::ipv6_ext(std::uint8_t type, std::uint8_t len_units) {
  exts_.push_back({type, len_units});
  return *this;
}
PacketBuilder& PacketBuilder::ip_options(std::uint8_t words) {
  ip_opt_words_ = words;
  return *this;
}
PacketBuilder& PacketBuilder::udp(std::uint16_t sport, std::uint16_t dport) {
  l4_ = IPPROTO_UDP;
  sport_ = sport;
  dport_ = dport;
  return *this;
}
PacketBuilder& PacketBuilder::tcp(std::uint16_t sport, std::uint16_t dport) {
  l4_ = IPPROTO_TCP;
  sport_ = sport;
  dport_ = dport;
  return *this;
}
PacketBuilder& PacketBuilder::icmp() {
  l4_ = static_cast<std::uint8_t>(family_ == 6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
  return *this;
}
PacketBuilder& PacketBuilder::proto(std::uint8_t p) {
  l4_ = p;
  return *this;
}
PacketBuilder& PacketBuilder::payload(std::size_t n) {
  payload_ = n;
  return *this;
}
PacketBuilder& PacketBuilder::truncate(std::size_t n) {
  truncate_ = n;
  return *this;
}

std::vector<std::uint8_t> PacketBuilder::build() const {
  std::vector<std::uint8_t> b;
  // Ethernet: locally administered MACs.
  const std::uint8_t dmac[6] = {0x02, 0, 0, 0, 0, 2}, smac[6] = {0x02, 0, 0, 0, 0, 1};
  b.insert(b.end(), dmac, dmac + 6);
  b.insert(b.end(), smac, smac + 6);
  for (auto [tpid, tci] : vlans_) {
    put16(b, tpid);
    put16(b, tci);
  }
  std::uint16_t et = ethertype_ ? *ethertype_ : family_ == 4 ? 0x0800 : family_ == 6 ? 0x86DD : 0x88B5;
  put16(b, et);

  // L4 header bytes (built first so the IP lengths are known).
  std::vector<std::uint8_t> l4;
  std::uint8_t l4proto = l4_.value_or(IPPROTO_UDP);
  bool first_fragment = !frag_ || frag_->first == 0;
  if (first_fragment && l4_) {
    if (*l4_ == IPPROTO_UDP) {
      put16(l4, sport_);
      put16(l4, dport_);
      put16(l4, static_cast<std::uint16_t>(8 + payload_));
      put16(l4, 0);
    } else if (*l4_ == IPPROTO_TCP) {
      put16(l4, sport_);
      put16(l4, dport_);
      l4.insert(l4.end(), 8, 0);  // seq, ack
      l4.push_back(5 << 4);       // data offset
      l4.push_back(0x02);         // SYN
      put16(l4, 65535);
      put16(l4, 0);
      put16(l4, 0);
    } else if (*l4_ == IPPROTO_ICMP || *l4_ == IPPROTO_ICMPV6) {
      l4.push_back(*l4_ == IPPROTO_ICMP ? 8 : 128);  // echo request
      l4.insert(l4.end(), 7, 0);
    }
  }
  l4.insert(l4.end(), payload_, 0xab);

  if (family_ == 4) {
    std::size_t ip_off = b.size();
    std::size_t hl = 20 + ip_opt_words_ * 4u;
    b.push_back(static_cast<std::uint8_t>(0x40 | (hl / 4)));
    b.push_back(0);
    put16(b, static_cast<std::uint16_t>(hl + l4.size()));
    put16(b, 0x1234);
    std::uint16_t fo = 0;
    if (frag_) fo = static_cast<std::uint16_t>((frag_->first & 0x1fff) | (frag_->second ? 0x2000 : 0));
    put16(b, fo);
    b.push_back(64);
    b.push_back(l4proto);
    put16(b, 0);
    b.insert(b.end(), src_, src_ + 4);
    b.insert(b.end(), dst_, dst_ + 4);
    for (unsigned i = 0; i < ip_opt_words_ * 4u; ++i) b.push_back(1);  // NOP options
    set16(b, ip_off + 10, csum(b.data() + ip_off, hl));
  } else if (family_ == 6) {
    std::vector<std::uint8_t> ext;
    // Chain: extension headers, then the fragment header, then L4.
    std::vector<std::uint8_t> chain;
    for (const auto& e : exts_) chain.push_back(e.type);
    if (frag_) chain.push_back(44);
    chain.push_back(l4proto);
    for (std::size_t i = 0; i < exts_.size(); ++i) {
      ext.push_back(chain[i + 1]);
      ext.push_back(exts_[i].len_units);
      ext.insert(ext.end(), 6 + exts_[i].len_units * 8u, 0);
      if (exts_[i].type == 60 || exts_[i].type == 0) {
        // PadN keeps the options area well formed.
        std::size_t start = ext.size() - (6 + exts_[i].len_units * 8u);
        ext[start] = 1;
        ext[start + 1] = static_cast<std::uint8_t>(4 + exts_[i].len_units * 8u);
      }
    }
    if (frag_) {
      ext.push_back(l4proto);
      ext.push_back(0);
      put16(ext, static_cast<std::uint16_t>((frag_->first << 3) | (frag_->second ? 1 : 0)));
      put16(ext, 0xabcd);
      put16(ext, 0x1234);
    }
    b.push_back(0x60);
    b.push_back(0);
    put16(b, 0);
    put16(b, static_cast<std::uint16_t>(ext.size() + l4.size()));
    b.push_back(chain[0]);
    b.push_back(64);
    b.insert(b.end(), src_, src_ + 16);
    b.insert(b.end(), dst_, dst_ + 16);
    b.insert(b.end(), ext.begin(), ext.end());
  }
  b.insert(b.end(), l4.begin(), l4.end());
  if (b.size() < 60 && !truncate_) b.resize(60, 0);  // Ethernet minimum frame
  if (truncate_ && *truncate_ < b.size()) b.resize(*truncate_);
  return b;
}

}  // namespace reflex::sim
