#include "execute/shaping/tc_netlink.h"

#include <linux/pkt_sched.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/tc.h>

#include <algorithm>

namespace reflex::execute::shaping {
namespace {

template <class T, void (*Free)(T*)>
struct NlPtr {
  T* p = nullptr;
  NlPtr() = default;
  explicit NlPtr(T* x) : p(x) {}
  NlPtr(const NlPtr&) = delete;
  NlPtr& operator=(const NlPtr&) = delete;
  ~NlPtr() {
    if (p) Free(p);
  }
  T* get() const { return p; }
};
using CachePtr = NlPtr<nl_cache, nl_cache_free>;
using QdiscPtr = NlPtr<rtnl_qdisc, rtnl_qdisc_put>;
using ClassPtr = NlPtr<rtnl_class, rtnl_class_put>;
using LinkPtr = NlPtr<rtnl_link, rtnl_link_put>;

// libnl returns -NLE_* codes; keep the text and the code.
Error nl_error(const std::string& what, int err, std::string hint = {}) {
  return make_error(what + ": " + nl_geterror(err), std::move(hint), err < 0 ? -err : err);
}

std::string permission_hint(int err) {
  return -err == NLE_PERM ? "run as root (CAP_NET_ADMIN in the interface's namespace)" : "";
}

}  // namespace

void TcNetlink::SockDeleter::operator()(nl_sock* s) const { nl_socket_free(s); }

TcNetlink::TcNetlink(TcNetlink&&) noexcept = default;
TcNetlink& TcNetlink::operator=(TcNetlink&&) noexcept = default;
TcNetlink::~TcNetlink() = default;

Result<TcNetlink> TcNetlink::open(const monitor::NetnsHandle& ns, std::string where) {
  TcNetlink t;
  t.where_ = std::move(where);
  t.sock_.reset(nl_socket_alloc());
  if (!t.sock_) return make_error("netlink socket for " + t.where_ + ": out of memory");
  int err = 0;
  auto st = monitor::run_in_netns(ns, [&] { err = nl_connect(t.sock_.get(), NETLINK_ROUTE); });
  if (!st) return st.error();
  if (err < 0) return nl_error("netlink socket for " + t.where_, err);
  return t;
}

Result<int> TcNetlink::ifindex(const std::string& iface) const {
  rtnl_link* raw = nullptr;
  int err = rtnl_link_get_kernel(sock_.get(), 0, iface.c_str(), &raw);
  LinkPtr link(raw);
  if (err < 0)
    return nl_error(
        "find interface " + where_, err,
        -err == NLE_OBJ_NOTFOUND || -err == NLE_NODEV ? "check the name and namespace (`ip link`)" : "");
  return rtnl_link_get_ifindex(link.get());
}

Result<RootQdisc> TcNetlink::root(int ifindex) const {
  nl_cache* raw = nullptr;
  if (int err = rtnl_qdisc_alloc_cache(sock_.get(), &raw); err < 0)
    return nl_error("list qdiscs of " + where_, err, permission_hint(err));
  CachePtr cache(raw);
  QdiscPtr q(rtnl_qdisc_get_by_parent(cache.get(), ifindex, TC_H_ROOT));
  RootQdisc r;
  if (!q.get()) return r;
  r.present = true;
  const char* kind = rtnl_tc_get_kind(TC_CAST(q.get()));
  r.kind = kind ? kind : "";
  r.handle = rtnl_tc_get_handle(TC_CAST(q.get()));
  if (r.kind == "htb") r.defcls = rtnl_htb_get_defcls(q.get());
  return r;
}

Result<std::vector<HtbClass>> TcNetlink::classes(int ifindex) const {
  nl_cache* raw = nullptr;
  if (int err = rtnl_class_alloc_cache(sock_.get(), ifindex, &raw); err < 0)
    return nl_error("list classes of " + where_, err, permission_hint(err));
  CachePtr cache(raw);
  std::vector<HtbClass> out;
  for (nl_object* o = nl_cache_get_first(cache.get()); o; o = nl_cache_get_next(o)) {
    auto* cls = reinterpret_cast<rtnl_class*>(o);
    rtnl_tc* tc = TC_CAST(cls);
    const char* kind = rtnl_tc_get_kind(tc);
    if (!kind || std::string_view(kind) != "htb" || !is_ours(rtnl_tc_get_handle(tc))) continue;
    HtbClass c;
    c.classid = rtnl_tc_get_handle(tc);
    c.parent = rtnl_tc_get_parent(tc);
    // The kernel reports a top-level class's parent as TC_H_ROOT; libnl (and
    // reflex's tree) name it by the qdisc's handle.
    if (c.parent == TC_H_ROOT) c.parent = tc_handle(c.classid >> 16, 0);
    std::uint64_t rate = 0, ceil = 0;
    if (rtnl_htb_get_rate64(cls, &rate) < 0) rate = rtnl_htb_get_rate(cls);
    if (rtnl_htb_get_ceil64(cls, &ceil) < 0) ceil = rtnl_htb_get_ceil(cls);
    c.rate_bps = rate * 8;  // libnl speaks bytes per second
    c.ceil_bps = ceil * 8;
    c.burst_bytes = rtnl_htb_get_rbuffer(cls);
    c.cburst_bytes = rtnl_htb_get_cbuffer(cls);
    c.quantum = rtnl_htb_get_quantum(cls);
    c.bytes = rtnl_tc_get_stat(tc, RTNL_TC_BYTES);
    c.packets = rtnl_tc_get_stat(tc, RTNL_TC_PACKETS);
    c.drops = rtnl_tc_get_stat(tc, RTNL_TC_DROPS);
    c.backlog_bytes = rtnl_tc_get_stat(tc, RTNL_TC_BACKLOG);
    c.backlog_packets = rtnl_tc_get_stat(tc, RTNL_TC_QLEN);
    out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const HtbClass& a, const HtbClass& b) { return a.classid < b.classid; });
  return out;
}

// reflex's root qdisc on ifindex, as a request (nullptr: out of memory).
static rtnl_qdisc* our_root(int ifindex) {
  rtnl_qdisc* q = rtnl_qdisc_alloc();
  if (!q) return nullptr;
  rtnl_tc* tc = TC_CAST(q);
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, TC_H_ROOT);
  rtnl_tc_set_handle(tc, kRootHandle);  // on delete, the kernel refuses if the root is not RF: any more
  return q;
}

Status TcNetlink::add_root(int ifindex) const {
  QdiscPtr q(our_root(ifindex));
  if (!q.get()) return make_error("add root qdisc on " + where_ + ": out of memory");
  if (int err = rtnl_tc_set_kind(TC_CAST(q.get()), "htb"); err < 0)
    return nl_error("add root qdisc on " + where_, err);
  rtnl_htb_set_defcls(q.get(), kDefaultMinor);
  rtnl_htb_set_rate2quantum(q.get(), 10);
  // EXCL: replaces the kernel's default root qdisc, never one somebody added
  // between our read and this call.
  if (int err = rtnl_qdisc_add(sock_.get(), q.get(), NLM_F_CREATE | NLM_F_EXCL); err < 0)
    return nl_error("add root qdisc htb " + handle_str(kRootHandle) + " on " + where_, err,
                    -err == NLE_EXIST ? "another root qdisc appeared on the interface; see `tc qdisc show`"
                                      : permission_hint(err));
  return ok();
}

Status TcNetlink::delete_root(int ifindex) const {
  QdiscPtr q(our_root(ifindex));
  if (!q.get()) return make_error("delete root qdisc on " + where_ + ": out of memory");
  int err = rtnl_qdisc_delete(sock_.get(), q.get());
  if (err < 0 && -err != NLE_OBJ_NOTFOUND && -err != NLE_NODEV)
    return nl_error("delete root qdisc " + handle_str(kRootHandle) + " on " + where_, err,
                    permission_hint(err));
  return ok();
}

Status TcNetlink::put_class(int ifindex, const HtbClass& c, bool create) const {
  ClassPtr cls(rtnl_class_alloc());
  std::string what = (create ? "add class " : "change class ") + handle_str(c.classid) + " on " + where_;
  if (!cls.get()) return make_error(what + ": out of memory");
  rtnl_tc* tc = TC_CAST(cls.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_parent(tc, c.parent);
  rtnl_tc_set_handle(tc, c.classid);
  if (int err = rtnl_tc_set_kind(tc, "htb"); err < 0) return nl_error(what, err);
  rtnl_htb_set_rate64(cls.get(), c.rate_bps / 8);
  rtnl_htb_set_ceil64(cls.get(), c.ceil_bps / 8);
  rtnl_htb_set_rbuffer(cls.get(), c.burst_bytes);
  rtnl_htb_set_cbuffer(cls.get(), c.cburst_bytes);
  rtnl_htb_set_quantum(cls.get(), c.quantum);
  rtnl_htb_set_prio(cls.get(), 0);
  // Without NLM_F_CREATE the kernel changes the existing class in place
  // (htb_change_class): same class, same leaf queue, only new rates.
  int flags = create ? NLM_F_CREATE | NLM_F_EXCL : 0;
  if (int err = rtnl_class_add(sock_.get(), cls.get(), flags); err < 0)
    return nl_error(what, err, permission_hint(err));
  return ok();
}

Status TcNetlink::delete_class(int ifindex, std::uint32_t classid) const {
  ClassPtr cls(rtnl_class_alloc());
  if (!cls.get()) return make_error("delete class on " + where_ + ": out of memory");
  rtnl_tc* tc = TC_CAST(cls.get());
  rtnl_tc_set_ifindex(tc, ifindex);
  rtnl_tc_set_handle(tc, classid);
  int err = rtnl_class_delete(sock_.get(), cls.get());
  if (err < 0 && -err != NLE_OBJ_NOTFOUND && -err != NLE_NODEV)
    return nl_error("delete class " + handle_str(classid) + " on " + where_, err, permission_hint(err));
  return ok();
}

}  // namespace reflex::execute::shaping
