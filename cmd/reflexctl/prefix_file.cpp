#include "cmd/reflexctl/prefix_file.h"

#include <fstream>
#include <string_view>

namespace reflex::ctl {

Result<std::vector<Prefix>> parse_prefix_list(std::istream& in, const std::string& name, std::size_t max_prefixes) {
  std::vector<Prefix> out;
  std::string line;
  for (std::size_t n = 1; std::getline(in, line); ++n) {
    std::string_view v = line;
    if (auto hash = v.find('#'); hash != std::string_view::npos) v = v.substr(0, hash);
    const auto first = v.find_first_not_of(" \t\r");
    if (first == std::string_view::npos) continue;
    v = v.substr(first, v.find_last_not_of(" \t\r") - first + 1);
    const std::string at = name + ":" + std::to_string(n);
    auto p = Prefix::parse(v);
    if (!p)
      return make_error(at + ": \"" + std::string(v.substr(0, 64)) + "\" is not an IP prefix",
                        "one prefix a line (203.0.113.0/24, 198.51.100.7 or 2001:db8::/32), `#` for comments; "
                        "nothing was sent",
                        400);
    if (out.size() == max_prefixes)
      return make_error(at + ": more than " + std::to_string(max_prefixes) + " prefixes, the most one override takes",
                        "split the file (`split -l " + std::to_string(max_prefixes) +
                            " LIST part.`) and send each part with its own --id; nothing was sent",
                        400);
    out.push_back(*p);
  }
  if (in.bad()) return make_error(name + ": read failed", "check the file", 400);
  if (out.empty()) return make_error(name + ": no prefixes in the file", "one prefix a line; nothing was sent", 400);
  return out;
}

Result<std::vector<Prefix>> read_prefix_file(const std::string& path, std::size_t max_prefixes) {
  std::ifstream in(path);
  if (!in) return make_error(path + ": cannot open", "check the path and its permissions", 400);
  return parse_prefix_list(in, path, max_prefixes);
}

}  // namespace reflex::ctl
