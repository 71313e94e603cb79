// Table-driven planner tests: each row is a policy and a timed scenario with
// the plans it must produce (the same YAML format as `reflexd test-policy`).
// Scenarios are strict unless they say otherwise: a tick with an action that
// no expectation names fails the row.

#include "test_util.h"

#include <gtest/gtest.h>

namespace reflex::plan {
namespace {

struct Row {
  const char* name;
  const char* policy;
  const char* scenario;  // one test case, indented under `tests:`
};

// A compact base policy most rows use: a three-rung flood ladder.
#define LADDER_POLICY                                                    \
  "global:\n"                                                            \
  "  defaults: {for: 10s, hold: 30s, clear_for: 30s, cooldown: 0s}\n"    \
  "  guardrails: {never_block: [10.99.0.0/16], rate_limit_floor: 10}\n" \
  "rules:\n"                                                             \
  "  - id: ladder\n"                                                     \
  "    when: {symptom: flood, min_score: 0.7}\n"                         \
  "    then:\n"                                                          \
  "      - {action: shadow, ttl: 10m}\n"                                 \
  "      - {action: rate_limit, pps: 100, ttl: 10m}\n"                   \
  "      - {action: block, ttl: 10m}\n"

const Row kRows[] = {
    {"persistence: a symptom shorter than `for` causes nothing", LADDER_POLICY, R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 10s}]
    duration: 2m
)Y"},
    {"persistence: trusts the analyzer's since when it is older", LADDER_POLICY, R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.9, since: 1s, from: 30s, until: 31s}]
    expect:
      - {at: 30s, actions: [{action: shadow, prefix: 192.0.2.1, decision: fire}]}
)Y"},
    {"ladder: escalates after each hold and steps down after each clear_for", LADDER_POLICY, R"Y(
  - name: t
    symptoms: [{kind: flood, iface: eth0, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 100s}]
    expect:
      - {at: 10s, actions: [{action: shadow, decision: fire}]}
      - {at: 40s, actions: [{action: rate_limit, pps: 100, decision: escalate}]}
      - {at: 70s, actions: [{action: block, decision: escalate}]}
      - {at: 130s, actions: [{action: rate_limit, decision: deescalate}]}
      - {at: 160s, actions: [{action: shadow, decision: deescalate}]}
      - {at: 190s, actions: [{action: unblock, iface: eth0, prefix: 192.0.2.1, decision: revert}]}
    duration: 5m
)Y"},
    {"flapping: on/off every tick never fires", LADDER_POLICY, R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.99, from: 0s, until: 10m, flap: {on: 5s, off: 5s}}]
    duration: 10m
)Y"},
    {"flapping: gaps shorter than clear_for never step down, so no oscillation", LADDER_POLICY, R"Y(
  - name: t
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 15s}
      - {kind: flood, prefix: 192.0.2.1, score: 0.9, from: 15s, until: 5m, flap: {on: 5s, off: 20s}}
    expect:
      - {at: 10s, actions: [{action: shadow}]}
      - {at: 40s, actions: [{action: rate_limit}]}
      - {at: 90s, actions: [{action: block}]}
      # last present tick 290s, absent from 295s: clear_for 30s later, one rung down
      - {at: 325s, actions: [{action: rate_limit, decision: deescalate}]}
    duration: 330s
)Y"},
    {"hysteresis: a score in the clear_below band holds the rung; below it clears",
     "global: {defaults: {for: 0s, hold: 1h, clear_for: 10s, cooldown: 0s}}\n"
     "rules:\n  - {id: h, when: {symptom: flood, min_score: 0.8, clear_below: 0.5}, then: {action: shadow}}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 10s}
      - {kind: flood, prefix: 192.0.2.1, score: 0.6, from: 10s, until: 60s}
      - {kind: flood, prefix: 192.0.2.1, score: 0.3, from: 60s, until: 90s}
    expect:
      - {at: 0s, actions: [{action: shadow, decision: fire}]}
      - {at: 70s, actions: [{action: unblock, decision: revert}]}
    duration: 90s
)Y"},
    {"cooldown: a new episode waits out the rule's cooldown",
     "global: {defaults: {for: 0s, clear_for: 10s}}\n"
     "rules:\n  - {id: c, cooldown: 1m, when: {symptom: flood}, then: {action: shadow}}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, at: [0s, 20s, 40s, 80s, 90s, 100s, 110s, 120s, 130s]}
    interval: 10s
    expect:
      - {at: 0s, actions: [{action: shadow, decision: fire}]}
      - {at: 60s, actions: [{action: unblock, decision: revert}]}
      - {at: 2m, actions: [{action: shadow, decision: fire}]}
    duration: 130s
)Y"},
    {"renew: an action is re-issued before its TTL while the symptom lasts",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: r, when: {symptom: flood}, then: {action: block, ttl: 50s}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, from: 0s, until: 90s}]
    expect:
      - {at: 0s, actions: [{action: block, decision: fire}]}
      - {at: 40s, actions: [{action: block, decision: renew}]}
      - {at: 80s, actions: [{action: block, decision: renew}]}
    duration: 90s
)Y"},
    {"aggregate: hosts of one /24 become one subject",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: agg, aggregate: {ipv4: 24}, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, at: 0s}
      - {kind: flood, prefix: 192.0.2.77, at: 0s}
    expect:
      - {at: 0s, actions: [{action: block, prefix: 192.0.2.0/24}]}
)Y"},
    {"filters: iface glob, prefix, severity and score select symptoms",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - id: f\n    when: {symptom: flood, iface: 'wan*', prefix: 192.0.2.0/24, min_severity: critical, min_score: 0.5}\n"
     "    then: {action: shadow}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, iface: lan0, prefix: 192.0.2.1, severity: critical, at: 0s}
      - {kind: flood, iface: wan0, prefix: 198.51.100.1, severity: critical, at: 0s}
      - {kind: flood, iface: wan0, prefix: 192.0.2.2, severity: warning, at: 0s}
      - {kind: flood, iface: wan0, prefix: 192.0.2.3, severity: critical, score: 0.4, at: 0s}
      - {kind: latency_high, iface: wan0, prefix: 192.0.2.4, severity: critical, at: 0s}
      - {kind: flood, iface: wan1, prefix: 192.0.2.5, severity: critical, at: 0s}
    expect:
      - {at: 0s, actions: [{action: shadow, iface: wan1, prefix: 192.0.2.5}]}
)Y"},
    {"l4: a rung can narrow a block to a protocol and port",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: dns, when: {symptom: flood}, then: {action: block, proto: udp, port: 53}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, iface: eth0, prefix: 192.0.2.1, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: block, proto: udp, port: 53}]}
)Y"},
    {"global cap: actions past the per-minute cap wait for the window",
     "global: {max_actions_per_minute: 2, defaults: {for: 0s}}\n"
     "rules:\n  - {id: cap, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    interval: 10s
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, from: 0s}
      - {kind: flood, prefix: 192.0.2.2, from: 0s}
      - {kind: flood, prefix: 192.0.2.3, from: 0s}
    expect:
      - at: 0s
        actions: [{action: block, prefix: 192.0.2.1}, {action: block, prefix: 192.0.2.2}]
        notes: ["global cap of 2 actions/minute reached: rule 'cap' fire on prefix=192.0.2.3 deferred"]
      - {at: 60s, actions: [{action: block, prefix: 192.0.2.3}]}
    duration: 60s
)Y"},
    {"guardrail never_block: a protected prefix is never blocked", LADDER_POLICY, R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 10.99.1.1, score: 0.9, from: 0s, until: 2m}]
    expect:
      - {at: 10s, actions: [{action: shadow, prefix: 10.99.1.1}]}
      - at: 40s
        actions: []
        notes: ["never_block: 10.99.1.1 is inside protected 10.99.0.0/16"]
      - at: 70s
        actions: []
        notes: ["never_block"]
    duration: 90s
)Y"},
    {"guardrail never_block: a wide target covering a protected range narrows to the source",
     "global: {defaults: {for: 0s}, guardrails: {never_block: [192.0.2.128/28], max_block_prefix: {ipv4: 16}}}\n"
     "rules:\n  - {id: agg, aggregate: {ipv4: 24}, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.7, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: block, prefix: 192.0.2.7, guardrail: "narrowed to 192.0.2.7"}]}
)Y"},
    {"guardrail max_block_prefix: a /16 is narrowed to the widest allowed prefix around the source",
     "global: {defaults: {for: 0s}, guardrails: {max_block_prefix: {ipv4: 24}}}\n"
     "rules:\n  - {id: agg, aggregate: {ipv4: 16}, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 198.51.100.7, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: block, prefix: 198.51.100.0/24, guardrail: "max_block_prefix: 198.51.0.0/16 narrowed to 198.51.100.0/24"}]}
)Y"},
    {"guardrail max_block_prefix: the undo of a narrowed block removes the rule it became, not the wider prefix",
     "global: {defaults: {for: 0s, clear_for: 10s, cooldown: 0s}, guardrails: {max_block_prefix: {ipv4: 24}}}\n"
     "rules:\n  - {id: b, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 198.18.0.0/23, from: 0s, until: 10s}]
    interval: 10s
    expect:
      - {at: 0s, actions: [{action: block, prefix: 198.18.0.0/24, guardrail: "max_block_prefix: 198.18.0.0/23 narrowed to 198.18.0.0/24"}]}
      - {at: 20s, actions: [{action: unblock, prefix: 198.18.0.0/24, decision: revert}]}
    duration: 30s
)Y"},
    {"guardrail floors: rate limits and shaping are raised to their floors",
     "global: {defaults: {for: 0s}, guardrails: {rate_limit_floor: 200, shaping_floor: 5Mbit}}\n"
     "rules:\n  - {id: rl, when: {symptom: flood}, then: {action: rate_limit, pps: 20}}\n"
     "  - {id: sh, when: {symptom: latency_high}, then: {action: shape, rate: 1Mbit}}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, iface: eth0, prefix: 192.0.2.1, at: 0s}
      - {kind: latency_high, iface: eth0, at: 0s}
    expect:
      - at: 0s
        actions:
          - {action: rate_limit, pps: 200, guardrail: rate_limit_floor}
          - {action: shape, iface: eth0, rate: 5Mbit, guardrail: shaping_floor}
)Y"},
    {"guardrail max_drop_fraction: a block of most of the traffic becomes a rate limit",
     "global: {defaults: {for: 0s}, guardrails: {max_drop_fraction: 0.25}}\n"
     "rules:\n  - {id: b, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    traffic:
      interfaces: {eth0: {rx_pps: 1000}}
      talkers: [{iface: eth0, source: 192.0.2.1, pps: 600}]
    symptoms: [{kind: flood, iface: eth0, prefix: 192.0.2.1, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: rate_limit, prefix: 192.0.2.1, pps: 350, guardrail: "max_drop_fraction"}]}
)Y"},
    {"conflict: the more specific rule wins even against a higher priority",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: broad, priority: 100, when: {symptom: flood}, then: {action: block}}\n"
     "  - {id: narrow, priority: 1, when: {symptom: flood, prefix: 192.0.2.0/24}, then: {action: rate_limit, pps: 100}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, at: 0s}]
    expect:
      - at: 0s
        actions: [{action: rate_limit, rule: narrow}]
        notes: ["rule 'narrow' wins over 'broad' (more specific subject)"]
)Y"},
    {"conflict: equal specificity, higher priority wins",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: lo, priority: 1, when: {symptom: flood}, then: {action: shadow}}\n"
     "  - {id: hi, priority: 2, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: block, rule: hi}], notes: ["(higher priority)"]}
)Y"},
    {"conflict: equal specificity and priority, the less aggressive action wins",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: a, when: {symptom: flood}, then: {action: block}}\n"
     "  - {id: b, when: {symptom: flood}, then: {action: shadow}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: shadow, rule: b}], notes: ["(less aggressive action)"]}
)Y"},
    {"conflict: a weaker rule cannot undo a target another rule holds",
     "global: {defaults: {for: 0s, clear_for: 0s, cooldown: 0s}}\n"
     "rules:\n  - {id: strong, priority: 10, when: {symptom: flood, min_score: 0.9}, then: {action: block}}\n"
     "  - {id: weak, when: {symptom: flood, min_score: 0.5}, then: {action: shadow}}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, score: 0.95, at: 0s}
      - {kind: flood, prefix: 192.0.2.1, score: 0.6, from: 5s, until: 15s}
    expect:
      - {at: 0s, actions: [{action: block, rule: strong}]}
      - {at: 5s, actions: [{action: unblock, rule: strong, decision: revert}]}
      - {at: 10s, actions: [{action: shadow, rule: weak}]}
      - {at: 15s, actions: [{action: unblock, rule: weak}]}
    duration: 20s
)Y"},
    {"dry_run: the global switch marks every action dry-run",
     "global: {mode: dry_run, defaults: {for: 0s}}\n"
     "rules:\n  - {id: a, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, at: 0s}]
    expect:
      - {at: 0s, actions: [{action: block, dry_run: true}]}
)Y"},
    {"dry_run: per rule, other rules still enforce",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: a, mode: dry_run, when: {symptom: flood}, then: {action: block}}\n"
     "  - {id: b, when: {symptom: latency_high}, then: {action: alert}}\n",
     R"Y(
  - name: t
    symptoms:
      - {kind: flood, prefix: 192.0.2.1, at: 0s}
      - {kind: latency_high, iface: eth0, at: 0s}
    expect:
      - {at: 0s, actions: [{action: block, dry_run: true, rule: a}, {action: alert, dry_run: false, rule: b}]}
)Y"},
    {"override pause_all: no policy action while paused, manual actions still run", LADDER_POLICY, R"Y(
  - name: t
    overrides:
      - {id: p, kind: pause_all, who: ops, from: 0s, until: 30s}
      - {id: m, kind: manual, who: ops, from: 5s, action: {action: block, iface: eth0, prefix: 203.0.113.9, ttl: 1h}}
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 35s}]
    expect:
      - {at: 0s, actions: [], notes: ["paused by override 'p' (ops)"]}
      - {at: 5s, actions: [{action: block, prefix: 203.0.113.9, rule: "override:m", decision: manual}]}
      - {at: 20s, actions: []}
      - {at: 30s, actions: [{action: shadow, prefix: 192.0.2.1, rule: ladder}]}
    duration: 35s
)Y"},
    {"override forbid: a forbidden kind is not emitted; the ladder stays below it", LADDER_POLICY, R"Y(
  - name: t
    overrides:
      - {id: nob, kind: forbid, who: ops, action_kind: block, prefix: 192.0.2.0/24}
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 2m}]
    expect:
      - {at: 10s, actions: [{action: shadow}]}
      - {at: 40s, actions: [{action: rate_limit}]}
      - {at: 70s, actions: [], notes: ["suppressed: forbidden by override 'nob (ops)'"]}
    strict: false
    duration: 2m
)Y"},
    {"override pin: the pinned action is issued once and rules keep off its target", LADDER_POLICY, R"Y(
  - name: t
    overrides:
      - {id: keep, kind: pin, who: ops, action: {action: rate_limit, prefix: 192.0.2.1, pps: 5000}}
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 2m}]
    expect:
      - {at: 0s, actions: [{action: rate_limit, pps: 5000, decision: pin}]}
      - {at: 10s, actions: [], notes: ["pinned by override 'keep'"]}
    duration: 2m
)Y"},
    {"override forbid that expired no longer applies", LADDER_POLICY, R"Y(
  - name: t
    overrides:
      - {id: f, kind: forbid, action_kind: "*", until: 20s}
    symptoms: [{kind: flood, prefix: 192.0.2.1, score: 0.9, from: 0s, until: 30s}]
    expect:
      - {at: 10s, actions: [], notes: ["forbidden by override 'f'"]}
      - {at: 20s, actions: [{action: shadow}]}
    duration: 30s
)Y"},
    {"backoff: a failed action is retried after 1m, then 2m, then 4m",
     "global: {defaults: {for: 0s, hold: 0s, cooldown: 0s}, backoff: {initial: 1m, max: 1h, factor: 2}}\n"
     "rules:\n  - {id: b, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    interval: 10s
    symptoms: [{kind: flood, prefix: 192.0.2.1, from: 0s}]
    outcomes:
      - {at: 10s, action: block, status: failed}
      - {at: 80s, action: block, status: rolled_back}
      - {at: 210s, action: block, status: failed}
    expect:
      - {at: 0s, actions: [{action: block, decision: fire}]}
      - {at: 10s, actions: [], notes: ["backing off: 1 failure(s)"]}
      - {at: 70s, actions: [{action: block, decision: fire}]}
      - {at: 200s, actions: [{action: block, decision: fire}]}
      - {at: 450s, actions: [{action: block, decision: fire}]}
    duration: 460s
)Y"},
    {"attach_mode: explicit mode, then revert to the mode before the episode",
     "global: {defaults: {for: 0s, clear_for: 20s}}\n"
     "rules:\n  - {id: am, when: {symptom: attach_degraded}, then: {action: attach_mode, mode: tc, ttl: 0s}}\n",
     R"Y(
  - name: t
    traffic: {interfaces: {eth0: {mode: generic}}}
    symptoms: [{kind: attach_degraded, iface: eth0, from: 0s, until: 10s}]
    expect:
      - {at: 0s, actions: [{action: attach_mode, iface: eth0, mode: tc}]}
      - {at: 30s, actions: [{action: attach_mode, iface: eth0, mode: generic, decision: revert}]}
    duration: 40s
)Y"},
    {"swap_program: swaps and swaps back when the episode ends",
     "global: {defaults: {for: 0s, clear_for: 10s, cooldown: 0s}}\n"
     "rules:\n  - {id: sw, when: {symptom: drop_rate_high}, then: {action: swap_program, program: xdp_guard_lite, revert_to: xdp_guard}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: drop_rate_high, iface: eth0, from: 0s, until: 10s}]
    expect:
      - {at: 0s, actions: [{action: swap_program, program: xdp_guard_lite}]}
      - {at: 20s, actions: [{action: swap_program, program: xdp_guard, decision: revert}]}
    duration: 30s
)Y"},
    {"disabled rules never act",
     "global: {defaults: {for: 0s}}\n"
     "rules:\n  - {id: off, enabled: false, when: {symptom: flood}, then: {action: block}}\n",
     R"Y(
  - name: t
    symptoms: [{kind: flood, prefix: 192.0.2.1, from: 0s, until: 1m}]
    duration: 1m
)Y"},
};

void PrintTo(const Row& r, std::ostream* os) { *os << r.name; }

class PlannerTable : public ::testing::TestWithParam<Row> {};

TEST_P(PlannerTable, ProducesExpectedPlans) {
  const Row& row = GetParam();
  auto policy = testing::load_ok(row.policy);
  auto tc = testing::parse_case(row.scenario);
  auto result = check_case(policy, tc);
  EXPECT_TRUE(result.passed) << row.name << "\n"
                             << testing::join(result.report) << "timeline:\n"
                             << render_timeline(simulate(policy, tc), true);
}

INSTANTIATE_TEST_SUITE_P(Rules, PlannerTable, ::testing::ValuesIn(kRows), [](const auto& info) {
  std::string n;
  for (const char* p = info.param.name; *p && *p != ':'; ++p) n += std::isalnum(static_cast<unsigned char>(*p)) ? *p : '_';
  return n + "_" + std::to_string(info.index);
});

}  // namespace
}  // namespace reflex::plan
