#include "api/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <typeinfo>

namespace reflex::api {
namespace {

bool name_char(char c, bool first, bool colon_ok) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (c == ':') return colon_ok;
  return !first && c >= '0' && c <= '9';
}

bool valid_name(std::string_view name, bool colon_ok) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon_ok)) return false;
  return true;
}

void atomic_add(std::atomic<double>& a, double by) {
  double cur = a.load(std::memory_order_relaxed);
  while (!a.compare_exchange_weak(cur, cur + by, std::memory_order_relaxed)) {
  }
}

class CollectorFamily final : public MetricFamily {
 public:
  CollectorFamily(std::string name, std::string help, MetricType type, std::vector<std::string> labels,
                  CollectFn fn)
      : MetricFamily(std::move(name), std::move(help), type, std::move(labels)), fn_(std::move(fn)) {}
  std::vector<Sample> samples() const override { return fn_(); }

 private:
  CollectFn fn_;
};

}  // namespace

std::string_view to_string(MetricType t) {
  switch (t) {
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
  }
  return "untyped";
}

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }

bool valid_label_name(std::string_view name) {
  return valid_name(name, false) && name.substr(0, 2) != "__";  // "__" is reserved for Prometheus itself
}

std::string format_sample_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Integers (the common case: counts) print without exponent or decimals.
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // Else the shortest text that reads back to v ("0.25", "2e-06").
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, ec == std::errc() ? end : buf);
}

std::string escape_label_value(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void Counter::inc(double by) {
  if (by > 0) atomic_add(value_, by);
}

void Gauge::add(double by) { atomic_add(value_, by); }

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(new std::atomic<std::uint64_t>[bounds_.size() + 1]) {
  for (std::size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double v) {
  // le is inclusive: v == bound counts in that bucket.
  const auto i = static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) - bounds_.begin());
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  atomic_add(sum_, v);
  count_.fetch_add(1, std::memory_order_relaxed);
}

HistogramValue Histogram::value() const {
  HistogramValue out;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i].load(std::memory_order_relaxed);
    out.buckets.emplace_back(bounds_[i], cumulative);
  }
  cumulative += counts_[bounds_.size()].load(std::memory_order_relaxed);
  // Read after the buckets, and never less than them, so a scrape racing an
  // observe() still sees a well-formed histogram (count >= every bucket).
  out.count = std::max(cumulative, count_.load(std::memory_order_relaxed));
  out.sum = sum_.load(std::memory_order_relaxed);
  return out;
}

MetricFamily::MetricFamily(std::string name, std::string help, MetricType type,
                           std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {
  if (!valid_metric_name(name_)) throw std::logic_error("invalid metric name \"" + name_ + "\"");
  for (const auto& l : labels_)
    if (!valid_label_name(l))
      throw std::logic_error("metric " + name_ + ": invalid label name \"" + l + "\"");
}

template <class Metric>
Metric& Family<Metric>::with(const std::vector<std::string>& label_values) {
  if (label_values.size() != labels().size())
    throw std::logic_error("metric " + name() + ": " + std::to_string(labels().size()) +
                           " label value(s) expected, got " + std::to_string(label_values.size()));
  std::lock_guard lock(mu_);
  auto& child = children_[label_values];
  if (!child) {
    if constexpr (std::is_same_v<Metric, Histogram>)
      child = std::make_unique<Histogram>(bounds_);
    else
      child = std::make_unique<Metric>();
  }
  return *child;
}

template <class Metric>
std::vector<Sample> Family<Metric>::samples() const {
  std::lock_guard lock(mu_);
  std::vector<Sample> out;
  out.reserve(children_.size());
  for (const auto& [values, child] : children_) {
    if constexpr (std::is_same_v<Metric, Histogram>)
      out.push_back({values, 0, child->value()});
    else
      out.push_back({values, child->value(), std::nullopt});
  }
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

MetricFamily& MetricsRegistry::add(std::unique_ptr<MetricFamily> family) {
  std::lock_guard lock(mu_);
  auto it = families_.find(family->name());
  if (it != families_.end()) {
    const auto& old = *it->second;
    const bool same_kind = typeid(old) == typeid(*family);
    if (!same_kind || old.type() != family->type() || old.labels() != family->labels() ||
        dynamic_cast<const CollectorFamily*>(&old))
      throw std::logic_error("metric " + family->name() +
                             " is already registered with another type or labels");
    return *it->second;
  }
  auto& slot = families_[family->name()];
  slot = std::move(family);
  return *slot;
}

Family<Counter>& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                          std::vector<std::string> labels) {
  return static_cast<Family<Counter>&>(
      add(std::make_unique<Family<Counter>>(name, help, MetricType::counter, std::move(labels))));
}

Family<Gauge>& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                      std::vector<std::string> labels) {
  return static_cast<Family<Gauge>&>(
      add(std::make_unique<Family<Gauge>>(name, help, MetricType::gauge, std::move(labels))));
}

Family<Histogram>& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                              std::vector<double> bounds, std::vector<std::string> labels) {
  if (!std::is_sorted(bounds.begin(), bounds.end()) ||
      std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end())
    throw std::logic_error("metric " + name + ": histogram bounds must be strictly ascending");
  for (const auto& l : labels)
    if (l == "le") throw std::logic_error("metric " + name + ": a histogram cannot have a label \"le\"");
  auto& family = static_cast<Family<Histogram>&>(add(std::make_unique<Family<Histogram>>(
      name, help, MetricType::histogram, std::move(labels), std::move(bounds))));
  return family;
}

void MetricsRegistry::collect(const std::string& name, const std::string& help, MetricType type,
                              std::vector<std::string> labels, CollectFn fn) {
  add(std::make_unique<CollectorFamily>(name, help, type, std::move(labels), std::move(fn)));
}

void MetricsRegistry::collect(const std::string& name, const std::string& help, MetricType type,
                              std::function<double()> fn) {
  collect(name, help, type, {}, [fn = std::move(fn)] { return std::vector<Sample>{{{}, fn()}}; });
}

std::string MetricsRegistry::render() const {
  // Families are never removed, so pointers taken under the lock stay valid;
  // collectors then run unlocked and may themselves use the registry.
  std::vector<const MetricFamily*> families;
  {
    std::lock_guard lock(mu_);
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamily* family : families) {
    const std::string& name = family->name();
    out += "# HELP " + name + " " + escape_help(family->help()) + "\n";
    out += "# TYPE " + name + " " + std::string(to_string(family->type())) + "\n";
    const auto& labels = family->labels();
    for (const auto& s : family->samples()) {
      // A collector returning the wrong number of values is a bug; pair what
      // there is rather than emit a line a scraper would reject.
      const std::size_t n = std::min(labels.size(), s.label_values.size());
      std::string label_text;
      for (std::size_t i = 0; i < n; ++i) {
        if (i) label_text += ',';
        label_text += labels[i] + "=\"" + escape_label_value(s.label_values[i]) + "\"";
      }
      if (family->type() != MetricType::histogram) {
        out += name;
        if (!label_text.empty()) out += '{' + label_text + '}';
        out += ' ' + format_sample_value(s.value) + '\n';
        continue;
      }
      if (!s.histogram) continue;
      const auto& h = *s.histogram;
      const std::string sep = label_text.empty() ? "" : ",";
      for (const auto& [bound, count] : h.buckets)
        out += name + "_bucket{" + label_text + sep + "le=\"" + format_sample_value(bound) + "\"} " +
               format_sample_value(static_cast<double>(count)) + '\n';
      out += name + "_bucket{" + label_text + sep + "le=\"+Inf\"} " +
             format_sample_value(static_cast<double>(h.count)) + '\n';
      const std::string braces = label_text.empty() ? "" : "{" + label_text + "}";
      out += name + "_sum" + braces + ' ' + format_sample_value(h.sum) + '\n';
      out += name + "_count" + braces + ' ' + format_sample_value(static_cast<double>(h.count)) + '\n';
    }
  }
  return out;
}

}  // namespace reflex::api
