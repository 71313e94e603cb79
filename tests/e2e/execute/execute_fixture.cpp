#include "tests/e2e/execute/execute_fixture.h"

#include "execute/shaping/shaping_actuator.h"

#include <boost/json.hpp>

namespace reflex::testing {

using namespace std::chrono_literals;

// ---- Stream -------------------------------------------------------------------

Stream::Stream(const sim::NetNs& from, const std::string& src, const sim::NetNs& to, const std::string& dst,
               std::uint16_t port, double pps)
    : dst_(dst), port_(port), pps_(pps) {
  auto rx = sim::UdpPeer::open(to, dst, port);
  EXPECT_TRUE(rx) << rx.error().message();
  auto tx = sim::UdpPeer::open(from, src, 0);
  EXPECT_TRUE(tx) << tx.error().message();
  if (!rx || !tx) return;
  rx_ = std::make_unique<sim::UdpPeer>(std::move(*rx));
  tx_ = std::make_unique<sim::UdpPeer>(std::move(*tx));
  receiver_ = std::thread([this] {
    // Until the sender stopped and the link has been quiet for 100 ms.
    for (;;) {
      auto n = rx_->receive(1'000'000, 100ms, [this](std::uint32_t seq, const std::string&) {
        std::lock_guard lk(mu_);
        if (seq >= seen_.size()) seen_.resize(seq + 1024, false);
        seen_[seq] = true;
      });
      if (!run_ && n == 0) break;
    }
  });
  sender_ = std::thread([this] {
    // Paced in 1 ms slices so the veth queue never overflows.
    const auto t0 = std::chrono::steady_clock::now();
    const double per_ms = pps_ / 1000.0;
    double due = 0;
    for (int slice = 1; run_; ++slice) {
      due += per_ms;
      auto n = static_cast<std::size_t>(due) - static_cast<std::size_t>(due - per_ms);
      if (n) {
        auto s = tx_->send_many(dst_, port_, static_cast<std::uint32_t>(sent_), n);
        if (s) sent_ += n;
      }
      std::this_thread::sleep_until(t0 + std::chrono::milliseconds(slice));
    }
  });
}

Stream::~Stream() { stop(); }

void Stream::stop() {
  run_ = false;
  if (sender_.joinable()) sender_.join();
  if (receiver_.joinable()) receiver_.join();
}

std::uint64_t Stream::received() const { return received_since(0); }

std::uint64_t Stream::received_since(std::uint64_t seq) const {
  std::lock_guard lk(mu_);
  std::uint64_t n = 0;
  for (std::size_t i = seq; i < seen_.size(); ++i) n += seen_[i];
  return n;
}

std::uint64_t Stream::longest_gap() const {
  std::lock_guard lk(mu_);
  std::uint64_t best = 0, run = 0;
  for (std::uint64_t i = 0; i < sent_; ++i) {
    bool got = i < seen_.size() && seen_[i];
    run = got ? 0 : run + 1;
    best = std::max(best, run);
  }
  return best;
}

// ---- fixture ------------------------------------------------------------------

void ExecuteE2E::SetUp() {
  REFLEX_REQUIRE_BPF();
  auto a = sim::NetNs::create(sim::unique_name("rfxea"));
  ASSERT_TRUE(a) << a.error().message();
  auto b = sim::NetNs::create(sim::unique_name("rfxeb"));
  ASSERT_TRUE(b) << b.error().message();
  a_ = std::make_unique<sim::NetNs>(std::move(*a));
  b_ = std::make_unique<sim::NetNs>(std::move(*b));
  for (const auto* ns : {a_.get(), b_.get()})
    for (const char* key : {"net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"}) {
      auto r = sim::run_command({"ip", "netns", "exec", ns->name(), "sysctl", "-qw", key});
      ASSERT_TRUE(r) << r.error().message();
    }
  if_a_ = sim::unique_name("rfxea");
  if_b_ = sim::unique_name("rfxeb");
  ASSERT_NO_FATAL_FAILURE(make_pair());
}

void ExecuteE2E::make_pair() {
  auto st = sim::make_veth(*a_, *b_,
                           {if_a_, if_b_, std::string(kA) + "/16", std::string(kB) + "/16",
                            {std::string(kA11) + "/16", std::string(kA12) + "/16", std::string(kA21) + "/16",
                             std::string(kA22) + "/16"}});
  ASSERT_TRUE(st) << st.error().message();
}

void ExecuteE2E::TearDown() {
  if (mon_) mon_->stop();
  mon_.reset();
  ex_.reset();
  if (b_) (void)guard::Guard::unload(key(), guard::GuardOptions{test_pin_root()});
  b_.reset();
  a_.reset();
}

void ExecuteE2E::start(guard::LoadMode mode, execute::VerifyConfig v, std::size_t max_rules, bool shaping) {
  auto act = std::make_unique<execute::GuardActuator>(
      execute::GuardActuatorOptions{test_pin_root(), max_rules ? max_rules : guard::kDefaultMaxRules});
  guard_act_ = act.get();
  auto e = guard_act_->ensure_guard(ref(), mode);
  ASSERT_TRUE(e) << e.error().message();
  std::vector<execute::ActuatorPtr> acts;
  acts.push_back(std::move(act));
  if (shaping) {
    auto sh = std::make_unique<execute::shaping::ShapingActuator>(execute::shaping::ShaperOptions{test_pin_root()});
    sh->add_interface(ref());
    acts.push_back(std::move(sh));
  }
  execute::ExecutorConfig cfg;
  cfg.ifaces = {key()};
  cfg.verify = v;
  if (max_rules) cfg.max_rules = max_rules;
  ex_ = std::make_unique<execute::Executor>(cfg, std::move(acts));
  ex_->set_mode(key(), e->mode);

  monitor::MonitorConfig mc;
  mc.interfaces = {ref()};
  mc.pin_root = test_pin_root();
  mc.interval = 50ms;
  mc.drop_reasons = mc.tcp_rtt = mc.map_pressure = false;
  mc.run_time_every = 0;
  auto m = monitor::Monitor::create(io_, mc, {});
  ASSERT_TRUE(m) << m.error().message();
  mon_ = std::move(*m);
}

Snapshot ExecuteE2E::snapshot() {
  io_.restart();
  io_.poll();
  Snapshot s;
  s.version = ++seq_;
  s.observation = mon_->tick();
  s.ts_ns = s.observation.ts_ns;
  s.desired = ex_->desired_ptr();
  return s;
}

std::vector<Outcome> ExecuteE2E::tick(const Plan& plan) {
  auto snap = snapshot();
  auto r = ex_->review(snap);
  auto p = ex_->prepare(plan, snap);
  std::vector<Outcome> out = r.outcomes;
  out.insert(out.end(), p.outcomes.begin(), p.outcomes.end());
  auto applied = ex_->apply(p);
  out.insert(out.end(), applied.begin(), applied.end());
  last_ = std::move(p);
  return out;
}

std::vector<Outcome> ExecuteE2E::tick_until(const std::string& id, OutcomeStatus status,
                                            std::chrono::milliseconds every, std::chrono::milliseconds limit) {
  std::vector<Outcome> all;
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(every);  // a loop tick's interval: the verification window needs time to pass
    auto out = tick();
    all.insert(all.end(), out.begin(), out.end());
    if (find(out, id, status)) return all;
  }
  ADD_FAILURE() << "no " << to_string(status) << " outcome for " << id << " within " << limit.count() << " ms";
  return all;
}

guard::Guard& ExecuteE2E::g() {
  auto r = guard_act_->guard_of(key());
  EXPECT_TRUE(r) << r.error().message();
  if (!r) throw std::runtime_error(r.error().message());
  return **r;
}

std::size_t ExecuteE2E::udp_round(const std::string& src, std::size_t n, std::uint16_t port) {
  auto rx = sim::UdpPeer::open(*b_, kB, port);
  EXPECT_TRUE(rx) << rx.error().message();
  auto tx = sim::UdpPeer::open(*a_, src, 0);
  EXPECT_TRUE(tx) << tx.error().message();
  if (!rx || !tx) return 0;
  auto judged = [&] {
    auto v = g().verdicts();
    std::uint64_t t = 0;
    if (v)
      for (std::uint32_t r : {GUARD_R_PASS_NO_MATCH, GUARD_R_PASS_ALLOW, GUARD_R_DROP_RULE, GUARD_R_DROP_RATE,
                              GUARD_R_PASS_SHADOW, GUARD_R_PASS_RATE_OK})
        t += (*v)[r].packets;
    return t;
  };
  const auto before = judged();
  auto sent = tx->send_many(kB, port, 0, n);
  EXPECT_TRUE(sent && *sent == n);
  // The datapath is the clock: wait until the guard judged them all.
  const auto end = std::chrono::steady_clock::now() + 5s;
  while (judged() < before + n && std::chrono::steady_clock::now() < end) std::this_thread::yield();
  return rx->receive(n, 300ms);
}

std::uint64_t ExecuteE2E::veth_tx_dropped() const {
  auto out = sim::run_command({"ip", "-n", a_->name(), "-j", "-s", "link", "show", "dev", if_a_});
  EXPECT_TRUE(out);
  if (!out) return 0;
  auto v = boost::json::parse(*out);
  return v.as_array().at(0).as_object().at("stats64").as_object().at("tx").as_object().at("dropped").to_number<std::uint64_t>();
}

Action ExecuteE2E::act(const std::string& id, ActionSpec spec, TimeNs ttl) {
  Action a;
  a.id = id;
  a.spec = std::move(spec);
  a.ttl_ns = ttl;
  return a;
}

Plan ExecuteE2E::plan_of(std::vector<Action> actions) {
  Plan p;
  p.id = "plan";
  p.actions = std::move(actions);
  return p;
}

const Outcome* ExecuteE2E::find(const std::vector<Outcome>& v, const std::string& id, OutcomeStatus s) {
  for (const auto& o : v)
    if (o.action_id == id && o.status == s) return &o;
  return nullptr;
}

}  // namespace reflex::testing
