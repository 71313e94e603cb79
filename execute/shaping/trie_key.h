#pragma once
// What the Shaper's classifier and the benchmark's policer (the same BPF
// object, bpf/tc_shaper.bpf.c) share: the trie key of a prefix, and tcx
// egress' attach type.

#include <bpf/bpf.h>

#include <cstring>

#include "common/prefix.h"
#include "tc_shaper_kern_user.h"

namespace reflex::execute::shaping {

// tcx (Linux 6.6+) postdates Debian 12's uapi headers and libbpf 1.1; the
// attach type's value is stable ABI.
constexpr auto kBpfTcxEgress = static_cast<enum bpf_attach_type>(47);

inline tc_shaper_key trie_key(const Prefix& p) {
  tc_shaper_key k{};
  k.prefixlen = 8u + p.len;
  k.family = p.family;
  std::memcpy(k.addr, p.addr.data(), sizeof k.addr);
  return k;
}

inline Prefix trie_prefix(const tc_shaper_key& k) {
  Prefix p;
  p.family = k.family;
  p.len = static_cast<std::uint8_t>(k.prefixlen - 8);
  std::memcpy(p.addr.data(), k.addr, sizeof k.addr);
  mask_prefix(p);
  return p;
}

}  // namespace reflex::execute::shaping
