#pragma once
// `reflexctl block --file LIST`: one prefix per line, `#` starts a comment,
// blank lines are skipped. Read whole before anything is sent, so a bad line
// (named LIST:LINE) sends nothing.

#include "common/prefix.h"
#include "common/result.h"

#include <istream>
#include <string>
#include <vector>

namespace reflex::ctl {

// `name` is what errors call the input (the file's path).
Result<std::vector<Prefix>> parse_prefix_list(std::istream& in, const std::string& name, std::size_t max_prefixes);
Result<std::vector<Prefix>> read_prefix_file(const std::string& path, std::size_t max_prefixes);

}  // namespace reflex::ctl
