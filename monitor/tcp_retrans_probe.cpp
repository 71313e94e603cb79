#include "monitor/tcp_retrans_probe.h"

#include <cerrno>
#include <cstring>

#include "bpf/tcp_retrans_kern_user.h"
#include "guard/bpf_util.h"
#include "tcp_retrans.skel.h"

namespace reflex::monitor {

void TcpRetransProbe::SkelDeleter::operator()(tcp_retrans* s) const { tcp_retrans__destroy(s); }

TcpRetransProbe::TcpRetransProbe() : dump_(sizeof(retrans_key), sizeof(retrans_val), true, 256) {}
TcpRetransProbe::~TcpRetransProbe() = default;

Status TcpRetransProbe::open(boost::asio::io_context&) {
  std::unique_ptr<tcp_retrans, SkelDeleter> skel(tcp_retrans__open_and_load());
  if (!skel)
    return errno_error(
        "load the tcp_retrans BPF program", errno,
        "run as root with CAP_BPF and CAP_PERFMON; the kernel needs BTF (CONFIG_DEBUG_INFO_BTF)");
  if (int err = tcp_retrans__attach(skel.get()); err)
    return errno_error("attach tcp_retrans to the tcp and sock tracepoints (tp_btf)", err);
  auto info = guard::map_info(bpf_map__fd(skel->maps.retrans_counts));
  if (!info) return info.error();
  counts_id_ = info->id;
  skel_ = std::move(skel);
  // A fresh map counts from zero.
  for (auto& [k, r] : rates_) r.rebase();
  map_full_.reset();
  return ok();
}

void TcpRetransProbe::close() { skel_.reset(); }

Status TcpRetransProbe::sample(TickContext& ctx, Observation& obs) {
  std::map<IfaceId, const std::string*> watched;
  for (const auto& [key, id] : ctx.ifaces) watched.emplace(id, &key);

  std::map<std::string, retrans_val> now;
  auto n =
      dump_.dump(bpf_map__fd(skel_->maps.retrans_counts), [&](const std::uint8_t* k, const std::uint8_t* v) {
        retrans_key key;
        std::memcpy(&key, k, sizeof(key));
        auto it = watched.find(IfaceId{key.netns_ino, key.ifindex});
        if (it == watched.end()) return;
        std::uint64_t sum[2];
        sum_percpu_words<2>(v, dump_.ncpu(), dump_.stride(), sum);
        now[*it->second] = retrans_val{sum[0], sum[1]};
      });
  if (!n) return make_error("read TCP retransmit counters: " + n.error().message());

  for (const auto& [key, id] : ctx.ifaces) {
    const retrans_val cur = now.count(key) ? now[key] : retrans_val{};
    RetransSummary s = rates_[key].update(cur.retrans_segs, cur.data_segs, ctx.now_ns);
    if (auto io = obs.interfaces.find(key); io != obs.interfaces.end()) io->second.retrans = s;
  }

  map_full_.check(ctx, name(), bpf_map__fd(skel_->maps.retrans_stats), RETRANS_S_MAP_FULL,
                  "charges of TCP segments", "tcp_retrans", RETRANS_MAX_KEYS, "namespace/interface");
  ctx.maps.push_back(OwnedMap{"tcp_retrans", counts_id_, RETRANS_MAX_KEYS, std::nullopt});
  return ok();
}

}  // namespace reflex::monitor
