#pragma once
// Errors at stage and kernel boundaries are values, not exceptions.
//
// Error carries what failed, where (the object: an interface, a file:line, a
// map), and the operator's next step. Result<T> is boost::system::result with
// that error type, so callers get has_value()/value()/error() and `if (r)`.

#include <boost/system/result.hpp>

#include <cerrno>
#include <stdexcept>
#include <string>
#include <utility>

namespace reflex {

struct Error {
  std::string what;  // "attach xdp to veth0 in native mode: Operation not supported"
  std::string hint;  // "use --mode generic, or a driver with native XDP"
  int code = 0;      // errno where one applies, else 0

  // Not an aggregate on purpose: with C++20 parenthesised aggregate init, a
  // one-string Error would be "constructible" from std::string, and
  // Result<std::string> could no longer be built from a plain string.
  Error() = default;
  Error(std::string w, std::string h, int c) : what(std::move(w)), hint(std::move(h)), code(c) {}

  std::string message() const { return hint.empty() ? what : what + " (" + hint + ")"; }
};

inline Error make_error(std::string what, std::string hint = {}, int code = 0) {
  return Error{std::move(what), std::move(hint), code};
}

// errno-style error from a libbpf/syscall return value (negative errno or -1+errno).
Error errno_error(const std::string& what, int err, std::string hint = {});

struct ErrorException : std::runtime_error {
  explicit ErrorException(const Error& e) : std::runtime_error(e.message()), error(e) {}
  Error error;
};

// Found by ADL when result<T, Error>::value() is called on an error.
[[noreturn]] inline void throw_exception_from_error(const Error& e, const boost::source_location&) {
  throw ErrorException(e);
}

template <class T>
using Result = boost::system::result<T, Error>;
using Status = boost::system::result<void, Error>;

inline Status ok() { return {}; }

}  // namespace reflex
