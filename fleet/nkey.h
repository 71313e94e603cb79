#pragma once
// NATS nkeys (Ed25519 keys in NATS's base32 text form): the public key of a
// user seed, so an operator configures only the seed file (the server's
// config names the public key), and a seed maker for tests and tools.

#include "common/result.h"

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace reflex::fleet {

// "SU..." (a user seed) -> "U..." (its public key). The error says what is
// wrong with the text (not base32, bad checksum, not a user seed).
Result<std::string> nkey_user_public_key(std::string_view seed);

// The "SU..." text of a user seed from 32 random bytes.
std::string nkey_user_seed(const std::array<std::uint8_t, 32>& raw);

}  // namespace reflex::fleet
