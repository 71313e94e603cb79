#include "common/result.h"

#include <cstring>

namespace reflex {

Error errno_error(const std::string& what, int err, std::string hint) {
  if (err < 0) err = -err;
  return Error{what + ": " + std::strerror(err), std::move(hint), err};
}

}  // namespace reflex
