#include "api/http.h"

#include "knowledge/json/text.h"

#include <boost/beast/http/field.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <cctype>

namespace reflex::api {
namespace {

bool iequals_prefix(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  return std::equal(prefix.begin(), prefix.end(), s.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

}  // namespace

std::string json_text(const json::value& body) {
  // Shortest exact numbers (0.9, not 9E-1): see knowledge/json/text.h.
  std::string text = to_text(body);
  text += '\n';
  return text;
}

Response json_response(http::status status, const json::value& body) {
  return text_response(status, json_text(body), kJsonType);
}

namespace {
// Length of the valid UTF-8 sequence at s[i] (1..4), or 0 if there is none
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k)
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  const unsigned char c1 = b(i + 1);
  if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 > 0x9F) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 > 0x8F))
    return 0;
  return n;
}
}  // namespace

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_safe(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

Response error_response(http::status status, std::string_view what, std::string_view hint,
                        json::object extra) {
  json::object body;
  // Errors quote what the client sent (a path, a parameter), which may be any bytes.
  body["error"] = utf8_safe(what);
  body["hint"] = utf8_safe(hint);
  for (auto& kv : extra) body[kv.key()] = std::move(kv.value());
  return json_response(status, body);
}

Response text_response(http::status status, std::string body, std::string_view content_type) {
  Response res{status, 11};
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");  // every answer is live state
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::string_view target_path(std::string_view target) {
  auto end = target.find_first_of("?#");
  return end == std::string_view::npos ? target : target.substr(0, end);
}

bool has_json_content_type(const Request& req) {
  auto it = req.find(http::field::content_type);
  if (it == req.end()) return false;
  std::string_view v = it->value();
  if (!iequals_prefix(v, kJsonType)) return false;
  // "application/json" exactly, or followed by parameters: not "application/jsonx".
  return v.size() == kJsonType.size() || v[kJsonType.size()] == ';' || v[kJsonType.size()] == ' ';
}

Result<json::object> parse_json_object(const Request& req) {
  const std::string& body = req.body();
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object{};
  json::stream_parser parser;
  boost::system::error_code ec;
  std::size_t used = parser.write(body.data(), body.size(), ec);
  if (!ec) parser.finish(ec);
  if (ec)
    return make_error("request body is not valid JSON: " + ec.message() + " at byte " + std::to_string(used),
                      "send a JSON object, e.g. -d '{}' with -H 'Content-Type: application/json'");
  json::value v = parser.release();
  if (!v.is_object())
    return make_error("request body must be a JSON object, got " + std::string(json::to_string(v.kind())),
                      "send a JSON object, e.g. '{}'");
  return std::move(v.get_object());
}

}  // namespace reflex::api
