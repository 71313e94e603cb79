#pragma once
// A tiny metrics registry rendered in the Prometheus text exposition format
// 0.0.4, so `GET /metrics` can be scraped as is.
//
// Two ways to publish a value:
//   - own it here: counter()/gauge()/histogram() return a family;
//     `.with({"200"})` (or `.get()` without labels) returns the child to
//     inc()/set()/observe(). Children live as long as the registry, so a stage
//     keeps the reference. Thread-safe.
//   - read it where it already lives: collect() registers a callback that
//     returns the samples at scrape time (the policy store's counts), so there
//     is one source of truth and nothing to keep in sync. Callbacks run on the
//     thread that renders (the loop's, for /metrics), so they may read state
//     the loop owns. A histogram collector returns samples with `histogram`
//     set (the loop's stage timings, kept as log2 buckets by the loop).
// Registering a name again with the same type and labels returns the same
// family (two stages can share one); a different type, labels or an invalid
// name is a programming error and throws std::logic_error at start-up.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::api {

enum class MetricType { counter, gauge, histogram };
std::string_view to_string(MetricType t);

// A histogram's state: cumulative counts by upper bound (ascending, without
// +Inf, which is `count`), the sum of the observations and their count.
struct HistogramValue {
  std::vector<std::pair<double, std::uint64_t>> buckets;
  double sum = 0;
  std::uint64_t count = 0;
};

// One sample of a family: its label values (in the family's label order) and
// its value, or for a histogram family its buckets.
struct Sample {
  std::vector<std::string> label_values;
  double value = 0;
  std::optional<HistogramValue> histogram;
};

class Counter {
 public:
  void inc(double by = 1);  // counters only go up: negative steps are ignored
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double v) { value_.store(v, std::memory_order_relaxed); }
  void add(double by);
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // Upper bounds, ascending (the family's, the same for every child).
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  HistogramValue value() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  // per bucket (not cumulative), +Inf last
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

class MetricFamily {
 public:
  MetricFamily(std::string name, std::string help, MetricType type, std::vector<std::string> labels);
  virtual ~MetricFamily() = default;
  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& labels() const { return labels_; }
  virtual std::vector<Sample> samples() const = 0;

 private:
  std::string name_, help_;
  MetricType type_;
  std::vector<std::string> labels_;
};

template <class Metric>
class Family final : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;
  // Histogram families: every child gets these bounds.
  Family(std::string name, std::string help, MetricType type, std::vector<std::string> labels,
         std::vector<double> bounds)
      : MetricFamily(std::move(name), std::move(help), type, std::move(labels)), bounds_(std::move(bounds)) {}
  // The child for these label values (created on first use). Throws
  // std::logic_error if the count differs from the family's labels.
  Metric& with(const std::vector<std::string>& label_values);
  Metric& get() { return with({}); }
  std::vector<Sample> samples() const override;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, std::unique_ptr<Metric>> children_;
};

using CollectFn = std::function<std::vector<Sample>()>;

class MetricsRegistry {
 public:
  Family<Counter>& counter(const std::string& name, const std::string& help,
                           std::vector<std::string> labels = {});
  Family<Gauge>& gauge(const std::string& name, const std::string& help,
                       std::vector<std::string> labels = {});
  // `bounds`: ascending upper bounds (seconds, for a *_seconds histogram).
  Family<Histogram>& histogram(const std::string& name, const std::string& help, std::vector<double> bounds,
                               std::vector<std::string> labels = {});
  void collect(const std::string& name, const std::string& help, MetricType type,
               std::vector<std::string> labels, CollectFn fn);
  // Unlabelled value read at scrape time.
  void collect(const std::string& name, const std::string& help, MetricType type, std::function<double()> fn);

  // Every family, sorted by name: # HELP, # TYPE, then its samples.
  std::string render() const;

 private:
  MetricFamily& add(std::unique_ptr<MetricFamily> family);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamily>, std::less<>> families_;
};

// Text exposition helpers, exposed for tests and for other exporters.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
std::string format_sample_value(double v);  // "42", "0.25", "+Inf", "NaN"
std::string escape_label_value(std::string_view v);
std::string escape_help(std::string_view v);

}  // namespace reflex::api
