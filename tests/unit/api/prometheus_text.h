#pragma once
// A strict reader of the Prometheus text exposition format 0.0.4, to check
// what /metrics serves the way a scraper reads it: every sample line is
// `name{label="value",...} value [timestamp]`, `# HELP` and `# TYPE` come at
// most once per family and before its samples, a family's samples are not
// interleaved with another's, no series appears twice, label values use only
// the \\ \" \n escapes, and the text ends with a newline.

#include "common/result.h"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::api::testing {

struct PromSample {
  std::string name;
  std::map<std::string, std::string> labels;  // unescaped values
  double value = 0;
};

struct PromFamily {
  std::string name, help, type;  // type "untyped" when no TYPE line
  std::vector<PromSample> samples;
};

struct PromText {
  std::vector<PromFamily> families;  // in order of appearance
  const PromFamily* find(std::string_view name) const;
  // The value of one series; nullptr if absent.
  const PromSample* sample(std::string_view name,
                           const std::map<std::string, std::string>& labels = {}) const;
};

// Errors name the line number and what is wrong with it.
Result<PromText> parse_prometheus_text(std::string_view text);

}  // namespace reflex::api::testing
