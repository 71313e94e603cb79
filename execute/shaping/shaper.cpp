#include "execute/shaping/shaper.h"

#include <spdlog/spdlog.h>

#include "execute/shaping/classifier.h"
#include "execute/shaping/tc_netlink.h"
#include "monitor/netns.h"

namespace reflex::execute::shaping {
namespace {

std::shared_ptr<spdlog::logger> logger() {
  static auto log = [] {
    auto l = spdlog::get("execute");
    return l ? l : spdlog::default_logger();
  }();
  return log;
}

}  // namespace

struct Shaper::Impl {
  std::string iface, netns, where;
  monitor::NetnsHandle ns;
  TcNetlink nl;
  Classifier classifier;
  std::vector<TreeOp> last_ops;

  Result<int> ifindex() const { return nl.ifindex(iface); }

  Result<TreeState> state(int ifindex) const {
    TreeState t;
    auto root = nl.root(ifindex);
    if (!root) return root.error();
    t.root_kind = root->kind;
    t.root_handle = root->handle;
    t.root_defcls = root->defcls;
    if (!root->present || root->handle == 0)
      t.root = RootKind::kernel_default;
    else if (root->kind == "htb" && root->handle == kRootHandle)
      t.root = RootKind::ours;
    else
      t.root = RootKind::foreign;
    if (t.root == RootKind::ours) {
      auto cls = nl.classes(ifindex);
      if (!cls) return cls.error();
      t.classes = std::move(*cls);
    }
    auto entries = classifier.entries();
    if (!entries) return entries.error();
    t.prefixes = std::move(*entries);
    t.classifier_attached = classifier.attached(ifindex);
    return t;
  }

  Error foreign_root(const TreeState& t) const {
    return make_error("the root qdisc of " + where + " is " + t.root_kind + " " + handle_str(t.root_handle) +
                          ", not reflex's (htb " + handle_str(kRootHandle) + "); reflex leaves it alone",
                      "if nothing else needs it, remove it (`tc qdisc del dev " + iface + " root`" +
                          (netns.empty() ? "" : " in netns " + netns) +
                          ") and reflex builds its own; or shape this interface with the tool that made it");
  }

  Status apply(int ifindex, const TreeOp& op) {
    using K = TreeOp::Kind;
    switch (op.kind) {
      case K::add_root:
        return nl.add_root(ifindex);
      case K::add_class:
        return nl.put_class(ifindex, op.cls, true);
      case K::change_class:
        return nl.put_class(ifindex, op.cls, false);
      case K::put_prefix:
        return classifier.put(op.prefix, op.cls.classid);
      case K::attach_classifier:
        return classifier.attach(ifindex, ns);
      case K::delete_prefix:
        return classifier.erase(op.prefix);
      case K::delete_class:
        return nl.delete_class(ifindex, op.cls.classid);
      case K::detach_classifier:
        return classifier.detach();
      case K::delete_root:
        return nl.delete_root(ifindex);
    }
    return ok();
  }

  // One pass: read, plan, apply. Stops at the first failing step.
  Status converge_once(std::span<const DesiredShape> want, int ifindex, const TreeState& have) {
    last_ops = plan_converge(want, have);
    for (const auto& op : last_ops) {
      if (auto s = apply(ifindex, op); !s) {
        Error e = s.error();
        e.what = "shape " + where + ": " + op.describe() + ": " + e.what;
        return e;
      }
      logger()->debug("shape {}: {}", where, op.describe());
    }
    return ok();
  }
};

Shaper::Shaper(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Shaper::Shaper(Shaper&&) noexcept = default;
Shaper& Shaper::operator=(Shaper&&) noexcept = default;
Shaper::~Shaper() = default;

Result<Shaper> Shaper::open(const std::string& iface, const std::string& netns, ShaperOptions opts) {
  std::string where = netns.empty() ? iface : iface + "@" + netns;
  auto ns = monitor::open_netns(netns);
  if (!ns) return ns.error();
  auto nl = TcNetlink::open(*ns, where);
  if (!nl) return nl.error();
  if (auto idx = nl->ifindex(iface); !idx) return idx.error();
  auto cls = Classifier::open(opts.pin_root + "/shaping/" + where, where);
  if (!cls) return cls.error();
  return Shaper(
      std::make_unique<Impl>(Impl{iface, netns, where, std::move(*ns), std::move(*nl), std::move(*cls), {}}));
}

const std::string& Shaper::where() const { return impl_->where; }
const std::vector<TreeOp>& Shaper::last_ops() const { return impl_->last_ops; }

Result<TreeState> Shaper::state() const {
  auto idx = impl_->ifindex();
  if (!idx) return idx.error();
  return impl_->state(*idx);
}

Result<std::vector<ActualShape>> Shaper::read() const {
  auto st = state();
  if (!st) return st.error();
  if (st->root == RootKind::foreign) return impl_->foreign_root(*st);
  return shapes_of(*st);
}

Status Shaper::converge(std::span<const DesiredShape> want) {
  if (auto v = validate(want, impl_->where); !v) return v;
  auto idx = impl_->ifindex();
  if (!idx) return idx.error();
  auto before = impl_->state(*idx);
  if (!before) return before.error();
  if (before->root == RootKind::foreign) {
    impl_->last_ops.clear();
    if (!want.empty()) return impl_->foreign_root(*before);
  }
  auto st = impl_->converge_once(want, *idx, *before);
  if (st) return st;
  // Whole or nothing: put back the shapes that were there.
  auto applied = impl_->last_ops;
  auto prev = shapes_of(*before);
  auto prev_want = as_desired(prev);
  if (auto now = impl_->state(*idx); now) {
    if (auto r = impl_->converge_once(prev_want, *idx, *now); !r)
      logger()->warn("shape {}: rollback incomplete: {}; the next converge retries", impl_->where,
                     r.error().message());
  }
  impl_->last_ops = std::move(applied);
  return st;
}

Status Shaper::clear() {
  if (auto s = converge({}); !s) return s;
  return impl_->classifier.remove();
}

}  // namespace reflex::execute::shaping
