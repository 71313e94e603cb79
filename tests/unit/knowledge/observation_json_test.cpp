// The JSON `reflexd observe` prints: the field names are a contract.
#include "knowledge/json/observation_json.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

using namespace reflex;
namespace json = boost::json;

TEST(ObservationJson, CarriesTheContractFieldNames) {
  Observation o;
  o.ts_ns = 123;
  InterfaceObservation& i = o.interfaces["veth0"];
  i.mode = AttachMode::generic;
  i.wanted_mode = AttachMode::native;
  i.rx_packets = 1000;
  i.rx_pps = 250.5;
  i.rx_bytes = 64000;
  i.drops["NO_SOCKET"] = 17;
  i.xdp.pass = 900;
  i.xdp.drop = 90;
  i.xdp.rate_limited = 8;
  i.xdp.shadow = 2;
  RttSummary r;
  r.p50_us = 120;
  r.p90_us = 480.25;
  r.p99_us = 2000;
  r.samples = 333;
  i.rtt = r;
  i.retrans = RetransSummary{1234, 20.5, 4000};
  o.maps["veth0/talkers"] = MapObservation{12, 16384, 1.5};
  o.degraded.push_back({"tcp_rtt", "not loaded"});

  // Round trip through text, as a consumer reads it.
  json::object j = json::parse(json::serialize(to_json(o))).as_object();
  EXPECT_EQ(j.at("ts_ns").to_number<std::int64_t>(), 123);
  const auto& ifc = j.at("interfaces").at("veth0").as_object();
  EXPECT_EQ(ifc.at("mode").as_string(), "generic");
  EXPECT_EQ(ifc.at("wanted_mode").as_string(), "native");
  EXPECT_EQ(ifc.at("rx_packets").to_number<std::uint64_t>(), 1000u);
  EXPECT_DOUBLE_EQ(ifc.at("rx_pps").to_number<double>(), 250.5);
  EXPECT_EQ(ifc.at("rx_bytes").to_number<std::uint64_t>(), 64000u);
  EXPECT_EQ(ifc.at("drops").at("NO_SOCKET").to_number<std::uint64_t>(), 17u);
  const auto& xdp = ifc.at("xdp").as_object();
  EXPECT_EQ(xdp.at("pass").to_number<std::uint64_t>(), 900u);
  EXPECT_EQ(xdp.at("drop").to_number<std::uint64_t>(), 90u);
  EXPECT_EQ(xdp.at("rate_limited").to_number<std::uint64_t>(), 8u);
  EXPECT_EQ(xdp.at("shadow").to_number<std::uint64_t>(), 2u);
  const auto& rtt = ifc.at("rtt_us").as_object();
  EXPECT_DOUBLE_EQ(rtt.at("p50").to_number<double>(), 120);
  EXPECT_DOUBLE_EQ(rtt.at("p90").to_number<double>(), 480.25);
  EXPECT_DOUBLE_EQ(rtt.at("p99").to_number<double>(), 2000);
  EXPECT_EQ(rtt.at("samples").to_number<std::uint64_t>(), 333u);
  const auto& rt = ifc.at("retrans").as_object();
  EXPECT_EQ(rt.at("retransmits").to_number<std::uint64_t>(), 1234u);
  EXPECT_DOUBLE_EQ(rt.at("per_s").to_number<double>(), 20.5);
  EXPECT_DOUBLE_EQ(rt.at("segments_per_s").to_number<double>(), 4000);
  const auto& m = j.at("maps").at("veth0/talkers").as_object();
  EXPECT_EQ(m.at("entries").to_number<std::uint64_t>(), 12u);
  EXPECT_EQ(m.at("max_entries").to_number<std::uint64_t>(), 16384u);
  const auto& d = j.at("degraded").as_array().at(0).as_object();
  EXPECT_EQ(d.at("probe").as_string(), "tcp_rtt");
  EXPECT_EQ(d.at("reason").as_string(), "not loaded");
}

TEST(ObservationJson, WholeRatesPrintAsIntegers) {
  Observation o;
  o.interfaces["lo"].rx_pps = 1000.0;
  auto s = json::serialize(to_json(o));
  EXPECT_NE(s.find("\"rx_pps\":1000,"), std::string::npos) << s;
}

TEST(ObservationJson, RttAndRetransAreNullWhenTheirProbesAreNotRunning) {
  Observation o;
  o.interfaces["lo"];
  auto j = to_json(o);
  EXPECT_TRUE(j.at("interfaces").at("lo").at("rtt_us").is_null());
  EXPECT_TRUE(j.at("interfaces").at("lo").at("retrans").is_null());
}
