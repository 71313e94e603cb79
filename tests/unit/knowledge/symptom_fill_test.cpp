#include "knowledge/symptom_fill.h"

#include <gtest/gtest.h>

namespace reflex {
namespace {

Symptom peer(const std::string& detail) {
  Symptom s;
  s.kind = SymptomKind::peer_verdict;
  s.subject.prefix = Prefix::parse("203.0.113.0/24").value();
  s.evidence.detail = detail;
  return s;
}

// A slot that already holds the stamp it is given is that content: the fill
// leaves it as it is (the put's detail here differs on purpose, to show it
// was not copied); an unstamped put, or a new stamp, is copied in.
TEST(SymptomFill, ASlotHoldingTheStampItIsGivenKeepsItsContentAndANewStampIsCopied) {
  std::vector<Symptom> v;
  std::vector<std::uint64_t> stamps;
  const std::uint64_t a = next_symptom_stamp(), b = next_symptom_stamp();
  ASSERT_NE(a, b);
  {
    SymptomFill f(v, stamps);
    f.put(peer("first"), a);
    f.put(peer("unstamped"));
    f.done();
  }
  ASSERT_EQ(v.size(), 2u);
  ASSERT_EQ(stamps, (std::vector<std::uint64_t>{a, 0}));
  {
    SymptomFill f(v, stamps);
    f.put(peer("not copied"), a).ts_ns = 5;
    f.put(peer("copied"), b);
    f.done();
  }
  EXPECT_EQ(v[0].evidence.detail, "first");
  EXPECT_EQ(v[0].ts_ns, 5);
  EXPECT_EQ(v[1].evidence.detail, "copied");
  EXPECT_EQ(stamps, (std::vector<std::uint64_t>{a, b}));
  {
    SymptomFill f(v, stamps);
    f.put(peer("unstamped again"));
    f.done();
  }
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].evidence.detail, "unstamped again");
  EXPECT_EQ(stamps, (std::vector<std::uint64_t>{0}));
}

// Stamps that do not run beside the symptoms (a vector filled elsewhere)
// are not trusted: every slot is copied.
TEST(SymptomFill, StampsThatDoNotMatchTheSymptomsAreDropped) {
  std::vector<Symptom> v{peer("old"), peer("old")};
  std::vector<std::uint64_t> stamps{7};
  SymptomFill f(v, stamps);
  f.put(peer("new"), 7);
  f.done();
  EXPECT_EQ(v[0].evidence.detail, "new");
}

}  // namespace
}  // namespace reflex
