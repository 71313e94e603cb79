#include "api/version.h"

namespace reflex::api {

std::string_view version() { return REFLEX_VERSION; }

}  // namespace reflex::api
