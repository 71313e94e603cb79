#include "fleet/nkey.h"

#include <gtest/gtest.h>

namespace reflex::fleet {
namespace {

TEST(Nkey, AUserSeedGivesItsUserPublicKey) {
  std::array<std::uint8_t, 32> raw{};
  for (std::size_t i = 0; i < raw.size(); ++i) raw[i] = static_cast<std::uint8_t>(i * 7 + 1);
  auto seed = nkey_user_seed(raw);
  EXPECT_EQ(seed.size(), 58u);
  EXPECT_EQ(seed.substr(0, 2), "SU");
  auto pub = nkey_user_public_key(seed);
  ASSERT_TRUE(pub) << pub.error().message();
  EXPECT_EQ(pub->size(), 56u);
  EXPECT_EQ(pub->front(), 'U');
  // Another seed, another key; the same seed, the same key.
  raw[0] ^= 1;
  auto other = nkey_user_public_key(nkey_user_seed(raw));
  ASSERT_TRUE(other);
  EXPECT_NE(*other, *pub);
  EXPECT_EQ(*nkey_user_public_key(seed), *pub);
}

TEST(Nkey, RefusesDamagedOrForeignText) {
  std::array<std::uint8_t, 32> raw{};
  auto seed = nkey_user_seed(raw);
  auto damaged = seed;
  damaged[10] = damaged[10] == 'A' ? 'B' : 'A';
  EXPECT_NE(nkey_user_public_key(damaged).error().what.find("checksum"), std::string::npos);
  EXPECT_FALSE(nkey_user_public_key("not base32 at all!"));
  EXPECT_FALSE(nkey_user_public_key(seed.substr(0, 40)));
  auto pub = nkey_user_public_key(seed).value();
  EXPECT_FALSE(nkey_user_public_key(pub)) << "a public key is not a seed";
}

}  // namespace
}  // namespace reflex::fleet
