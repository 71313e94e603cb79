#include "api/metrics.h"

#include <algorithm>
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

std::string_view to_string(MetricType t) { return t == MetricType::counter ? "counter" : "gauge"; }

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }

bool valid_label_name(std::string_view name) {
  return valid_name(name, false) && name.substr(0, 2) != "__";  // "__" is reserved for Prometheus itself
}

std::string format_sample_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Integers (the common case: counts) print without exponent or decimals.
  if (v == std::floor(v) && std::fabs(v) < 9.007199254740992e15)
    std::snprintf(buf, sizeof buf, "%.0f", v);
  else
    std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
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
  if (!child) child = std::make_unique<Metric>();
  return *child;
}

template <class Metric>
std::vector<Sample> Family<Metric>::samples() const {
  std::lock_guard lock(mu_);
  std::vector<Sample> out;
  out.reserve(children_.size());
  for (const auto& [values, child] : children_) out.push_back({values, child->value()});
  return out;
}

template class Family<Counter>;
template class Family<Gauge>;

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
      out += name;
      // A collector returning the wrong number of values is a bug; pair what
      // there is rather than emit a line a scraper would reject.
      const std::size_t n = std::min(labels.size(), s.label_values.size());
      if (n > 0) {
        out += '{';
        for (std::size_t i = 0; i < n; ++i) {
          if (i) out += ',';
          out += labels[i] + "=\"" + escape_label_value(s.label_values[i]) + "\"";
        }
        out += '}';
      }
      out += ' ' + format_sample_value(s.value) + '\n';
    }
  }
  return out;
}

}  // namespace reflex::api
