#include "execute/shaping/shape_tree.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace reflex::execute::shaping {
namespace {

Prefix masked(Prefix p) {
  mask_prefix(p);
  return p;
}

std::uint32_t quantum_for(std::uint64_t rate_bps) {
  // htb's own rate/r2q, held between one MTU and the 200000 past which htb complains.
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(rate_bps / 8 / 10, kMtu, 200'000));
}

bool near(std::uint32_t a, std::uint32_t b) {
  // Bursts go to the kernel as a time at the rate and come back converted to
  // bytes again: allow 1% (and a few bytes) of rounding, never a real change.
  std::uint32_t d = a > b ? a - b : b - a;
  return d <= std::max(a, b) / 100 + 16;
}

const HtbClass* find_class(const std::vector<HtbClass>& v, std::uint32_t classid) {
  auto it = std::lower_bound(v.begin(), v.end(), classid,
                             [](const HtbClass& c, std::uint32_t id) { return c.classid < id; });
  return it != v.end() && it->classid == classid ? &*it : nullptr;
}

std::string rate_str(std::uint64_t bps) {
  char buf[32];
  if (bps >= 1'000'000 && bps % 1000 == 0)
    std::snprintf(buf, sizeof buf, "%.3g Mbit/s", static_cast<double>(bps) / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%llu bit/s", static_cast<unsigned long long>(bps));
  return buf;
}

}  // namespace

std::string handle_str(std::uint32_t handle) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%x:%x", handle >> 16, handle & 0xffff);
  return buf;
}

bool HtbClass::same_settings(const HtbClass& o) const {
  return classid == o.classid && parent == o.parent && rate_bps == o.rate_bps && ceil_bps == o.ceil_bps &&
         quantum == o.quantum && near(burst_bytes, o.burst_bytes) && near(cburst_bytes, o.cburst_bytes);
}

std::string TreeOp::describe() const {
  switch (kind) {
    case Kind::add_root:
      return "add root qdisc htb " + handle_str(kRootHandle);
    case Kind::add_class:
      return "add class " + handle_str(cls.classid) + " rate " + rate_str(cls.rate_bps);
    case Kind::change_class:
      return "change class " + handle_str(cls.classid) + " rate " + rate_str(cls.rate_bps);
    case Kind::put_prefix:
      return "classify " + prefix.to_string() + " to " + handle_str(cls.classid);
    case Kind::attach_classifier:
      return "attach the egress classifier";
    case Kind::delete_prefix:
      return "stop classifying " + prefix.to_string();
    case Kind::delete_class:
      return "delete class " + handle_str(cls.classid);
    case Kind::detach_classifier:
      return "detach the egress classifier";
    case Kind::delete_root:
      return "delete root qdisc htb " + handle_str(kRootHandle);
  }
  return "?";
}

std::uint32_t default_burst(std::uint64_t rate_bps) {
  // 5 ms at the rate: htb's timer runs at well under that, so a class can send
  // at its rate between wake-ups; at least a few full frames, so a low rate
  // still sends whole packets without stalling.
  return static_cast<std::uint32_t>(std::clamp<std::uint64_t>(rate_bps / 8 / 200, 4 * kMtu, 1u << 20));
}

HtbClass leaf_class(std::uint32_t classid, std::uint32_t parent, std::uint64_t rate_bps,
                    std::uint64_t ceil_bps, std::uint64_t burst_bytes) {
  HtbClass c;
  c.classid = classid;
  c.parent = parent;
  // htb (and libnl) keep bytes per second: a rate that is not a whole number
  // of bytes would read back lower and look like a change on every converge.
  c.rate_bps = rate_bps / 8 * 8;
  c.ceil_bps = ceil_bps / 8 * 8;
  c.burst_bytes = burst_bytes ? static_cast<std::uint32_t>(burst_bytes) : default_burst(rate_bps);
  c.cburst_bytes = burst_bytes ? static_cast<std::uint32_t>(burst_bytes) : default_burst(ceil_bps);
  c.quantum = quantum_for(rate_bps);
  return c;
}

Status validate(std::span<const DesiredShape> want, const std::string& iface) {
  std::set<std::optional<Prefix>> seen;
  std::size_t prefixes = 0;
  for (const auto& s : want) {
    std::string what = "shape " + (s.prefix ? s.prefix->to_string() : std::string("(whole interface)")) +
                       " on " + iface + (s.action_id.empty() ? "" : " (action " + s.action_id + ")");
    if (s.rate_bps < kMinRateBps || s.rate_bps > kUnlimitedBps)
      return make_error(what + ": rate " + std::to_string(s.rate_bps) + " bit/s is out of range",
                        "give a rate from " + std::to_string(kMinRateBps) + " bit/s to " +
                            std::to_string(kUnlimitedBps / 1'000'000'000) + " Gbit/s");
    if (s.burst_bytes > kMaxBurstBytes)
      return make_error(what + ": burst " + std::to_string(s.burst_bytes) + " bytes is too large",
                        "give at most " + std::to_string(kMaxBurstBytes) + " bytes, or 0 for the default");
    auto key = s.prefix ? std::optional<Prefix>(masked(*s.prefix)) : std::nullopt;
    if (!seen.insert(key).second)
      return make_error(what + ": the list shapes it twice",
                        "give one shape per prefix and one for the interface");
    if (s.prefix && ++prefixes > kMaxPrefixShapes)
      return make_error(
          "shapes on " + iface + ": more than " + std::to_string(kMaxPrefixShapes) + " prefixes",
          "shape a covering prefix instead of many small ones");
  }
  return ok();
}

DesiredTree desired_tree(std::span<const DesiredShape> want, const TreeState& have) {
  DesiredTree out;
  const DesiredShape* iface = nullptr;
  std::map<Prefix, const DesiredShape*> prefixes;
  for (const auto& s : want) {
    if (s.prefix)
      prefixes[masked(*s.prefix)] = &s;
    else
      iface = &s;
  }
  std::uint64_t parent_rate = iface ? iface->rate_bps : kUnlimitedBps;
  // The interface's burst, explicit, so RF:1 and the default leaf share it and
  // it reads back as the shape's burst.
  std::uint64_t iface_burst = iface && iface->burst_bytes ? iface->burst_bytes : default_burst(parent_rate);
  out.classes.push_back(leaf_class(kParentClass, kRootHandle, parent_rate, parent_rate, iface_burst));

  // Minors: keep the one a prefix has; new prefixes take the lowest free one.
  std::set<std::uint32_t> used;
  for (const auto& c : have.classes) used.insert(c.classid & 0xffff);
  for (const auto& [p, id] : have.prefixes) used.insert(id & 0xffff);
  std::set<std::uint32_t> claimed;
  std::uint32_t next = kFirstPrefixMinor;
  std::uint64_t prefix_sum = 0;
  for (const auto& [p, s] : prefixes) {
    std::uint32_t classid = 0;
    if (auto it = have.prefixes.find(p); it != have.prefixes.end() && is_ours(it->second) &&
                                         (it->second & 0xffff) >= kFirstPrefixMinor &&
                                         !claimed.count(it->second & 0xffff))
      classid = it->second;
    out.prefixes[p] = classid;  // 0: to allocate below, after every kept minor is claimed
    if (classid) claimed.insert(classid & 0xffff);
    prefix_sum += iface ? std::min(s->rate_bps, iface->rate_bps) : s->rate_bps;
  }
  for (auto& [p, classid] : out.prefixes) {
    if (classid) continue;
    while (used.count(next) || claimed.count(next)) ++next;
    claimed.insert(next);
    classid = tc_handle(kMajor, next);
  }
  if (iface) {
    // The rest of the interface's traffic is guaranteed what the prefixes leave
    // and may borrow up to the interface's rate when they are idle.
    std::uint64_t rest = iface->rate_bps > prefix_sum ? iface->rate_bps - prefix_sum : 0;
    out.classes.push_back(
        leaf_class(kDefaultClass, kParentClass, std::max(rest, kMinRateBps), iface->rate_bps, iface_burst));
  }
  for (const auto& [p, classid] : out.prefixes) {
    const DesiredShape& s = *prefixes[p];
    out.classes.push_back(leaf_class(classid, kParentClass, s.rate_bps, s.rate_bps, s.burst_bytes));
  }
  std::sort(out.classes.begin(), out.classes.end(),
            [](const HtbClass& a, const HtbClass& b) { return a.classid < b.classid; });
  return out;
}

std::vector<TreeOp> plan_converge(std::span<const DesiredShape> want, const TreeState& have) {
  using K = TreeOp::Kind;
  std::vector<TreeOp> ops;
  const bool root_ours = have.root == RootKind::ours;
  if (want.empty()) {
    if (have.classifier_attached) ops.push_back({K::detach_classifier});
    for (const auto& [p, id] : have.prefixes) ops.push_back({K::delete_prefix, {}, p});
    if (root_ours) ops.push_back({K::delete_root});
    return ops;
  }
  // A fresh root starts with no classes, whatever a stale read said.
  TreeState cur = have;
  if (!root_ours) {
    ops.push_back({K::add_root});
    cur.classes.clear();
  }
  DesiredTree d = desired_tree(want, cur);
  // Classes whose parent is wrong cannot be changed in place: delete, then add.
  std::vector<std::uint32_t> reparent;
  for (const auto& c : d.classes)
    if (const HtbClass* h = find_class(cur.classes, c.classid); h && h->parent != c.parent)
      reparent.push_back(c.classid);
  for (auto it = reparent.rbegin(); it != reparent.rend(); ++it) {
    HtbClass gone;
    gone.classid = *it;
    ops.push_back({K::delete_class, gone});
  }
  // Parents sort first (RF:1 has the lowest minor), so adds run top-down.
  for (const auto& c : d.classes) {
    const HtbClass* h = find_class(cur.classes, c.classid);
    bool moved = std::find(reparent.begin(), reparent.end(), c.classid) != reparent.end();
    if (!h || moved)
      ops.push_back({K::add_class, c});
    else if (!h->same_settings(c))
      ops.push_back({K::change_class, c});
  }
  for (const auto& [p, id] : d.prefixes) {
    auto it = cur.prefixes.find(p);
    if (it == cur.prefixes.end() || it->second != id) {
      HtbClass c;
      c.classid = id;
      ops.push_back({K::put_prefix, c, p});
    }
  }
  if (!d.prefixes.empty() && !cur.classifier_attached) ops.push_back({K::attach_classifier});
  for (const auto& [p, id] : cur.prefixes)
    if (!d.prefixes.count(p)) ops.push_back({K::delete_prefix, {}, p});
  if (d.prefixes.empty() && cur.classifier_attached) ops.push_back({K::detach_classifier});
  // Children before parents: RF:1 is never among them, and prefix leaves
  // (the only classes with children are RF:1) sort after it.
  for (auto it = cur.classes.rbegin(); it != cur.classes.rend(); ++it)
    if (!find_class(d.classes, it->classid)) ops.push_back({K::delete_class, *it});
  return ops;
}

std::vector<ActualShape> shapes_of(const TreeState& have) {
  std::vector<ActualShape> out;
  if (have.root != RootKind::ours) return out;
  const HtbClass* parent = find_class(have.classes, kParentClass);
  if (parent && find_class(have.classes, kDefaultClass)) {
    ActualShape s;
    s.rate_bps = parent->ceil_bps;
    s.burst_bytes = parent->burst_bytes;
    s.classid = parent->classid;
    s.bytes = parent->bytes;
    s.packets = parent->packets;
    // An inner class holds no queue: its drops and backlog are its leaves'.
    for (const auto& c : have.classes)
      if (c.parent == kParentClass) {
        s.drops += c.drops;
        s.backlog_bytes += c.backlog_bytes;
        s.backlog_packets += c.backlog_packets;
      }
    out.push_back(s);
  }
  for (const auto& [p, id] : have.prefixes) {
    const HtbClass* c = find_class(have.classes, id);
    if (!c || c->parent != kParentClass) continue;  // half-built: converge repairs it
    ActualShape s;
    s.prefix = p;
    s.rate_bps = c->ceil_bps;
    s.burst_bytes = c->burst_bytes;
    s.classid = id;
    s.bytes = c->bytes;
    s.packets = c->packets;
    s.drops = c->drops;
    s.backlog_bytes = c->backlog_bytes;
    s.backlog_packets = c->backlog_packets;
    out.push_back(s);
  }
  return out;
}

std::vector<DesiredShape> as_desired(std::span<const ActualShape> shapes) {
  std::vector<DesiredShape> out;
  for (const auto& a : shapes) {
    DesiredShape d;
    d.prefix = a.prefix;
    d.rate_bps = a.rate_bps;
    d.burst_bytes = a.burst_bytes;
    out.push_back(d);
  }
  return out;
}

}  // namespace reflex::execute::shaping
