#include "fleet/nkey.h"

#include <openssl/evp.h>

#include <memory>
#include <vector>

namespace reflex::fleet {
namespace {

constexpr std::uint8_t kPrefixSeed = 18 << 3;  // 'S'
constexpr std::uint8_t kPrefixUser = 20 << 3;  // 'U'
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// CRC-16/XMODEM, as nkeys checksums its keys.
std::uint16_t crc16(const std::uint8_t* p, std::size_t n) {
  std::uint16_t crc = 0;
  for (std::size_t i = 0; i < n; ++i) {
    crc ^= static_cast<std::uint16_t>(p[i]) << 8;
    for (int b = 0; b < 8; ++b) crc = (crc & 0x8000) ? static_cast<std::uint16_t>((crc << 1) ^ 0x1021) : crc << 1;
  }
  return crc;
}

std::string base32(const std::vector<std::uint8_t>& in) {
  std::string out;
  unsigned buf = 0;
  int bits = 0;
  for (auto byte : in) {
    buf = (buf << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += kAlphabet[(buf >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += kAlphabet[(buf << (5 - bits)) & 31];
  return out;
}

bool unbase32(std::string_view in, std::vector<std::uint8_t>& out) {
  unsigned buf = 0;
  int bits = 0;
  for (char c : in) {
    int v = c >= 'A' && c <= 'Z' ? c - 'A' : c >= '2' && c <= '7' ? c - '2' + 26 : -1;
    if (v < 0) return false;
    buf = (buf << 5) | static_cast<unsigned>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buf >> (bits - 8)));
      bits -= 8;
    }
  }
  return true;
}

void append_crc(std::vector<std::uint8_t>& raw) {
  auto c = crc16(raw.data(), raw.size());
  raw.push_back(static_cast<std::uint8_t>(c & 0xff));
  raw.push_back(static_cast<std::uint8_t>(c >> 8));
}

}  // namespace

Result<std::string> nkey_user_public_key(std::string_view seed) {
  const std::string hint = "a user seed is the 58-character line starting with SU that `nk -gen user` prints";
  std::vector<std::uint8_t> raw;
  if (!unbase32(seed, raw) || raw.size() != 36) return make_error("the nkey seed is not base32 text of a seed", hint);
  const std::uint16_t want = static_cast<std::uint16_t>(raw[34] | (raw[35] << 8));
  if (crc16(raw.data(), 34) != want) return make_error("the nkey seed's checksum does not match", hint);
  const std::uint8_t b1 = raw[0] & 248;
  const std::uint8_t prefix = static_cast<std::uint8_t>(((raw[0] & 7) << 5) | ((raw[1] & 248) >> 3));
  if (b1 != kPrefixSeed || prefix != kPrefixUser) return make_error("the nkey seed is not a user seed (SU...)", hint);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, raw.data() + 2, 32), EVP_PKEY_free);
  std::vector<std::uint8_t> pub(32);
  std::size_t len = pub.size();
  if (!key || EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != 32)
    return make_error("cannot derive the nkey's public key (OpenSSL has no Ed25519?)", "use OpenSSL 1.1.1 or later");
  std::vector<std::uint8_t> out{kPrefixUser};
  out.insert(out.end(), pub.begin(), pub.end());
  append_crc(out);
  return base32(out);
}

std::string nkey_user_seed(const std::array<std::uint8_t, 32>& key) {
  std::vector<std::uint8_t> raw{static_cast<std::uint8_t>(kPrefixSeed | (kPrefixUser >> 5)),
                                static_cast<std::uint8_t>((kPrefixUser & 31) << 3)};
  raw.insert(raw.end(), key.begin(), key.end());
  append_crc(raw);
  return base32(raw);
}

}  // namespace reflex::fleet
