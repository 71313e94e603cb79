#pragma once
// The building blocks every codec in knowledge/json is written with, so the
// JSON of every type follows the same rules:
//  - to_json(x) returns a boost::json::value; from_json(v, x, path) fills x
//    and names the place of any error ("plan.actions[2].spec.prefix: ...");
//  - a field at its default value is left out, and a missing field reads as
//    its default, so records stay small and old records stay readable when
//    fields are appended (the rule protobuf's JSON mapping follows);
//  - unknown fields are ignored (a newer writer may add them);
//  - enums are strings (to_string), prefixes "10.0.0.0/24", times integers in
//    fields named *_ns, doubles exact (see text.h).
// Found by argument-dependent lookup: every overload lives in namespace reflex.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace reflex {

// ---- writing ----

// Whole numbers within 2^53 as integers ("score":1), NaN and the infinities
// as the strings "nan", "inf", "-inf" (JSON has no such numbers).
boost::json::value to_json(double x);
inline boost::json::value to_json(bool b) { return b; }
inline boost::json::value to_json(const boost::json::value& v) { return v; }
inline boost::json::value to_json(const std::string& s) { return boost::json::value(s); }
inline boost::json::value to_json(std::string_view s) { return boost::json::value(s); }
template <std::integral T>
requires(!std::same_as<T, bool>) boost::json::value to_json(T x) {
  if constexpr (std::is_signed_v<T>)
    return static_cast<std::int64_t>(x);
  else
    return static_cast<std::uint64_t>(x);
}
template <class T>
boost::json::value to_json(const std::vector<T>& v);
template <class T>
boost::json::value to_json(const std::deque<T>& v);
template <class T>
boost::json::value to_json(const std::map<std::string, T>& m);

template <class C>
boost::json::value sequence_to_json(const C& c) {
  boost::json::array a;
  a.reserve(c.size());
  for (const auto& e : c) a.push_back(to_json(e));
  return a;
}
template <class T>
boost::json::value to_json(const std::vector<T>& v) {
  return sequence_to_json(v);
}
template <class T>
boost::json::value to_json(const std::deque<T>& v) {
  return sequence_to_json(v);
}
template <class T>
boost::json::value to_json(const std::map<std::string, T>& m) {
  boost::json::object o;
  o.reserve(m.size());
  for (const auto& [k, e] : m) o.emplace(k, to_json(e));
  return o;
}

// Equal to the default, for leaving a field out: -0.0 is not 0.0 here, so it
// survives the round trip.
template <class T>
bool is_default(const T& v, const T& dflt) {
  if constexpr (std::floating_point<T>)
    return v == dflt && std::signbit(v) == std::signbit(dflt);
  else
    return v == dflt;
}

// Builds one object: w("ttl_ns", a.ttl_ns)("dry_run", a.dry_run).done().
class JsonWriter {
 public:
  // Leaves the field out when it equals `dflt` (the member's default).
  template <class T>
  JsonWriter& operator()(std::string_view key, const T& v, const T& dflt = T{}) {
    if (!is_default(v, dflt)) obj_[key] = to_json(v);
    return *this;
  }
  template <class T>
  JsonWriter& operator()(std::string_view key, const std::optional<T>& v) {
    if (v) obj_[key] = to_json(*v);
    return *this;
  }
  // Written whatever its value (a field readers should always see).
  template <class T>
  JsonWriter& always(std::string_view key, const T& v) {
    obj_[key] = to_json(v);
    return *this;
  }
  boost::json::value done() { return std::move(obj_); }

 private:
  boost::json::object obj_;
};

// ---- reading ----

// "<path>: <what>", with the hint that applies to every decoding error.
Error json_error(std::string_view path, std::string_view what);
std::string_view json_kind_name(const boost::json::value& v);

Status from_json(const boost::json::value& v, std::string& out, std::string_view path);
inline Status from_json(const boost::json::value& v, boost::json::value& out, std::string_view) {
  out = v;
  return ok();
}
Status from_json(const boost::json::value& v, bool& out, std::string_view path);
// Numbers, and the strings "nan", "inf", "-inf" to_json(double) writes.
Status from_json(const boost::json::value& v, double& out, std::string_view path);
Status integer_from_json(const boost::json::value& v, std::int64_t lo, std::uint64_t hi,
                         std::string_view path, std::int64_t& as_signed, std::uint64_t& as_unsigned,
                         bool& negative);

template <std::integral T>
requires(!std::same_as<T, bool>) Status
    from_json(const boost::json::value& v, T& out, std::string_view path) {
  std::int64_t s = 0;
  std::uint64_t u = 0;
  bool neg = false;
  auto lo = static_cast<std::int64_t>(std::numeric_limits<T>::min());
  auto hi = static_cast<std::uint64_t>(std::numeric_limits<T>::max());
  if (auto st = integer_from_json(v, lo, hi, path, s, u, neg); !st) return st;
  out = neg ? static_cast<T>(s) : static_cast<T>(u);
  return ok();
}

template <class T>
Status from_json(const boost::json::value& v, std::optional<T>& out, std::string_view path);
template <class T>
Status from_json(const boost::json::value& v, std::vector<T>& out, std::string_view path);
template <class T>
Status from_json(const boost::json::value& v, std::deque<T>& out, std::string_view path);
template <class T>
Status from_json(const boost::json::value& v, std::map<std::string, T>& out, std::string_view path);

template <class T>
Status from_json(const boost::json::value& v, std::optional<T>& out, std::string_view path) {
  if (v.is_null()) {
    out.reset();
    return ok();
  }
  T x{};
  if (auto s = from_json(v, x, path); !s) return s;
  out = std::move(x);
  return ok();
}

template <class C>
Status sequence_from_json(const boost::json::value& v, C& out, std::string_view path) {
  const auto* a = v.if_array();
  if (!a) return json_error(path, "expected an array, got " + std::string(json_kind_name(v)));
  out.clear();
  std::size_t i = 0;
  for (const auto& e : *a) {
    typename C::value_type x{};
    if (auto s = from_json(e, x, std::string(path) + "[" + std::to_string(i++) + "]"); !s) return s;
    out.push_back(std::move(x));
  }
  return ok();
}
template <class T>
Status from_json(const boost::json::value& v, std::vector<T>& out, std::string_view path) {
  return sequence_from_json(v, out, path);
}
template <class T>
Status from_json(const boost::json::value& v, std::deque<T>& out, std::string_view path) {
  return sequence_from_json(v, out, path);
}
template <class T>
Status from_json(const boost::json::value& v, std::map<std::string, T>& out, std::string_view path) {
  const auto* o = v.if_object();
  if (!o) return json_error(path, "expected an object, got " + std::string(json_kind_name(v)));
  out.clear();
  for (const auto& kv : *o) {
    T x{};
    std::string key(kv.key());
    if (auto s = from_json(kv.value(), x, std::string(path) + "[\"" + key + "\"]"); !s) return s;
    out.emplace(std::move(key), std::move(x));
  }
  return ok();
}

// An enum named by name(e) (by default to_string(e)); `all` lists every value.
template <class E, class NameFn>
Status enum_from_json(const boost::json::value& v, E& out, std::string_view path, std::span<const E> all,
                      NameFn name) {
  if (const auto* s = v.if_string()) {
    for (E e : all)
      if (name(e) == std::string_view(*s)) {
        out = e;
        return ok();
      }
  }
  std::string names;
  for (E e : all) names += (names.empty() ? "" : ", ") + std::string(name(e));
  return json_error(path, "expected one of " + names + ", got " + std::string(json_kind_name(v)) +
                              (v.is_string() ? " \"" + std::string(v.get_string()) + "\"" : ""));
}
template <class E>
Status enum_from_json(const boost::json::value& v, E& out, std::string_view path, std::span<const E> all) {
  return enum_from_json(v, out, path, all, [](E e) { return to_string(e); });
}

// Reads the fields of one object: r("ttl_ns", a.ttl_ns)("dry_run", a.dry_run).status().
// A missing field keeps the value `out` already has (the default); the first
// error wins and stops the rest.
class JsonReader {
 public:
  JsonReader(const boost::json::value& v, std::string_view path);

  template <class T>
  JsonReader& operator()(std::string_view key, T& out) {
    if (!error_)
      if (const auto* f = field(key))
        if (auto s = from_json(*f, out, path_ + "." + std::string(key)); !s) error_ = s.error();
    return *this;
  }
  // For fields without which the value means nothing (a spec's kind).
  template <class T>
  JsonReader& required(std::string_view key, T& out) {
    if (!error_ && obj_ && !obj_->contains(key))
      error_ = json_error(path_ + "." + std::string(key), "missing");
    return (*this)(key, out);
  }
  const boost::json::object* object() const { return obj_; }
  const std::string& path() const { return path_; }
  Status status() const {
    if (error_) return *error_;
    return ok();
  }

 private:
  const boost::json::value* field(std::string_view key) const {
    return obj_ ? obj_->if_contains(key) : nullptr;
  }
  const boost::json::object* obj_ = nullptr;
  std::string path_;
  std::optional<Error> error_;
};

// from_json<PlannerState>(v): the value, or the error naming where it failed.
template <class T>
Result<T> from_json(const boost::json::value& v, std::string_view path = "value") {
  T out{};
  if (auto s = from_json(v, out, path); !s) return s.error();
  return out;
}

}  // namespace reflex
