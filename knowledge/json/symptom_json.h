#pragma once
// JSON of prefixes, subjects and symptoms (rules in codec.h).
//   Prefix       "10.0.0.0/24", "2001:db8::1"
//   Subject      {"iface","prefix","map","reason"}
//   Evidence     {"value","baseline","deviation","detail"}
//   Symptom      {"id","kind":"flood","subject","severity":"critical","score","evidence","since_ns","ts_ns"}
//   SymptomEvent {"transition":"raised|updated|cleared","symptom"}

#include "common/prefix.h"
#include "knowledge/json/codec.h"
#include "knowledge/symptom.h"

namespace reflex {

boost::json::value to_json(const Prefix& p);
Status from_json(const boost::json::value& v, Prefix& out, std::string_view path = "prefix");

boost::json::value to_json(SymptomKind k);
Status from_json(const boost::json::value& v, SymptomKind& out, std::string_view path = "kind");
boost::json::value to_json(Severity s);
Status from_json(const boost::json::value& v, Severity& out, std::string_view path = "severity");
boost::json::value to_json(SymptomTransition t);
Status from_json(const boost::json::value& v, SymptomTransition& out, std::string_view path = "transition");

boost::json::value to_json(const Subject& s);
Status from_json(const boost::json::value& v, Subject& out, std::string_view path = "subject");
boost::json::value to_json(const Evidence& e);
Status from_json(const boost::json::value& v, Evidence& out, std::string_view path = "evidence");
boost::json::value to_json(const Symptom& s);
Status from_json(const boost::json::value& v, Symptom& out, std::string_view path = "symptom");
boost::json::value to_json(const SymptomEvent& e);
Status from_json(const boost::json::value& v, SymptomEvent& out, std::string_view path = "symptom_event");

}  // namespace reflex
