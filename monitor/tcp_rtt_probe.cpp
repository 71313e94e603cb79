#include "monitor/tcp_rtt_probe.h"

#include <cerrno>
#include <cstring>

#include "guard/bpf_util.h"
#include "monitor/histogram.h"
#include "tcp_rtt.skel.h"

namespace reflex::monitor {

void TcpRttProbe::SkelDeleter::operator()(tcp_rtt* s) const { tcp_rtt__destroy(s); }

TcpRttProbe::TcpRttProbe() : dump_(sizeof(rtt_key), sizeof(rtt_hist), true, 256) {}
TcpRttProbe::~TcpRttProbe() = default;

Status TcpRttProbe::open(boost::asio::io_context&) {
  std::unique_ptr<tcp_rtt, SkelDeleter> skel(tcp_rtt__open_and_load());
  if (!skel)
    return errno_error("load the tcp_rtt BPF program", errno, "run as root with CAP_BPF and CAP_PERFMON");
  if (int err = tcp_rtt__attach(skel.get()); err)
    return errno_error("attach tcp_rtt to the tcp:tcp_probe raw tracepoint", err);
  auto info = guard::map_info(bpf_map__fd(skel->maps.rtt_hists));
  if (!info) return info.error();
  hists_id_ = info->id;
  skel_ = std::move(skel);
  // A fresh map starts from zero: forget the old cumulative histograms.
  for (auto& [k, s] : seen_) s.last = Hist{};
  return ok();
}

void TcpRttProbe::close() { skel_.reset(); }

Status TcpRttProbe::sample(TickContext& ctx, Observation& obs) {
  std::map<IfaceId, const std::string*> watched;
  for (const auto& [key, id] : ctx.ifaces) watched.emplace(id, &key);

  std::map<std::string, Hist> now;
  auto n = dump_.dump(bpf_map__fd(skel_->maps.rtt_hists), [&](const std::uint8_t* k, const std::uint8_t* v) {
    rtt_key key;
    std::memcpy(&key, k, sizeof(key));
    auto it = watched.find(IfaceId{key.netns_ino, key.ifindex});
    if (it == watched.end()) return;
    constexpr std::size_t kWords = RTT_SLOTS + 2;
    std::uint64_t sum[kWords];
    sum_percpu_words<kWords>(v, dump_.ncpu(), dump_.stride(), sum);
    Hist& h = now[*it->second];
    for (std::size_t i = 0; i < RTT_SLOTS; ++i) h.slots[i] = sum[i];
    h.count = sum[RTT_SLOTS];
    h.sum_us = sum[RTT_SLOTS + 1];
  });
  if (!n) return make_error("read TCP RTT histograms: " + n.error().message());

  for (const auto& [key, id] : ctx.ifaces) {
    Seen& s = seen_[key];
    const Hist cur = now.count(key) ? now[key] : Hist{};
    RttSummary r;
    std::uint64_t sum_us = 0;
    for (std::size_t i = 0; i < RTT_SLOTS; ++i) {
      // Slots only grow while the map lives; a smaller value means it was recreated.
      std::uint64_t d = cur.slots[i] >= s.last.slots[i] ? cur.slots[i] - s.last.slots[i] : cur.slots[i];
      r.log2_us_buckets[i] = d;
      r.samples += d;
    }
    sum_us = cur.sum_us >= s.last.sum_us ? cur.sum_us - s.last.sum_us : cur.sum_us;
    s.samples_total += r.samples;
    s.last = cur;
    r.samples_total = s.samples_total;
    if (r.samples) {
      r.p50_us = log2_quantile(r.log2_us_buckets, 0.50);
      r.p90_us = log2_quantile(r.log2_us_buckets, 0.90);
      r.p99_us = log2_quantile(r.log2_us_buckets, 0.99);
      r.mean_us = static_cast<double>(sum_us) / static_cast<double>(r.samples);
    }
    if (auto io = obs.interfaces.find(key); io != obs.interfaces.end()) io->second.rtt = r;
  }
  ctx.maps.push_back(OwnedMap{"tcp_rtt", hists_id_, RTT_MAX_KEYS, std::nullopt});
  return ok();
}

}  // namespace reflex::monitor
