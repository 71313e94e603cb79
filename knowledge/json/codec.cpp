#include "knowledge/json/codec.h"

#include <limits>

namespace reflex {

namespace json = boost::json;

json::value to_json(double x) {
  if (std::isnan(x)) return "nan";
  if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
  constexpr double kExactInts = 9007199254740992.0;  // 2^53
  if (x == std::floor(x) && std::fabs(x) <= kExactInts && !(x == 0 && std::signbit(x)))
    return static_cast<std::int64_t>(x);
  return x;
}

Error json_error(std::string_view path, std::string_view what) {
  return make_error(
      std::string(path) + ": " + std::string(what),
      "the record was written by another version or damaged; the value at this place is ignored");
}

std::string_view json_kind_name(const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      return "null";
    case json::kind::bool_:
      return "a boolean";
    case json::kind::int64:
    case json::kind::uint64:
      return "an integer";
    case json::kind::double_:
      return "a number";
    case json::kind::string:
      return "a string";
    case json::kind::array:
      return "an array";
    case json::kind::object:
      return "an object";
  }
  return "a value";
}

Status from_json(const json::value& v, std::string& out, std::string_view path) {
  const auto* s = v.if_string();
  if (!s) return json_error(path, "expected a string, got " + std::string(json_kind_name(v)));
  out.assign(s->data(), s->size());
  return ok();
}

Status from_json(const json::value& v, bool& out, std::string_view path) {
  const auto* b = v.if_bool();
  if (!b) return json_error(path, "expected true or false, got " + std::string(json_kind_name(v)));
  out = *b;
  return ok();
}

Status from_json(const json::value& v, double& out, std::string_view path) {
  switch (v.kind()) {
    case json::kind::double_:
      out = v.get_double();
      return ok();
    case json::kind::int64:
      out = static_cast<double>(v.get_int64());
      return ok();
    case json::kind::uint64:
      out = static_cast<double>(v.get_uint64());
      return ok();
    case json::kind::string: {
      std::string_view s = v.get_string();
      if (s == "nan")
        out = std::numeric_limits<double>::quiet_NaN();
      else if (s == "inf")
        out = std::numeric_limits<double>::infinity();
      else if (s == "-inf")
        out = -std::numeric_limits<double>::infinity();
      else
        break;
      return ok();
    }
    default:
      break;
  }
  return json_error(path, "expected a number, got " + std::string(json_kind_name(v)));
}

Status integer_from_json(const json::value& v, std::int64_t lo, std::uint64_t hi, std::string_view path,
                         std::int64_t& as_signed, std::uint64_t& as_unsigned, bool& negative) {
  auto out_of_range = [&](const std::string& text) {
    return json_error(path,
                      text + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  if (v.is_int64()) {
    std::int64_t x = v.get_int64();
    if (x < 0) {
      if (x < lo) return out_of_range(std::to_string(x));
      as_signed = x;
      negative = true;
      return ok();
    }
    if (static_cast<std::uint64_t>(x) > hi) return out_of_range(std::to_string(x));
    as_unsigned = static_cast<std::uint64_t>(x);
    negative = false;
    return ok();
  }
  if (v.is_uint64()) {
    if (v.get_uint64() > hi) return out_of_range(std::to_string(v.get_uint64()));
    as_unsigned = v.get_uint64();
    negative = false;
    return ok();
  }
  return json_error(path, "expected an integer, got " + std::string(json_kind_name(v)));
}

JsonReader::JsonReader(const json::value& v, std::string_view path) : obj_(v.if_object()), path_(path) {
  if (!obj_) error_ = json_error(path, "expected an object, got " + std::string(json_kind_name(v)));
}

}  // namespace reflex
