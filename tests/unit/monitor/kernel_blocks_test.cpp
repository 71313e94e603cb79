// The Monitor's kernel-facing building blocks on real maps and programs:
// batch dumps, the map fill iterator, a full map's counter, the ring buffer
// on an asio loop, and names from kernel BTF.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstring>
#include <map>
#include <memory>
#include <optional>

#include "bpf/ringbuf_bench_kern_user.h"
#include "guard/bpf_util.h"
#include "guard/test_run.h"
#include "monitor/kernel_names.h"
#include "monitor/kernel_symbols.h"
#include "monitor/map_dump.h"
#include "monitor/map_full_watch.h"
#include "monitor/map_pressure_probe.h"
#include "monitor/ring_reader.h"
#include "ringbuf_bench.skel.h"
#include "tests/support/kernel_env.h"

using namespace reflex;
using namespace reflex::monitor;
using namespace std::chrono_literals;

namespace {

guard::Fd make_map(bpf_map_type type, std::uint32_t key, std::uint32_t value, std::uint32_t max) {
  auto fd = guard::create_map(type, "rfx_test", key, value, max, 0);
  EXPECT_TRUE(fd) << fd.error().message();
  return fd ? std::move(*fd) : guard::Fd();
}

}  // namespace

TEST(MapDumper, ReadsEveryEntryOfAHashMap) {
  REFLEX_REQUIRE_BPF();
  auto fd = make_map(BPF_MAP_TYPE_HASH, 4, 8, 20000);
  for (std::uint32_t k = 0; k < 10000; ++k) {
    std::uint64_t v = k * 3ull;
    ASSERT_EQ(bpf_map_update_elem(fd.get(), &k, &v, BPF_ANY), 0);
  }
  MapDumper d(4, 8, false, 512);
  std::map<std::uint32_t, std::uint64_t> seen;
  auto n = d.dump(fd.get(), [&](const std::uint8_t* k, const std::uint8_t* v) {
    std::uint32_t key;
    std::uint64_t val;
    std::memcpy(&key, k, 4);
    std::memcpy(&val, v, 8);
    seen[key] = val;
  });
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(*n, 10000u);
  ASSERT_EQ(seen.size(), 10000u);
  for (const auto& [k, v] : seen) ASSERT_EQ(v, k * 3ull);
}

TEST(MapDumper, GrowsABatchTooSmallForABucket) {
  REFLEX_REQUIRE_BPF();
  auto fd = make_map(BPF_MAP_TYPE_HASH, 4, 8, 64);
  for (std::uint32_t k = 0; k < 64; ++k) {  // 64 keys in a 64-bucket table: some buckets hold several
    std::uint64_t v = 1;
    ASSERT_EQ(bpf_map_update_elem(fd.get(), &k, &v, BPF_ANY), 0);
  }
  MapDumper d(4, 8, false, 1);
  std::size_t count = 0;
  auto n = d.dump(fd.get(), [&](const std::uint8_t*, const std::uint8_t*) { ++count; });
  ASSERT_TRUE(n) << n.error().message();
  EXPECT_EQ(count, 64u);
}

TEST(MapDumper, WalksInSlicesThatResumeWhereTheLastStopped) {
  REFLEX_REQUIRE_BPF();
  auto fd = make_map(BPF_MAP_TYPE_HASH, 4, 8, 4096);
  for (std::uint32_t k = 0; k < 3000; ++k) {
    std::uint64_t v = k;
    ASSERT_EQ(bpf_map_update_elem(fd.get(), &k, &v, BPF_ANY), 0);
  }
  MapDumper d(4, 8, false, 4096);
  std::optional<std::uint64_t> token;
  std::map<std::uint32_t, int> seen;
  int slices = 0;
  for (;;) {
    auto step = d.dump_from(fd.get(), token, 500, [&](const std::uint8_t* k, const std::uint8_t*) {
      std::uint32_t key;
      std::memcpy(&key, k, 4);
      ++seen[key];
    });
    ASSERT_TRUE(step) << step.error().message();
    ++slices;
    EXPECT_LE(step->entries, 500u + 16u);  // the budget, give or take one bucket
    if (step->done) break;
    ASSERT_TRUE(token.has_value());
    ASSERT_LT(slices, 100);
  }
  EXPECT_FALSE(token.has_value());
  EXPECT_GE(slices, 6);
  ASSERT_EQ(seen.size(), 3000u);
  for (const auto& [k, n] : seen) ASSERT_EQ(n, 1) << k;  // each entry exactly once per walk
}

TEST(MapDumper, SumsPerCpuValues) {
  REFLEX_REQUIRE_BPF();
  auto fd = make_map(BPF_MAP_TYPE_PERCPU_HASH, 4, 16, 16);
  int ncpu = guard::possible_cpus();
  std::vector<std::uint64_t> vals(static_cast<std::size_t>(ncpu) * 2);
  for (int c = 0; c < ncpu; ++c) {
    vals[c * 2] = 10 + c;
    vals[c * 2 + 1] = 100;
  }
  std::uint32_t k = 7;
  ASSERT_EQ(bpf_map_update_elem(fd.get(), &k, vals.data(), BPF_ANY), 0);
  MapDumper d(4, 16, true);
  std::uint64_t sum[2] = {};
  auto n = d.dump(fd.get(), [&](const std::uint8_t*, const std::uint8_t* v) {
    sum_percpu_words<2>(v, d.ncpu(), d.stride(), sum);
  });
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 1u);
  EXPECT_EQ(sum[0], 10ull * ncpu + static_cast<std::uint64_t>(ncpu) * (ncpu - 1) / 2);
  EXPECT_EQ(sum[1], 100ull * ncpu);
}

TEST(MapCounter, CountsHashEntriesExactlyInOneRead) {
  REFLEX_REQUIRE_BPF();
  auto counter = MapCounter::open();
  ASSERT_TRUE(counter) << counter.error().message();
  auto lru = make_map(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 8, 1000);
  auto hash = make_map(BPF_MAP_TYPE_HASH, 4, 8, 1000);
  int ncpu = guard::possible_cpus();
  std::vector<std::uint64_t> v(static_cast<std::size_t>(ncpu), 1);
  for (std::uint32_t k = 0; k < 123; ++k) {
    ASSERT_EQ(bpf_map_update_elem(lru.get(), &k, v.data(), BPF_ANY), 0);
    ASSERT_EQ(bpf_map_update_elem(hash.get(), &k, v.data(), BPF_ANY), 0);
  }
  std::uint32_t gone = 5;
  bpf_map_delete_elem(hash.get(), &gone);
  auto counts = (*counter)->counts();
  ASSERT_TRUE(counts) << counts.error().message();
  EXPECT_EQ(counts->at(guard::map_info(lru.get())->id), 123);
  EXPECT_EQ(counts->at(guard::map_info(hash.get())->id), 122);
}

TEST(MapFullWatch, ReportsWhileAProgramsMapFullCounterGrows) {
  REFLEX_REQUIRE_BPF();
  auto stats = make_map(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 8, 4);
  ASSERT_TRUE(stats.valid());
  auto set = [&](std::uint64_t n) {  // all on the first CPU, the rest 0
    std::vector<std::uint64_t> v(static_cast<std::size_t>(guard::possible_cpus()), 0);
    v[0] = n;
    std::uint32_t k = 1;
    ASSERT_EQ(bpf_map_update_elem(stats.get(), &k, v.data(), BPF_ANY), 0);
  };
  MapFullWatch watch;
  auto tick = [&] {
    TickContext ctx;
    watch.check(ctx, "p", stats.get(), 1, "drops", "m", 64, "thing");
    return ctx.soft;
  };
  EXPECT_TRUE(tick().empty());  // nothing lost
  set(5);
  auto soft = tick();
  ASSERT_EQ(soft.size(), 1u);
  EXPECT_EQ(soft[0].probe, "p");
  EXPECT_EQ(soft[0].reason, "5 drops went uncounted: the m map (64 thing keys) is full");
  EXPECT_TRUE(tick().empty());  // it stopped: not reported forever after
  set(7);
  soft = tick();
  ASSERT_EQ(soft.size(), 1u);
  EXPECT_EQ(soft[0].reason.rfind("2 drops", 0), 0u) << soft[0].reason;
  watch.reset();  // the program was reloaded: its 7 are all new
  soft = tick();
  ASSERT_EQ(soft.size(), 1u);
  EXPECT_EQ(soft[0].reason.rfind("7 drops", 0), 0u) << soft[0].reason;
}

TEST(KernelNames, DropReasonsComeFromTheRunningKernel) {
  REFLEX_REQUIRE_BPF();
  auto names = kernel_enum_names("skb_drop_reason", "SKB_DROP_REASON_");
  ASSERT_TRUE(names) << names.error().message();
  bool no_socket = false;
  for (const auto& [v, n] : *names) no_socket |= n == "NO_SOCKET";
  EXPECT_TRUE(no_socket);
  auto d = DropReasonNames::load();
  ASSERT_TRUE(d);
  EXPECT_EQ(d->name(0xfffffff0u), "reason_4294967280");
}

TEST(KernelSymbols, FunctionRangesFromKallsyms) {
  REFLEX_REQUIRE_BPF();
  auto r = kernel_function_ranges({"do_xdp_generic", "no_such_function_in_any_kernel"});
  ASSERT_TRUE(r) << r.error().message();
  ASSERT_EQ(r->size(), 1u);  // root sees addresses; the made-up name is not there
  EXPECT_EQ((*r)[0].name, "do_xdp_generic");
  EXPECT_GT((*r)[0].end, (*r)[0].start);
  EXPECT_LT((*r)[0].end - (*r)[0].start, 1u << 20);
}

namespace {

struct SkelDeleter {
  void operator()(ringbuf_bench* s) const { ringbuf_bench__destroy(s); }
};

std::unique_ptr<ringbuf_bench, SkelDeleter> load_producer(std::uint32_t batch, std::uint32_t ring_bytes) {
  std::unique_ptr<ringbuf_bench, SkelDeleter> skel(ringbuf_bench__open());
  EXPECT_TRUE(skel);
  if (!skel) return skel;
  skel->rodata->batch = batch;
  bpf_map__set_max_entries(skel->maps.rb, ring_bytes);
  EXPECT_EQ(ringbuf_bench__load(skel.get()), 0);
  return skel;
}

void produce(ringbuf_bench* skel) {
  std::uint8_t pkt[64] = {};
  auto r = guard::test_run(bpf_program__fd(skel->progs.ringbuf_bench_produce), pkt, 1);
  ASSERT_TRUE(r) << r.error().message();
}

}  // namespace

TEST(RingReader, DeliversEveryRecordInOrderOnTheLoopWithoutPolling) {
  REFLEX_REQUIRE_BPF();
  // More records than one turn's budget, so the reader must continue on its own.
  constexpr std::uint32_t kBatch = 50000, kRuns = 4;
  auto skel = load_producer(kBatch, 16u << 20);
  ASSERT_TRUE(skel);
  boost::asio::io_context io;
  std::uint64_t next = 0, bad = 0;
  auto reader = RingReader::open(io, bpf_map__fd(skel->maps.rb), [&](const void* d, std::size_t n) {
    rb_bench_event e;
    if (n != sizeof(e)) {
      ++bad;
      return;
    }
    std::memcpy(&e, d, sizeof(e));
    if (e.seq != next) ++bad;
    next = e.seq + 1;
  });
  ASSERT_TRUE(reader) << reader.error().message();
  (*reader)->start();
  for (std::uint32_t i = 0; i < kRuns; ++i) produce(skel.get());
  ASSERT_EQ(skel->bss->lost, 0u);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((*reader)->records() < kBatch * kRuns && std::chrono::steady_clock::now() < deadline)
    io.run_for(20ms);
  EXPECT_EQ((*reader)->records(), std::uint64_t{kBatch} * kRuns);
  EXPECT_EQ(bad, 0u);
  EXPECT_GE((*reader)->wakeups(), 1u);
}

TEST(RingReader, DrainReadsSynchronouslyAndDestroyingWithAPendingWaitIsSafe) {
  REFLEX_REQUIRE_BPF();
  auto skel = load_producer(100, 1u << 20);
  ASSERT_TRUE(skel);
  boost::asio::io_context io;
  std::size_t got = 0;
  auto reader = RingReader::open(io, bpf_map__fd(skel->maps.rb), [&](const void*, std::size_t) { ++got; });
  ASSERT_TRUE(reader);
  (*reader)->start();
  produce(skel.get());
  auto n = (*reader)->drain();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 100u);
  EXPECT_EQ(got, 100u);
  reader->reset();  // a wait is pending on the loop
  produce(skel.get());
  io.run_for(50ms);  // the cancelled handler runs and must not touch the reader
  EXPECT_EQ(got, 100u);
}
