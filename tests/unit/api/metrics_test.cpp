// The metrics registry and its text rendering, checked by a strict reader of
// the exposition format (whose own strictness is tested at the bottom).

#include "api/metrics.h"
#include "tests/unit/api/prometheus_text.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace reflex::api {
namespace {

using testing::parse_prometheus_text;

TEST(Metrics, CountersAndGaugesRenderWithHelpTypeAndLabels) {
  MetricsRegistry reg;
  auto& requests = reg.counter("app_requests_total", "Requests by code", {"code"});
  requests.with({"200"}).inc();
  requests.with({"200"}).inc(2);
  requests.with({"404"}).inc();
  requests.with({"404"}).inc(-5);  // ignored: counters only go up
  reg.gauge("app_temperature", "A gauge").get().set(-1.5);
  reg.collect("app_generation", "From elsewhere", MetricType::gauge, [] { return 7.0; });

  const std::string text = reg.render();
  EXPECT_EQ(text,
            "# HELP app_generation From elsewhere\n"
            "# TYPE app_generation gauge\n"
            "app_generation 7\n"
            "# HELP app_requests_total Requests by code\n"
            "# TYPE app_requests_total counter\n"
            "app_requests_total{code=\"200\"} 3\n"
            "app_requests_total{code=\"404\"} 1\n"
            "# HELP app_temperature A gauge\n"
            "# TYPE app_temperature gauge\n"
            "app_temperature -1.5\n");
  auto parsed = parse_prometheus_text(text);
  ASSERT_TRUE(parsed) << parsed.error().what;
  EXPECT_EQ(parsed->sample("app_requests_total", {{"code", "200"}})->value, 3);
  EXPECT_EQ(parsed->find("app_requests_total")->type, "counter");
}

TEST(Metrics, EscapesHelpAndLabelValues) {
  MetricsRegistry reg;
  reg.gauge("x", "line one\nback\\slash", {"path"}).with({"a\"b\\c\nd"}).set(1);
  const std::string text = reg.render();
  EXPECT_NE(text.find("# HELP x line one\\nback\\\\slash\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x{path=\"a\\\"b\\\\c\\nd\"} 1\n"), std::string::npos) << text;
  auto parsed = parse_prometheus_text(text);
  ASSERT_TRUE(parsed) << parsed.error().what;
  EXPECT_EQ(parsed->families[0].samples[0].labels.at("path"), "a\"b\\c\nd") << "escaping must round-trip";
}

TEST(Metrics, ValuesFormatLikePrometheus) {
  EXPECT_EQ(format_sample_value(0), "0");
  EXPECT_EQ(format_sample_value(123456789), "123456789");
  EXPECT_EQ(format_sample_value(0.25), "0.25");
  EXPECT_EQ(format_sample_value(INFINITY), "+Inf");
  EXPECT_EQ(format_sample_value(-INFINITY), "-Inf");
  EXPECT_EQ(format_sample_value(NAN), "NaN");
  EXPECT_EQ(std::stod(format_sample_value(1e300)), 1e300);
}

TEST(Metrics, RegistrationRules) {
  MetricsRegistry reg;
  auto& a = reg.counter("shared_total", "h", {"k"});
  EXPECT_EQ(&a, &reg.counter("shared_total", "h", {"k"})) << "same name, type and labels: the same family";
  EXPECT_THROW(reg.gauge("shared_total", "h", {"k"}), std::logic_error);
  EXPECT_THROW(reg.counter("shared_total", "h", {"other"}), std::logic_error);
  EXPECT_THROW(reg.counter("9starts_with_digit", "h"), std::logic_error);
  EXPECT_THROW(reg.counter("has-dash", "h"), std::logic_error);
  EXPECT_THROW(reg.counter("ok_name", "h", {"__reserved"}), std::logic_error);
  EXPECT_THROW(reg.counter("ok_name2", "h", {"with:colon"}), std::logic_error);
  EXPECT_THROW(a.with({}), std::logic_error) << "label count must match";
  reg.collect("c", "h", MetricType::gauge, [] { return 1.0; });
  EXPECT_THROW(reg.collect("c", "h", MetricType::gauge, [] { return 2.0; }), std::logic_error)
      << "two sources of truth for one name";
  EXPECT_TRUE(valid_metric_name("reflex:rule_total"));
  EXPECT_FALSE(valid_label_name("a:b"));
}

TEST(Metrics, ConcurrentIncrementsAreNotLost) {
  MetricsRegistry reg;
  auto& fam = reg.counter("hits_total", "h", {"t"});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&fam, t] {
      for (int i = 0; i < 10000; ++i) fam.with({std::to_string(i % 2)}).inc();
      (void)t;
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(fam.with({"0"}).value() + fam.with({"1"}).value(), 40000);
}

TEST(Metrics, CollectorsMayUseTheRegistry) {
  MetricsRegistry reg;
  reg.collect("a", "h", MetricType::gauge, [&reg] {
    reg.counter("b_total", "h").get().inc();  // would deadlock if render held the lock
    return 1.0;
  });
  reg.render();
  EXPECT_EQ(reg.counter("b_total", "h").get().value(), 1);
}

TEST(Metrics, HistogramsRenderCumulativeBucketsSumAndCount) {
  MetricsRegistry reg;
  auto& h = reg.histogram("app_latency_seconds", "Latency", {0.25, 0.5, 1}, {"stage"});
  auto& plan = h.with({"plan"});
  for (double v : {0.125, 0.25, 0.375, 0.75, 3.0}) plan.observe(v);  // 0.25 is in le="0.25"
  reg.histogram("app_empty_seconds", "No labels", {1.0}).get();

  const std::string text = reg.render();
  EXPECT_EQ(text,
            "# HELP app_empty_seconds No labels\n"
            "# TYPE app_empty_seconds histogram\n"
            "app_empty_seconds_bucket{le=\"1\"} 0\n"
            "app_empty_seconds_bucket{le=\"+Inf\"} 0\n"
            "app_empty_seconds_sum 0\n"
            "app_empty_seconds_count 0\n"
            "# HELP app_latency_seconds Latency\n"
            "# TYPE app_latency_seconds histogram\n"
            "app_latency_seconds_bucket{stage=\"plan\",le=\"0.25\"} 2\n"
            "app_latency_seconds_bucket{stage=\"plan\",le=\"0.5\"} 3\n"
            "app_latency_seconds_bucket{stage=\"plan\",le=\"1\"} 4\n"
            "app_latency_seconds_bucket{stage=\"plan\",le=\"+Inf\"} 5\n"
            "app_latency_seconds_sum{stage=\"plan\"} 4.5\n"
            "app_latency_seconds_count{stage=\"plan\"} 5\n");
  auto parsed = parse_prometheus_text(text);
  ASSERT_TRUE(parsed) << parsed.error().what;
  EXPECT_EQ(parsed->find("app_latency_seconds")->type, "histogram");
  EXPECT_EQ(parsed->sample("app_latency_seconds_count", {{"stage", "plan"}})->value, 5);

  EXPECT_THROW(reg.histogram("bad_seconds", "h", {1.0, 0.5}), std::logic_error);
  EXPECT_THROW(reg.histogram("bad2_seconds", "h", {1.0}, {"le"}), std::logic_error);
  EXPECT_THROW(reg.gauge("app_latency_seconds", "h", {"stage"}), std::logic_error);
}

TEST(Metrics, HistogramCollectorsRenderLikeOwnedHistograms) {
  MetricsRegistry reg;
  reg.collect("app_stage_seconds", "From elsewhere", MetricType::histogram, {"stage"}, [] {
    HistogramValue v;
    v.buckets = {{0.5, 1}, {1, 3}};
    v.sum = 2.5;
    v.count = 4;
    return std::vector<Sample>{{{"monitor"}, 0, v}};
  });
  auto parsed = parse_prometheus_text(reg.render());
  ASSERT_TRUE(parsed) << parsed.error().what;
  EXPECT_EQ(parsed->sample("app_stage_seconds_bucket", {{"stage", "monitor"}, {"le", "0.5"}})->value, 1);
  EXPECT_EQ(parsed->sample("app_stage_seconds_bucket", {{"stage", "monitor"}, {"le", "+Inf"}})->value, 4);
  EXPECT_EQ(parsed->sample("app_stage_seconds_sum", {{"stage", "monitor"}})->value, 2.5);
}

TEST(Metrics, ConcurrentObservationsAreNotLost) {
  MetricsRegistry reg;
  auto& h = reg.histogram("app_h_seconds", "h", {0.5}).get();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.observe(i % 2 ? 0.25 : 1.0);
    });
  for (auto& t : threads) t.join();
  auto v = h.value();
  EXPECT_EQ(v.count, 40000u);
  EXPECT_EQ(v.buckets.at(0).second, 20000u);
  EXPECT_DOUBLE_EQ(v.sum, 20000 * 1.25);
}

// The reader must reject what a scraper rejects, or the checks above prove nothing.
TEST(PrometheusText, ReaderRejectsMalformedExpositions) {
  const char* bad[] = {
      "x 1",                                        // no final newline
      "x{a=\"1\"} \n",                              // no value
      "x{a=\"1\"}  1\n",                            // two spaces
      "x{a=1} 1\n",                                 // unquoted label value
      "x{a=\"\\t\"} 1\n",                           // invalid escape
      "x{a=\"1\",a=\"2\"} 1\n",                     // duplicate label
      "x 1\nx 2\n",                                 // duplicate series
      "x 1\n# TYPE x gauge\n",                      // TYPE after samples
      "# HELP x a\n# HELP x b\nx 1\n",              // HELP twice
      "# TYPE x counter\n# TYPE x counter\nx 1\n",  // TYPE twice
      "# TYPE x countr\nx 1\n",                     // unknown type
      "# TYPE x counter\nx -1\n",                   // negative counter
      "x 1\ny 1\nx{a=\"b\"} 1\n",                   // interleaved families
      "1x 1\n",                                     // bad metric name
      "x{1a=\"1\"} 1\n",                            // bad label name
      "x one\n",                                    // bad value
      "x 1 12.5\n",                                 // bad timestamp
      "x{a=\"1\" 1\n",                              // unterminated label set
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n",              // no _count
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",     // no +Inf
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // decreasing
      "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 1\n",  // count != +Inf
      "# TYPE h histogram\nh_bucket 1\nh_sum 1\nh_count 1\n",                // bucket without le
      "# TYPE h histogram\nh 1\n",                                            // a bare sample
  };
  for (const char* text : bad) EXPECT_FALSE(parse_prometheus_text(text)) << "accepted: " << text;
  auto good = parse_prometheus_text(
      "# a comment\n# HELP x h\n# TYPE x counter\nx{a=\"1\"} 1 1700000000000\nx{a=\"2\"} +Inf\n\ny NaN\n");
  ASSERT_TRUE(good) << good.error().what;
  EXPECT_EQ(good->families.size(), 2u);
  EXPECT_EQ(good->find("y")->type, "untyped");
}

}  // namespace
}  // namespace reflex::api
