// The rule edits' batch paths: keys sorted as integers give the order the
// rule list is kept in, and edits of a list they were handed read-only give
// what edits of a copy give, leaving the list as it was.

#include "execute/desired_edit.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace reflex::execute {
namespace {

Prefix P(const char* s) { return Prefix::parse(s).value(); }

// What batch_keys promises, the slow way: masked, sorted, without repeats.
std::vector<Prefix> reference_keys(std::vector<Prefix> keys) {
  for (auto& p : keys) mask_prefix(p);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

TEST(BatchKeys, IPv4KeysSortAsTheRuleListDoesMaskedAndWithoutRepeats) {
  std::mt19937 rng(7);
  RuleBatch b;
  for (int i = 0; i < 50'000; ++i) {
    const auto len = static_cast<std::uint8_t>(i % 7 == 0 ? rng() % 33 : 32);
    Prefix p = Prefix::v4(static_cast<std::uint32_t>(rng()), 32);
    p.len = len;  // host bits left set past the length: the key is masked
    b.prefixes.push_back(p);
    if (i % 5 == 0) b.prefixes.push_back(b.prefixes[rng() % b.prefixes.size()]);  // repeats
  }
  b.prefixes.push_back(P("0.0.0.0/0"));
  b.prefixes.push_back(P("255.255.255.255"));
  const auto keys = batch_keys(b);
  EXPECT_EQ(keys, reference_keys(b.prefixes));
  EXPECT_LT(keys.size(), b.prefixes.size());

  // Already sorted in: the same answer.
  RuleBatch sorted = b;
  sorted.prefixes = keys;
  EXPECT_EQ(batch_keys(sorted), keys);
}

TEST(BatchKeys, TheCountIsTheKeysCountWhetherTheyAreKeysAlreadyOrNot) {
  RuleBatch raw;
  raw.prefixes = {P("192.0.2.9"), P("192.0.2.0/24"), P("192.0.2.9"), P("10.0.0.0/8")};
  Prefix unmasked = P("198.51.100.0/24");
  unmasked.addr[3] = 7;
  raw.prefixes.push_back(unmasked);
  EXPECT_EQ(batch_key_count(raw), 4u);
  RuleBatch keys = raw;
  keys.prefixes = batch_keys(raw);
  EXPECT_EQ(batch_key_count(keys), 4u);
}

TEST(BatchKeys, MixedFamiliesTakeTheGeneralSort) {
  RuleBatch b;
  b.prefixes = {P("2001:db8::1"), P("192.0.2.7"), P("2001:db8::/32"), P("192.0.2.7"), P("10.0.0.0/8")};
  const auto keys = batch_keys(b);
  EXPECT_EQ(keys, reference_keys(b.prefixes));
  EXPECT_EQ(keys.size(), 4u);
}

DesiredRule rule(const char* p, RuleVerb v, const char* id) {
  DesiredRule r;
  r.prefix = P(p);
  r.verb = v;
  r.action_id = id;
  return r;
}

std::vector<DesiredRule> sample_rules() {
  std::vector<DesiredRule> rules = {rule("192.0.2.1", RuleVerb::drop, "a"), rule("192.0.2.2", RuleVerb::allow, "op"),
                                    rule("192.0.2.3", RuleVerb::shadow, "b"),
                                    rule("198.51.100.0/24", RuleVerb::drop, "c")};
  rules[3].absorbed = {P("198.51.100.4"), P("198.51.100.9")};
  std::sort(rules.begin(), rules.end(), rule_key_less);
  return rules;
}

TEST(RuleEdits, EditsOfAListHandedReadOnlyEqualEditsOfACopyAndLeaveItAsItWas) {
  const auto from = sample_rules();
  const std::vector<Prefix> keys = {P("192.0.2.1"), P("192.0.2.2"), P("192.0.2.9")};
  const DesiredRule batch = rule("0.0.0.0/0", RuleVerb::drop, "batch");

  for (int variant = 0; variant < 3; ++variant) {
    std::vector<DesiredRule> copy = from, out;
    RuleEdits mine(copy), lent(out, from);
    EXPECT_EQ(lent.get(from[0]), from[0]) << "read through to the list lent";
    EXPECT_EQ(lent.count(), from.size());
    auto both = [&](auto fn) {
      auto a = fn(mine), b = fn(lent);
      EXPECT_EQ(a, b) << "variant " << variant;
    };
    if (variant == 0) {  // single edits, then a batch
      both([&](RuleEdits& e) { return e.set(from[2], std::nullopt); });
      both([&](RuleEdits& e) { return e.set(rule("203.0.113.5", RuleVerb::drop, "d"), rule("203.0.113.5", RuleVerb::drop, "d")); });
      both([&](RuleEdits& e) { return e.set_batch(keys, {}, batch); });
    } else if (variant == 1) {  // a removal batch first (allow rules stay)
      both([&](RuleEdits& e) { return e.set_batch(keys, {}, std::nullopt); });
      both([&](RuleEdits& e) { return e.get(from[1]); });
    } else {  // covers, read from the list lent
      both([&](RuleEdits& e) { return e.cover_of(P("198.51.100.9")); });
      both([&](RuleEdits& e) { return e.cover_of(P("198.51.100.5")); });
    }
    EXPECT_EQ(lent.count(), mine.count());
    EXPECT_EQ(lent.rules(), mine.rules()) << "variant " << variant;
    EXPECT_EQ(from, sample_rules()) << "the list lent is unchanged";
  }
}

TEST(SetBatch, FromAListLeftAsItIsEqualsTheEditInPlace) {
  const auto from = sample_rules();
  const std::vector<Prefix> keys = {P("192.0.2.1"), P("192.0.2.3"), P("192.0.2.200")};
  for (const auto& r : {std::optional<DesiredRule>(rule("0.0.0.0/0", RuleVerb::shadow, "s")),
                        std::optional<DesiredRule>()}) {
    std::vector<DesiredRule> in_place = from, to;
    const auto before_a = set_batch(in_place, keys, {}, r);
    const auto before_b = set_batch(from, to, keys, {}, r);
    EXPECT_EQ(before_a, before_b);
    EXPECT_EQ(in_place, to);
    EXPECT_EQ(before_b.size(), 2u) << "192.0.2.1 and .3 held rules";
    EXPECT_EQ(from, sample_rules());
  }
}

}  // namespace
}  // namespace reflex::execute
