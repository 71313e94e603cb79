#pragma once
// Typed, diagnosing access to yaml-cpp nodes. Every accessor records a
// Diagnostic naming file:line:column, the field path and what was expected,
// and returns nullopt, so a loader reports every mistake in one pass instead of
// stopping at the first (operators fix a file in one edit, not ten).
// Never throws: yaml-cpp's own exceptions stay inside the .cpp.

#include "common/prefix.h"
#include "plan/diagnostic.h"

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::plan {

class YamlReader {
 public:
  YamlReader(std::string file, std::vector<Diagnostic>& out) : file_(std::move(file)), out_(out) {}

  SourceLoc loc(const YAML::Node& n) const;
  const std::string& file() const { return file_; }

  void error(const YAML::Node& at, const std::string& field, std::string message, std::string hint = {});
  void error_at(SourceLoc loc, const std::string& field, std::string message, std::string hint = {});
  void warning(const YAML::Node& at, const std::string& field, std::string message, std::string hint = {});

  // Unknown keys are errors with a "did you mean" suggestion: a typo such as
  // `cooldwon:` must not be silently ignored on a live node.
  bool expect_map(const YAML::Node& n, const std::string& field);
  void check_keys(const YAML::Node& map, const std::string& field, std::initializer_list<std::string_view> allowed);

  std::optional<std::string> string(const YAML::Node& n, const std::string& field);
  std::optional<bool> boolean(const YAML::Node& n, const std::string& field);
  std::optional<std::int64_t> integer(const YAML::Node& n, const std::string& field, std::int64_t min,
                                      std::int64_t max, std::string_view what);
  std::optional<double> number(const YAML::Node& n, const std::string& field, double min, double max,
                               std::string_view what);
  std::optional<TimeNs> duration(const YAML::Node& n, const std::string& field);
  std::optional<std::uint64_t> bit_rate(const YAML::Node& n, const std::string& field);
  std::optional<std::uint64_t> byte_size(const YAML::Node& n, const std::string& field);
  std::optional<Prefix> prefix(const YAML::Node& n, const std::string& field);
  // A scalar or a sequence of scalars, as strings ("iface: eth0" or "iface: [eth0, eth1]").
  std::optional<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& field);
  std::optional<std::vector<Prefix>> prefix_list(const YAML::Node& n, const std::string& field);

  static std::string describe(const YAML::Node& n);  // "a list", "\"lots\"", ...

 private:
  std::string file_;
  std::vector<Diagnostic>& out_;
};

// Policy and test files larger than this are refused (a policy folder is a few
// KiB; the cap bounds parse time and memory on a hostile or corrupted file).
inline constexpr std::size_t kMaxYamlBytes = 1 << 20;

// Parses text as YAML documents (valid UTF-8 only); on a syntax error records it (with yaml-cpp's
// line:column) and returns an empty vector.
std::vector<YAML::Node> parse_yaml_documents(const std::string& text, const std::string& file,
                                             std::vector<Diagnostic>& out);

// Closest candidate by edit distance (<= 2), for "did you mean" hints.
std::string closest_match(std::string_view word, std::initializer_list<std::string_view> candidates);

}  // namespace reflex::plan
