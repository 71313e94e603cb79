#pragma once
// Builds test packets byte by byte: Ethernet, VLAN tags, IPv4/IPv6 (with
// extension headers and fragments), UDP/TCP/ICMP, and deliberate truncation.
// Lengths and the IPv4 checksum are filled in at build().

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace reflex::sim {

class PacketBuilder {
 public:
  PacketBuilder& vlan(std::uint16_t tci, std::uint16_t tpid = 0x8100);
  PacketBuilder& ethertype(std::uint16_t type);  // for non-IP frames
  PacketBuilder& ipv4(const std::string& src, const std::string& dst);
  PacketBuilder& ipv6(const std::string& src, const std::string& dst);
  // IPv4: fragment offset in 8-byte units; IPv6: adds a fragment header.
  PacketBuilder& fragment(std::uint16_t offset_units, bool more);
  PacketBuilder& ipv6_ext(std::uint8_t type, std::uint8_t len_units = 0);  // hop-by-hop (0), routing (43), dest (60)
  PacketBuilder& ip_options(std::uint8_t words);                           // IPv4 options, 4-byte words
  PacketBuilder& udp(std::uint16_t sport, std::uint16_t dport);
  PacketBuilder& tcp(std::uint16_t sport, std::uint16_t dport);
  PacketBuilder& icmp();
  PacketBuilder& proto(std::uint8_t p);  // L4 protocol number with no header
  PacketBuilder& payload(std::size_t n);
  PacketBuilder& truncate(std::size_t total_len);  // cut the frame at this many bytes

  std::vector<std::uint8_t> build() const;

 private:
  struct Ext {
    std::uint8_t type, len_units;
  };
  std::vector<std::pair<std::uint16_t, std::uint16_t>> vlans_;  // tpid, tci
  std::optional<std::uint16_t> ethertype_;
  int family_ = 0;
  std::uint8_t src_[16] = {}, dst_[16] = {};
  std::optional<std::pair<std::uint16_t, bool>> frag_;
  std::vector<Ext> exts_;
  std::uint8_t ip_opt_words_ = 0;
  std::optional<std::uint8_t> l4_;
  std::uint16_t sport_ = 0, dport_ = 0;
  std::size_t payload_ = 0;
  std::optional<std::size_t> truncate_;
};

}  // namespace reflex::sim
