// The pure diff from desired shapes to htb/trie operations, as tables: what
// each change costs in kernel operations, and that a repeated list costs none.
#include "execute/shaping/shape_tree.h"

#include <gtest/gtest.h>

using namespace reflex;
using namespace reflex::execute::shaping;
using K = TreeOp::Kind;

namespace {

DesiredShape shape(std::uint64_t rate, const char* prefix = nullptr, std::uint64_t burst = 0) {
  DesiredShape s;
  s.rate_bps = rate;
  s.burst_bytes = burst;
  if (prefix) s.prefix = *Prefix::parse(prefix);
  return s;
}

// The state the kernel would be in after applying ops to `have` (a model of
// what the Shaper's apply() does, for chaining steps).
TreeState applied(TreeState have, const std::vector<TreeOp>& ops) {
  auto erase_class = [&](std::uint32_t id) {
    std::erase_if(have.classes, [&](const HtbClass& c) { return c.classid == id; });
  };
  for (const auto& op : ops) switch (op.kind) {
      case K::add_root:
        have.root = RootKind::ours;
        have.root_kind = "htb";
        have.root_handle = kRootHandle;
        have.classes.clear();
        break;
      case K::add_class:
      case K::change_class:
        erase_class(op.cls.classid);
        have.classes.push_back(op.cls);
        std::sort(have.classes.begin(), have.classes.end(),
                  [](const HtbClass& a, const HtbClass& b) { return a.classid < b.classid; });
        break;
      case K::put_prefix:
        have.prefixes[op.prefix] = op.cls.classid;
        break;
      case K::attach_classifier:
        have.classifier_attached = true;
        break;
      case K::delete_prefix:
        have.prefixes.erase(op.prefix);
        break;
      case K::delete_class:
        erase_class(op.cls.classid);
        break;
      case K::detach_classifier:
        have.classifier_attached = false;
        break;
      case K::delete_root:
        have.root = RootKind::kernel_default;
        have.classes.clear();
        break;
    }
  return have;
}

std::vector<K> kinds(const std::vector<TreeOp>& ops) {
  std::vector<K> k;
  for (const auto& op : ops) k.push_back(op.kind);
  return k;
}

}  // namespace

TEST(ShapeTree, WholeInterfaceBuildsRootParentAndDefault) {
  std::vector<DesiredShape> want{shape(10'000'000)};
  auto ops = plan_converge(want, {});
  EXPECT_EQ(kinds(ops), (std::vector<K>{K::add_root, K::add_class, K::add_class}));
  EXPECT_EQ(ops[1].cls.classid, kParentClass);
  EXPECT_EQ(ops[1].cls.parent, kRootHandle);
  EXPECT_EQ(ops[1].cls.rate_bps, 10'000'000u);
  EXPECT_EQ(ops[2].cls.classid, kDefaultClass);
  EXPECT_EQ(ops[2].cls.parent, kParentClass);
  EXPECT_EQ(ops[2].cls.ceil_bps, 10'000'000u);
}

TEST(ShapeTree, SameListTwiceIsNoOp) {
  std::vector<DesiredShape> want{shape(10'000'000), shape(2'000'000, "10.1.0.0/16"),
                                 shape(1'000'000, "2001:db8::/32", 30000)};
  TreeState s = applied({}, plan_converge(want, {}));
  EXPECT_TRUE(plan_converge(want, s).empty());
}

TEST(ShapeTree, BurstReadBackRoundingIsNoChange) {
  std::vector<DesiredShape> want{shape(10'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  for (auto& c : s.classes) {
    c.burst_bytes += 7;  // what the kernel's tick conversion gives back
    c.cburst_bytes -= 5;
  }
  EXPECT_TRUE(plan_converge(want, s).empty());
  s.classes.back().burst_bytes *= 2;  // a real change is one
  EXPECT_EQ(kinds(plan_converge(want, s)), (std::vector<K>{K::change_class}));
}

TEST(ShapeTree, RateChangeIsOneInPlaceChange) {
  std::vector<DesiredShape> want{shape(2'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  want[0].rate_bps = 4'000'000;
  auto ops = plan_converge(want, s);
  ASSERT_EQ(kinds(ops), (std::vector<K>{K::change_class}));
  EXPECT_EQ(ops[0].cls.classid, s.prefixes.begin()->second);
  EXPECT_EQ(ops[0].cls.rate_bps, 4'000'000u);
  EXPECT_EQ(ops[0].cls.ceil_bps, 4'000'000u);
}

TEST(ShapeTree, InterfaceRateChangeChangesParentAndDefaultOnly) {
  std::vector<DesiredShape> want{shape(10'000'000), shape(2'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  want[0].rate_bps = 20'000'000;
  auto ops = plan_converge(want, s);
  ASSERT_EQ(kinds(ops), (std::vector<K>{K::change_class, K::change_class}));
  EXPECT_EQ(ops[0].cls.classid, kParentClass);
  EXPECT_EQ(ops[1].cls.classid, kDefaultClass);
  EXPECT_EQ(ops[1].cls.rate_bps, 18'000'000u);  // what the prefix leaves
}

TEST(ShapeTree, AddingTheInterfaceShapeLaterNeverMovesAPrefix) {
  std::vector<DesiredShape> want{shape(2'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  auto classid = s.prefixes.begin()->second;
  want.insert(want.begin(), shape(10'000'000));
  auto ops = plan_converge(want, s);
  EXPECT_EQ(kinds(ops), (std::vector<K>{K::change_class, K::add_class}));  // RF:1 rate, RF:2 appears
  s = applied(s, ops);
  EXPECT_EQ(s.prefixes.begin()->second, classid);
  want.erase(want.begin());
  EXPECT_EQ(kinds(plan_converge(want, s)), (std::vector<K>{K::change_class, K::delete_class}));
}

TEST(ShapeTree, PrefixesKeepTheirClassesWhenOthersComeAndGo) {
  std::vector<DesiredShape> want{shape(1'000'000, "10.1.0.0/16"), shape(1'000'000, "10.2.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  auto second = s.prefixes.at(*Prefix::parse("10.2.0.0/16"));
  want.erase(want.begin());
  auto ops = plan_converge(want, s);
  EXPECT_EQ(kinds(ops), (std::vector<K>{K::delete_prefix, K::delete_class}));
  s = applied(s, ops);
  EXPECT_EQ(s.prefixes.at(*Prefix::parse("10.2.0.0/16")), second);
  // A new prefix takes the freed minor, not the kept one.
  want.push_back(shape(1'000'000, "10.3.0.0/16"));
  s = applied(s, plan_converge(want, s));
  EXPECT_EQ(s.prefixes.at(*Prefix::parse("10.2.0.0/16")), second);
  EXPECT_NE(s.prefixes.at(*Prefix::parse("10.3.0.0/16")), second);
  EXPECT_EQ(s.prefixes.at(*Prefix::parse("10.3.0.0/16")) & 0xffff, kFirstPrefixMinor);
}

TEST(ShapeTree, FirstPrefixAttachesClassifierAfterItsClassAndEntry) {
  std::vector<DesiredShape> want{shape(1'000'000, "10.1.0.0/16")};
  auto ops = plan_converge(want, {});
  EXPECT_EQ(kinds(ops),
            (std::vector<K>{K::add_root, K::add_class, K::add_class, K::put_prefix, K::attach_classifier}));
  TreeState s = applied({}, ops);
  EXPECT_EQ(kinds(plan_converge(std::vector<DesiredShape>{shape(5'000'000)}, s)),
            (std::vector<K>{K::change_class, K::add_class, K::delete_prefix, K::detach_classifier,
                            K::delete_class}));
}

TEST(ShapeTree, EmptyListRemovesEverythingReflexMade) {
  std::vector<DesiredShape> want{shape(10'000'000), shape(1'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  auto ops = plan_converge({}, s);
  EXPECT_EQ(kinds(ops), (std::vector<K>{K::detach_classifier, K::delete_prefix, K::delete_root}));
  EXPECT_TRUE(plan_converge({}, applied(s, ops)).empty());
  EXPECT_TRUE(plan_converge({}, {}).empty());
}

TEST(ShapeTree, RemovedFromOutsideIsRebuilt) {
  std::vector<DesiredShape> want{shape(10'000'000), shape(1'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  TreeState qdisc_gone = s;  // `tc qdisc del dev X root`: classes gone, trie and link stay
  qdisc_gone.root = RootKind::kernel_default;
  qdisc_gone.classes.clear();
  EXPECT_EQ(kinds(plan_converge(want, qdisc_gone)),
            (std::vector<K>{K::add_root, K::add_class, K::add_class, K::add_class}));
  TreeState class_gone = s;
  std::erase_if(class_gone.classes,
                [](const HtbClass& c) { return c.classid >= kFirstPrefixMinor + (kMajor << 16); });
  EXPECT_EQ(kinds(plan_converge(want, class_gone)), (std::vector<K>{K::add_class}));
  TreeState link_gone = s;
  link_gone.classifier_attached = false;
  EXPECT_EQ(kinds(plan_converge(want, link_gone)), (std::vector<K>{K::attach_classifier}));
}

TEST(ShapeTree, StrayClassesOfOursAreDeletedAndWrongParentsRebuilt) {
  std::vector<DesiredShape> want{shape(1'000'000, "10.1.0.0/16")};
  TreeState s = applied({}, plan_converge(want, {}));
  HtbClass stray = leaf_class(tc_handle(kMajor, 0x99), kParentClass, 1'000'000, 1'000'000, 0);
  s.classes.push_back(stray);
  auto ops = plan_converge(want, s);
  ASSERT_EQ(kinds(ops), (std::vector<K>{K::delete_class}));
  EXPECT_EQ(ops[0].cls.classid, stray.classid);
  s.classes.pop_back();
  s.classes.back().parent = kRootHandle;  // the prefix leaf hung from the root
  EXPECT_EQ(kinds(plan_converge(want, s)), (std::vector<K>{K::delete_class, K::add_class}));
}

TEST(ShapeTree, ShapesReadBackAsTheyWereWanted) {
  std::vector<DesiredShape> want{shape(10'000'000), shape(2'000'000, "10.1.0.0/16", 20000)};
  TreeState s = applied({}, plan_converge(want, {}));
  auto shapes = shapes_of(s);
  ASSERT_EQ(shapes.size(), 2u);
  EXPECT_FALSE(shapes[0].prefix);
  EXPECT_EQ(shapes[0].rate_bps, 10'000'000u);
  EXPECT_EQ(shapes[1].prefix, *Prefix::parse("10.1.0.0/16"));
  EXPECT_EQ(shapes[1].rate_bps, 2'000'000u);
  EXPECT_EQ(shapes[1].burst_bytes, 20000u);
  auto back = as_desired(shapes);
  EXPECT_TRUE(plan_converge(back, s).empty());
  // Prefixes only: no interface shape is reported for RF:1's placeholder rate.
  TreeState p = applied({}, plan_converge(std::vector<DesiredShape>{shape(2'000'000, "10.1.0.0/16")}, {}));
  ASSERT_EQ(shapes_of(p).size(), 1u);
  EXPECT_TRUE(shapes_of(p)[0].prefix);
}

TEST(ShapeTree, ValidateNamesTheEntryAndTheFix) {
  const std::string ifc = "eth0@ns";
  EXPECT_TRUE(validate(std::vector<DesiredShape>{shape(10'000'000), shape(1'000'000, "10.1.0.0/16")}, ifc));
  auto zero = validate(std::vector<DesiredShape>{shape(0, "10.1.0.0/16")}, ifc);
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().what.find("10.1.0.0/16 on eth0@ns"), std::string::npos) << zero.error().what;
  EXPECT_FALSE(zero.error().hint.empty());
  auto twice = validate(
      std::vector<DesiredShape>{shape(1'000'000, "10.1.2.3/16"), shape(2'000'000, "10.1.0.0/16")}, ifc);
  ASSERT_FALSE(twice);
  EXPECT_NE(twice.error().what.find("twice"), std::string::npos);
  EXPECT_FALSE(validate(std::vector<DesiredShape>{shape(1'000'000), shape(2'000'000)}, ifc));
  EXPECT_FALSE(validate(std::vector<DesiredShape>{shape(1'000'000, nullptr, kMaxBurstBytes + 1)}, ifc));
  std::vector<DesiredShape> many;
  for (std::uint32_t i = 0; i <= kMaxPrefixShapes; ++i) {
    DesiredShape s = shape(1'000'000);
    s.prefix = Prefix::v4((10u << 24) | (i << 8), 24);
    many.push_back(s);
  }
  EXPECT_FALSE(validate(many, ifc));
}

TEST(ShapeTree, QuantumAndBurstStayInHtbsRange) {
  for (std::uint64_t rate : {8'000ull, 1'000'000ull, 100'000'000ull, 10'000'000'000ull}) {
    HtbClass c = leaf_class(kParentClass, kRootHandle, rate, rate, 0);
    EXPECT_GE(c.quantum, kMtu);
    EXPECT_LE(c.quantum, 200'000u);
    EXPECT_GE(c.burst_bytes, 4 * kMtu);
  }
}

TEST(ShapeTree, RatesAreWholeBytesPerSecondSoReadBackMatches) {
  HtbClass c = leaf_class(kParentClass, kRootHandle, 10'000'007, 10'000'015, 0);
  EXPECT_EQ(c.rate_bps, 10'000'000u);
  EXPECT_EQ(c.ceil_bps, 10'000'008u);
}
