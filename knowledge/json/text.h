#pragma once
// JSON text in and out, for everything Knowledge stores and the REST API and
// the fleet's messages carry.
//
// Why not boost::json::serialize/parse as they are (Boost 1.81):
//  - its parser may land one ulp off the double the text names (about one in
//    five random doubles), and a restarted planner must see exactly the
//    numbers it saved, so parse_text() reads every number that is not an
//    integer with std::from_chars, which is exact;
//  - its serializer writes 0.9 as "9E-1"; to_text() writes the shortest text
//    that reads back to the same double ("0.9", "1234.5", "1e-07").
// Everything else (escaping, key order, UTF-8 validation) is Boost.JSON's.

#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "common/result.h"

namespace reflex {

// Compact JSON (no spaces), keys in insertion order.
std::string to_text(const boost::json::value& v);
void append_text(std::string& out, const boost::json::value& v);

// One JSON document; `what` names the input in the error ("planner state in /var/lib/reflex/reflex.db").
Result<boost::json::value> parse_text(std::string_view text, std::string_view what = "JSON text");

}  // namespace reflex
