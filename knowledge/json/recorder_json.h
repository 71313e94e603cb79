#pragma once
// JSON of what the recorder takes and history returns (knowledge/recorder.h),
// for the REST API and reflexctl.
//   LoopEvent      {"kind","ts_ns","subject","summary","body"}
//   OverrideRecord {"override","change":"created|removed|expired","ts_ns","who"}
//   Record         {"id","ts_ns","wall_ns","kind","subject","summary","body"}
//   RecordPage     {"records":[record...],"next"}
//   StoreHealth    {"ok","reason","pending","written","bytes","dropped"}

#include "knowledge/json/action_json.h"
#include "knowledge/json/codec.h"
#include "knowledge/recorder.h"

namespace reflex {

std::string_view to_string(OverrideChange c);

boost::json::value to_json(RecordKind k);
Status from_json(const boost::json::value& v, RecordKind& out, std::string_view path = "kind");
boost::json::value to_json(OverrideChange c);
Status from_json(const boost::json::value& v, OverrideChange& out, std::string_view path = "change");

boost::json::value to_json(const LoopEvent& e);
Status from_json(const boost::json::value& v, LoopEvent& out, std::string_view path = "event");
boost::json::value to_json(const OverrideRecord& r);
Status from_json(const boost::json::value& v, OverrideRecord& out, std::string_view path = "override_record");
boost::json::value to_json(const Record& r);
Status from_json(const boost::json::value& v, Record& out, std::string_view path = "record");
boost::json::value to_json(const RecordPage& p);
Status from_json(const boost::json::value& v, RecordPage& out, std::string_view path = "page");
boost::json::value to_json(const StoreHealth& h);
Status from_json(const boost::json::value& v, StoreHealth& out, std::string_view path = "health");

}  // namespace reflex
