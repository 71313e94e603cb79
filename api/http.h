#pragma once
// The request and response types every handler sees, and the few ways to build
// a response. All bodies are strings: the API's payloads are small JSON or
// text documents, and the body limit keeps requests that way.
//
// Errors have one shape on every endpoint, so clients and operators read them
// the same way: {"error": "what went wrong", "hint": "what to do about it"}.

#include "common/result.h"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace reflex::api {

namespace http = boost::beast::http;
namespace json = boost::json;

using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

inline constexpr std::string_view kJsonType = "application/json";
// Prometheus text exposition format 0.0.4.
inline constexpr std::string_view kPrometheusType = "text/plain; version=0.0.4; charset=utf-8";
inline constexpr std::string_view kTextType = "text/plain; charset=utf-8";

// A JSON body (serialized compactly, with a trailing newline for curl users).
Response json_response(http::status status, const json::value& body);
// json_response's body text, for answers rendered once and sent many times.
std::string json_text(const json::value& body);

// {"error": what, "hint": hint}; `extra` fields (e.g. the rejected diagnostics)
// are merged in after those two.
Response error_response(http::status status, std::string_view what, std::string_view hint = {},
                        json::object extra = {});

Response text_response(http::status status, std::string body, std::string_view content_type = kTextType);

// The path part of the target, without "?query" or "#fragment".
std::string_view target_path(std::string_view target);

// True if the request's Content-Type is application/json (parameters such as
// charset allowed, case-insensitive).
// Client bytes echoed into a JSON answer must be UTF-8, or the answer is not
// JSON: percent_decode() refuses what is not, and error_response() replaces
// each byte of an invalid sequence with U+FFFD.
bool valid_utf8(std::string_view s);
std::string utf8_safe(std::string_view s);

bool has_json_content_type(const Request& req);

// Parses the body as a JSON object. An empty body is an empty object, so
// `curl -X POST` without -d works. Errors name the position and the fix.
Result<json::object> parse_json_object(const Request& req);

}  // namespace reflex::api
