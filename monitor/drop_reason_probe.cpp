#include "monitor/drop_reason_probe.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf/drop_reasons_kern_user.h"
#include "drop_reasons.skel.h"
#include "guard/bpf_util.h"
#include "monitor/kernel_symbols.h"

namespace reflex::monitor {
namespace {

// Where the kernel frees an skb an XDP program dropped: veth's XDP path and
// generic (skb) XDP. Inlined ones are simply not found.
const std::vector<std::string> kXdpDropSites = {"veth_xdp_rcv_skb", "veth_xdp_rcv",
                                                "netif_receive_generic_xdp", "do_xdp_generic"};

}  // namespace

void DropReasonProbe::SkelDeleter::operator()(drop_reasons* s) const { drop_reasons__destroy(s); }

DropReasonProbe::DropReasonProbe() : dump_(sizeof(drop_key), sizeof(drop_val), true, 1024) {}
DropReasonProbe::~DropReasonProbe() = default;

Status DropReasonProbe::open(boost::asio::io_context&) {
  if (!names_) {
    auto n = DropReasonNames::load();
    if (!n) return n.error();
    names_ = std::move(*n);
  }
  std::unique_ptr<drop_reasons, SkelDeleter> skel(drop_reasons__open());
  if (!skel) return errno_error("open the drop_reasons BPF program", errno);
  // Drops an XDP program made are counted by whoever runs it (the guard's
  // verdicts); here they would pass for unintended ones. Where the driver
  // frees them as skbs, name them by their call site.
  auto sites = kernel_function_ranges(kXdpDropSites);
  if (sites) {
    std::size_t n = std::min<std::size_t>(sites->size(), DROP_XDP_SITES);
    for (std::size_t i = 0; i < n; ++i) {
      skel->rodata->xdp_site_start[i] = (*sites)[i].start;
      skel->rodata->xdp_site_end[i] = (*sites)[i].end;
    }
    skel->rodata->xdp_sites = static_cast<std::uint32_t>(n);
  }
  if (int err = drop_reasons__load(skel.get()); err)
    return errno_error("load the drop_reasons BPF program", err, "run as root with CAP_BPF and CAP_PERFMON");
  if (int err = drop_reasons__attach(skel.get()); err)
    return errno_error("attach drop_reasons to the skb:kfree_skb raw tracepoint", err);
  auto info = guard::map_info(bpf_map__fd(skel->maps.drops));
  if (!info) return info.error();
  drops_id_ = info->id;
  skel_ = std::move(skel);
  // A fresh map counts from zero.
  for (auto& [k, c] : counters_) c.rebase();
  map_full_.reset();
  return ok();
}

void DropReasonProbe::close() { skel_.reset(); }

Status DropReasonProbe::sample(TickContext& ctx, Observation& obs) {
  std::map<IfaceId, const std::string*> watched;
  for (const auto& [key, id] : ctx.ifaces) watched.emplace(id, &key);

  auto n = dump_.dump(bpf_map__fd(skel_->maps.drops), [&](const std::uint8_t* k, const std::uint8_t* v) {
    drop_key key;
    std::memcpy(&key, k, sizeof(key));
    auto it = watched.find(IfaceId{key.netns_ino, key.ifindex});
    if (it == watched.end()) return;
    std::uint64_t sum[2];
    sum_percpu_words<2>(v, dump_.ncpu(), dump_.stride(), sum);
    Counter& c = counters_[{*it->second, key.reason}];
    c.update(sum[0]);
  });
  if (!n) return make_error("read kernel drop counters: " + n.error().message());
  for (const auto& [k, c] : counters_) {
    auto io = obs.interfaces.find(k.first);
    if (io != obs.interfaces.end() && c.total()) io->second.drops[names_->name(k.second)] += c.total();
  }

  map_full_.check(ctx, name(), bpf_map__fd(skel_->maps.drop_stats), DROP_S_MAP_FULL, "drops", "drop_reasons",
                  DROP_MAX_KEYS, "namespace/interface/reason");
  ctx.maps.push_back(OwnedMap{"drop_reasons", drops_id_, DROP_MAX_KEYS, std::nullopt});
  return ok();
}

}  // namespace reflex::monitor
