#pragma once
// The project's version (CMake's PROJECT_VERSION), for /v1/status and
// reflex_build_info; one place, so the API and --version cannot disagree.

#include <string_view>

namespace reflex::api {

std::string_view version();

}  // namespace reflex::api
