// execute_bench: the time from a Plan handed to Execute to the datapath in
// effect, on a real guard on a veth end in a throwaway namespace, each figure
// beside an anchor measured in the same run:
//   batch  ONE RuleBatch action of 1, 10k and 1M blocks, and its removal
//          batch; anchor: Guard::replace of the same rules, same guard
//   rules  a plan of 1, 10k and 1M block actions (prepare + apply, split),
//          and the plan of their unblocks; anchor: guard::Guard::replace of
//          the same rules on the same guard (the library's own swap)
//   cli    `reflex-guard replace --file` of a 1M-line rules file, wall clock
//          of the whole process; anchor: the same rules through
//          Guard::replace in this process (no parse, no exec)
//   mode   SetAttachMode native -> generic -> tc -> native; anchor:
//          Guard::reattach on the same guard
//   swap   SwapProgram default -> lean -> default; anchor: Guard::swap_program
// Best (and median) of N, interleaved with the anchor: the host is shared.
// Packets lost during a mode step and a swap are measured by the e2e tests
// (execute.e2e.*ModeSteps*, *ProgramSwap*), which print them.
// `--quick` runs small sizes (the test suite runs it so the code stays alive).

#include "bench/guard/rule_gen.h"
#include "bench/monitor/bench_util.h"
#include "common/log.h"
#include "execute/executor.h"
#include "execute/guard_actuator.h"
#include "guard/guard.h"
#include "guard/rule.h"
#include "sim/netns.h"

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

namespace reflex::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

struct Stat {
  std::vector<double> v;
  void add(double x) { v.push_back(x); }
  double best() const { return v.empty() ? 0 : *std::min_element(v.begin(), v.end()); }
  double median() const { return percentile(v, 0.5); }
};

// CPU time of the whole process (user + sys, every thread): on a shared
// host it moves far less with the load than the wall clock does.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

TimeNs loop_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<TimeNs>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

// A namespace with a veth pair, a guard on each end: b driven by the
// executor (as the daemon does), a by reflex-guard (as an operator does).
struct Bench {
  std::unique_ptr<sim::NetNs> ns;
  std::string if_a, if_b, pin_root;
  execute::GuardActuator* act = nullptr;
  std::unique_ptr<execute::Executor> ex;
  std::uint64_t snap_seq = 0;

  std::string key_a() const { return if_a + "@" + ns->name(); }
  std::string key_b() const { return if_b + "@" + ns->name(); }

  ~Bench() {
    ex.reset();
    if (ns) {
      guard::GuardOptions o;
      o.pin_root = pin_root;
      (void)guard::Guard::unload(key_a(), o);
      (void)guard::Guard::unload(key_b(), o);
    }
    std::error_code ec;
    if (!pin_root.empty()) fs::remove_all(pin_root, ec);
    ns.reset();
  }

  Status setup() {
    auto n = sim::NetNs::create(sim::unique_name("rfxxb"));
    if (!n) return n.error();
    ns = std::make_unique<sim::NetNs>(std::move(*n));
    if_a = sim::unique_name("rfxxa");
    if_b = sim::unique_name("rfxxb");
    if (auto s = sim::make_veth(*ns, *ns, {if_a, if_b, "10.251.0.1/24", "10.251.0.2/24", {}}); !s) return s.error();
    pin_root = "/sys/fs/bpf/reflex-execute-bench-" + std::to_string(::getpid());
    auto a = std::make_unique<execute::GuardActuator>(execute::GuardActuatorOptions{pin_root, guard::kDefaultMaxRules});
    act = a.get();
    auto e = act->ensure_guard(monitor::InterfaceRef{key_b(), if_b, ns->name()}, guard::LoadMode::native);
    if (!e) return e.error();
    std::vector<execute::ActuatorPtr> acts;
    acts.push_back(std::move(a));
    execute::ExecutorConfig cfg;
    cfg.ifaces = {key_b()};
    ex = std::make_unique<execute::Executor>(cfg, std::move(acts));
    ex->set_mode(key_b(), e->mode);
    guard::GuardOptions go;
    go.pin_root = pin_root;
    go.netns = ns->name();
    auto ga = guard::Guard::load(if_a, guard::LoadMode::native, go);
    if (!ga) return ga.error();
    return ok();
  }

  guard::Guard& g() { return *act->guard_of(key_b()).value(); }

  Snapshot snapshot() {
    Snapshot s;
    s.version = ++snap_seq;
    s.ts_ns = loop_now();
    s.desired = ex->desired_ptr();
    return s;
  }

  struct Timed {
    double review_ms = 0, prepare_ms = 0, apply_ms = 0, total_ms = 0;
    double prepare_cpu_ms = 0, apply_cpu_ms = 0, total_cpu_ms = 0;
    std::size_t failed = 0;
    std::string first_error;
  };
  // One loop tick's Execute part for this plan: review, prepare, apply.
  Timed run(const Plan& plan) {
    Timed t;
    const double c0 = cpu_ms();
    auto t0 = Clock::now();
    auto snap = snapshot();
    (void)ex->review(snap);
    auto t1 = Clock::now();
    const double c1 = cpu_ms();
    auto p = ex->prepare(plan, snap);
    auto t2 = Clock::now();
    const double c2 = cpu_ms();
    auto out = ex->apply(p);
    auto t3 = Clock::now();
    const double c3 = cpu_ms();
    t.prepare_cpu_ms = c2 - c1;
    t.apply_cpu_ms = c3 - c2;
    t.total_cpu_ms = c3 - c0;
    for (const auto* v : {&p.outcomes, &out})
      for (const auto& o : *v)
        if (o.status == OutcomeStatus::failed) {
          if (t.failed++ == 0) t.first_error = o.action_id + ": " + o.error;
        }
    t.review_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
    t.prepare_ms = std::chrono::duration<double, std::milli>(t2 - t1).count();
    t.apply_ms = std::chrono::duration<double, std::milli>(t3 - t2).count();
    t.total_ms = std::chrono::duration<double, std::milli>(t3 - t0).count();
    return t;
  }
};

Plan plan_of(std::vector<Action> actions) {
  Plan p;
  p.id = "bench";
  p.actions = std::move(actions);
  return p;
}

Action action(std::string id, ActionSpec spec) {
  Action a;
  a.id = std::move(id);
  a.spec = std::move(spec);
  return a;
}

bool check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "execute_bench: %s\n", what);
  return ok;
}

// ---- rules ----

// A plan that adds n rules and the plan that takes them away, run in turn
// with Guard::replace of the same rules (the anchor) on the same guard
// between them; prints one line each.
bool run_add_remove(Bench& b, std::size_t n, int runs, const std::vector<guard::GuardRule>& rules, const Plan& add,
                    const Plan& remove, const char* add_label, const char* remove_label) {
  Stat s_add, s_rm, s_anchor, p_add, a_add, p_rm, a_rm;
  Stat cpu_add, cpu_rm, cpu_anchor, cpu_p_add, cpu_a_add, cpu_p_rm, cpu_a_rm;
  for (int i = 0; i < runs; ++i) {
    auto ta = b.run(add);
    if (!check(ta.failed == 0, ta.first_error.c_str()) || !check(b.g().rule_count() == n, "additions not in force"))
      return false;
    s_add.add(ta.total_ms);
    p_add.add(ta.prepare_ms);
    a_add.add(ta.apply_ms);
    cpu_add.add(ta.total_cpu_ms);
    cpu_p_add.add(ta.prepare_cpu_ms);
    cpu_a_add.add(ta.apply_cpu_ms);
    auto tr = b.run(remove);
    if (!check(tr.failed == 0, tr.first_error.c_str()) || !check(b.g().rule_count() == 0, "removals not in force"))
      return false;
    s_rm.add(tr.total_ms);
    p_rm.add(tr.prepare_ms);
    a_rm.add(tr.apply_ms);
    cpu_rm.add(tr.total_cpu_ms);
    cpu_p_rm.add(tr.prepare_cpu_ms);
    cpu_a_rm.add(tr.apply_cpu_ms);
    // The anchor on the same guard, between the executor's runs; the
    // executor's next apply reads the rules back (the version moved).
    const double c0 = cpu_ms();
    auto t0 = Clock::now();
    auto rep = b.g().replace(rules);
    s_anchor.add(ms_since(t0));
    cpu_anchor.add(cpu_ms() - c0);
    if (!check(bool(rep), "anchor replace failed")) return false;
    auto clear = b.g().replace(std::span<const guard::GuardRule>{});
    if (!check(bool(clear), "anchor clear failed")) return false;
  }
  std::printf("%9zu  %-26s %9.2f %9.2f %9.2f %9.2f  %9.2f (%.1fx)\n", n, add_label, s_add.best(), s_add.median(),
              p_add.best(), a_add.best(), s_anchor.best(), s_add.best() / s_anchor.best());
  std::printf("%9zu  %-26s %9.2f %9.2f %9.2f %9.2f\n", n, remove_label, s_rm.best(), s_rm.median(), p_rm.best(),
              a_rm.best());
  std::printf("%9s  %-26s %9.2f %9s %9.2f %9.2f  %9.2f (%.1fx)\n", "", "  cpu (user+sys)", cpu_add.best(), "",
              cpu_p_add.best(), cpu_a_add.best(), cpu_anchor.best(), cpu_add.best() / cpu_anchor.best());
  std::printf("%9s  %-26s %9.2f %9s %9.2f %9.2f\n", "", "  cpu (user+sys)", cpu_rm.best(), "", cpu_p_rm.best(),
              cpu_a_rm.best());
  return true;
}

bool run_rules(Bench& b, const std::vector<std::size_t>& sizes, int runs) {
  std::printf("\n== rule changes: a plan of N blocks, then the plan of their unblocks (ms) ==\n");
  std::printf("%9s  %-26s %9s %9s %9s %9s  %s\n", "N", "", "best", "median", "prepare", "apply", "anchor: Guard::replace");
  const Prefix avoid = *Prefix::parse("10.251.0.0/16");
  for (std::size_t n : sizes) {
    const auto rules = make_rules(RuleShape::v4_exact, n, avoid, 7 + n);
    std::vector<Action> blocks, unblocks;
    blocks.reserve(n);
    unblocks.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      blocks.push_back(action("b" + std::to_string(i), BlockPrefix{b.key_b(), rules[i].prefix, {}}));
      unblocks.push_back(action("u" + std::to_string(i), Unblock{b.key_b(), rules[i].prefix, {}}));
    }
    const Plan add = plan_of(std::move(blocks)), remove = plan_of(std::move(unblocks));
    const int r = n >= 1'000'000 ? std::max(1, std::min(runs, 3)) : runs;
    if (!run_add_remove(b, n, r, rules, add, remove, "blocks: plan -> in effect", "unblocks")) return false;
  }
  return true;
}

// ---- one RuleBatch of N rules ----

// The same N host rules as run_rules, as ONE action (and its removal as
// one), beside Guard::replace of them, interleaved on the same guard.
bool run_batch(Bench& b, const std::vector<std::size_t>& sizes, int runs) {
  std::printf("\n== rule batch: ONE action of N blocks, then ONE removal batch (ms) ==\n");
  std::printf("%9s  %-26s %9s %9s %9s %9s  %s\n", "N", "", "best", "median", "prepare", "apply", "anchor: Guard::replace");
  const Prefix avoid = *Prefix::parse("10.251.0.0/16");
  for (std::size_t n : sizes) {
    const auto rules = make_rules(RuleShape::v4_exact, n, avoid, 7 + n);
    RuleBatch add{b.key_b()}, rm{b.key_b()};
    add.prefixes.reserve(n);
    for (const auto& r : rules) add.prefixes.push_back(r.prefix);
    rm.prefixes = add.prefixes;
    rm.remove = true;
    const Plan p_add = plan_of({action("batch", add)}), p_rm = plan_of({action("unbatch", rm)});
    if (!run_add_remove(b, n, runs, rules, p_add, p_rm, "batch: plan -> in effect", "removal batch")) return false;
  }
  return true;
}

// ---- reflex-guard replace --file ----

int run_cli(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool run_cli_replace(Bench& b, std::size_t n, int runs, const std::string& guard_bin) {
  std::printf("\n== reflex-guard replace --file of %zu lines, wall clock of the process (target < 1 s) ==\n", n);
  const Prefix avoid = *Prefix::parse("10.251.0.0/16");
  // Half exact hosts, half prefixes, as a real block list mixes them.
  auto rules = make_rules(RuleShape::v4_exact, n / 2, avoid, 11);
  auto prefixes = make_rules(RuleShape::v4_prefix, n - n / 2, avoid, 12);
  rules.insert(rules.end(), prefixes.begin(), prefixes.end());
  const std::string file = "/tmp/reflex-execute-bench-" + std::to_string(::getpid()) + ".rules";
  {
    std::ofstream f(file);
    for (const auto& r : rules) f << guard::format_rule(r, 0) << '\n';
  }
  guard::GuardOptions go;
  go.pin_root = b.pin_root;
  auto ga = guard::Guard::open(b.key_a(), go);
  if (!check(bool(ga), "open the a-side guard")) return false;
  Stat cli, anchor, compile, install;
  std::size_t in_force = 0;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    int rc = run_cli({guard_bin, "--pin-root", b.pin_root, "replace", "--file", file, "--iface", b.key_a()});
    cli.add(ms_since(t0));
    if (!check(rc == 0, "reflex-guard replace failed")) return false;
    in_force = ga->rules().value().size();
    (void)ga->replace(std::span<const guard::GuardRule>{});
    t0 = Clock::now();
    auto rep = ga->replace(rules);
    anchor.add(ms_since(t0));
    if (!check(bool(rep), "anchor replace failed")) return false;
    compile.add(rep->compile_ms);
    install.add(rep->install_ms);
    (void)ga->replace(std::span<const guard::GuardRule>{});
  }
  std::printf("reflex-guard replace --file   best %8.1f ms  median %8.1f ms  (%zu rules in force, %.0f MB file)\n",
              cli.best(), cli.median(), in_force, static_cast<double>(fs::file_size(file)) / 1e6);
  std::printf("anchor: Guard::replace        best %8.1f ms  median %8.1f ms  (CLI = %.2fx the anchor; compile best "
              "%.1f ms, install best %.1f ms)\n",
              anchor.best(), anchor.median(), cli.best() / anchor.best(), compile.best(), install.best());
  fs::remove(file);
  return true;
}

// ---- mode steps and program swaps ----

bool run_mode(Bench& b, int runs) {
  std::printf("\n== attach mode steps through the executor (ms; 1 rule in force) ==\n");
  (void)b.run(plan_of({action("keep", BlockPrefix{b.key_b(), *Prefix::parse("198.51.100.0/24"), {}})}));
  const AttachMode steps[] = {AttachMode::generic, AttachMode::tc, AttachMode::native};
  std::map<AttachMode, Stat> ex, anchor;
  for (int i = 0; i < runs; ++i) {
    for (AttachMode m : steps) {
      auto t = b.run(plan_of({action("m" + std::to_string(i), SetAttachMode{b.key_b(), m})}));
      if (!check(t.failed == 0, t.first_error.c_str()) || !check(b.g().mode() == m, "mode not in effect"))
        return false;
      ex[m].add(t.total_ms);
    }
    // The anchor: the guard's own make-before-break step, the same ladder;
    // the executor is told nothing (its desired mode is native again after the cycle).
    for (AttachMode m : steps) {
      auto t0 = Clock::now();
      auto r = b.g().reattach(execute::load_mode_for(m));
      anchor[m].add(ms_since(t0));
      if (!check(bool(r) && b.g().mode() == m, "anchor reattach failed")) return false;
    }
  }
  for (AttachMode m : steps)
    std::printf("to %-8s executor best %7.2f median %7.2f   anchor: Guard::reattach best %7.2f median %7.2f\n",
                std::string(to_string(m)).c_str(), ex[m].best(), ex[m].median(), anchor[m].best(), anchor[m].median());
  return true;
}

bool run_swap(Bench& b, int runs) {
  std::printf("\n== program swaps through the executor (ms; bpf_link_update, maps kept) ==\n");
  Stat ex_lean, ex_def, an_lean, an_def;
  for (int i = 0; i < runs; ++i) {
    auto t = b.run(plan_of({action("l" + std::to_string(i), SwapProgram{b.key_b(), guard::kProgramLean})}));
    if (!check(t.failed == 0, t.first_error.c_str())) return false;
    ex_lean.add(t.total_ms);
    t = b.run(plan_of({action("d" + std::to_string(i), SwapProgram{b.key_b(), guard::kProgramDefault})}));
    if (!check(t.failed == 0, t.first_error.c_str())) return false;
    ex_def.add(t.total_ms);
    auto t0 = Clock::now();
    if (!check(bool(b.g().swap_program(guard::kProgramLean)), "anchor swap failed")) return false;
    an_lean.add(ms_since(t0));
    t0 = Clock::now();
    if (!check(bool(b.g().swap_program(guard::kProgramDefault)), "anchor swap failed")) return false;
    an_def.add(ms_since(t0));
  }
  std::printf("to lean     executor best %7.2f median %7.2f   anchor: Guard::swap_program best %7.2f median %7.2f\n",
              ex_lean.best(), ex_lean.median(), an_lean.best(), an_lean.median());
  std::printf("to default  executor best %7.2f median %7.2f   anchor: Guard::swap_program best %7.2f median %7.2f\n",
              ex_def.best(), ex_def.median(), an_def.best(), an_def.median());
  return true;
}

}  // namespace
}  // namespace reflex::bench

int main(int argc, char** argv) {
  using namespace reflex::bench;
  CLI::App app{"Execute's figures: plan to datapath in effect, beside the guard library's own times"};
  bool quick = false;
  int runs = 7;
  std::size_t cli_lines = 1'000'000;
  std::string which;
  std::vector<std::size_t> sizes = {1, 10'000, 1'000'000};
  app.add_option("--sizes", sizes, "rules: plan sizes")->capture_default_str();
  app.add_flag("--quick", quick, "small sizes, for the test suite");
  app.add_option("--runs", runs, "runs per figure (best and median)")->capture_default_str();
  app.add_option("--cli-lines", cli_lines, "lines in the reflex-guard rules file")->capture_default_str();
  app.add_option("which", which, "batch, rules, cli, mode, swap (default: all)");
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  reflex::init_logging("warn");
  if (quick) {
    runs = 2;
    sizes = {1, 1000};
    cli_lines = 10'000;
  }
  auto want = [&](const char* w) { return which.empty() || which == w; };
  Bench b;
  if (auto s = b.setup(); !s) {
    std::fprintf(stderr, "execute_bench: %s\n", s.error().message().c_str());
    return 1;
  }
  bool ok = true;
  if (ok && want("batch")) ok = run_batch(b, sizes, runs);
  if (ok && want("rules")) ok = run_rules(b, sizes, runs);
  if (ok && want("cli")) ok = run_cli_replace(b, cli_lines, std::max(1, std::min(runs, 5)), REFLEX_GUARD_BIN);
  if (ok && want("mode")) ok = run_mode(b, runs);
  if (ok && want("swap")) ok = run_swap(b, runs);
  if (!ok) return 1;
  std::printf("\nexecute_bench: done\n");
  return 0;
}
