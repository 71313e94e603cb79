#include "bench/shaping/policer.h"

#include <bpf/bpf.h>
#include <net/if.h>

#include <cerrno>
#include <cstring>

#include "execute/shaping/trie_key.h"
#include "guard/bpf_util.h"
#include "tc_shaper.skel.h"
#include "tc_shaper_kern_user.h"

namespace reflex::bench::shaping {

Result<std::unique_ptr<Policer>> Policer::attach(const sim::NetNs& ns, const std::string& iface) {
  std::unique_ptr<Policer> p(new Policer());
  p->skel_ = tc_shaper__open();
  if (!p->skel_) return errno_error("open tc_shaper", errno);
  bpf_program__set_autoload(p->skel_->progs.tc_shaper_classify, false);
  if (int err = tc_shaper__load(p->skel_); err < 0) return errno_error("load the policer", -err);
  int fd = -1, err = 0;
  auto st = ns.run([&] {
    unsigned idx = if_nametoindex(iface.c_str());
    fd = bpf_link_create(bpf_program__fd(p->skel_->progs.tc_shaper_police), static_cast<int>(idx),
                         execute::shaping::kBpfTcxEgress, nullptr);
    if (fd < 0) err = errno;
  });
  if (!st) return st.error();
  if (fd < 0) return errno_error("attach the policer to " + iface, err);
  p->link_ = Fd(fd);
  return p;
}

Policer::~Policer() {
  link_ = Fd();
  if (skel_) tc_shaper__destroy(skel_);
}

Status Policer::set(const std::optional<Prefix>& prefix, std::uint64_t rate_bps, std::uint64_t burst_bytes) {
  std::uint32_t slot = 0;
  if (prefix) {
    slot = 1;
    tc_shaper_key k = execute::shaping::trie_key(*prefix);
    tc_shaper_class v{0, slot};
    if (bpf_map_update_elem(bpf_map__fd(skel_->maps.shaper_prefixes), &k, &v, BPF_ANY) < 0)
      return errno_error("policer prefix", errno);
  }
  tc_shaper_policer_cfg cfg{rate_bps / 8, burst_bytes};
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.policer_cfg), &slot, &cfg, BPF_ANY) < 0)
    return errno_error("policer rate", errno);
  return ok();
}

std::uint64_t Policer::dropped() const {
  auto v = guard::percpu_sum(bpf_map__fd(skel_->maps.shaper_counters), TC_SHAPER_C_POLICED_DROP, 1);
  return v ? (*v)[0] : 0;
}

}  // namespace reflex::bench::shaping
