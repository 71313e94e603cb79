#pragma once
// The API token: every mutating call (POST, PUT, PATCH, DELETE) must carry
// `Authorization: Bearer <token>`, where the token is the one line of a file
// only the daemon's user can read.
//
// The daemon refuses to start on a token file that others could read or
// change (not a regular file, not owned by the daemon's user, any group or
// other permission bit, a token too short to resist guessing): the error says
// the chmod/chown that fixes it. A configured file that does not exist is
// created with a fresh random token (256 bits from getrandom, hex), mode
// 0600, parent folder 0700 if missing, and the daemon logs where; reflexctl
// and scripts read the same file. Comparison takes the same time wherever the
// tokens differ.

#include "api/http.h"
#include "common/result.h"

#include <optional>
#include <string>
#include <string_view>

namespace reflex::api {

inline constexpr std::size_t kMinTokenLength = 32;

class TokenAuth {
 public:
  // Reads and checks the file (see above); never creates it.
  static Result<TokenAuth> load(const std::string& path);
  // As load(), but a missing file is created with a new token first; *created
  // tells which happened.
  static Result<TokenAuth> load_or_create(const std::string& path, bool* created = nullptr);
  // A token held in memory (tests); `source` names it in hints.
  static TokenAuth from_token(std::string token, std::string source);

  bool accepts(std::string_view token) const;
  // The request (its header is enough) carries the right token; logs nothing.
  bool carries_token(const Request& req) const;
  // nullopt if the request carries the token; else the 401 to send.
  std::optional<Response> refuse(const Request& req) const;
  const std::string& source() const { return source_; }

 private:
  TokenAuth(std::string token, std::string source) : token_(std::move(token)), source_(std::move(source)) {}
  std::string token_;
  std::string source_;
};

// 64 hex characters from getrandom(2).
Result<std::string> generate_token();

// The token in a file as a client reads it (reflexctl): one line, trimmed.
// Errors say how to get read access; no ownership checks (a client may run
// as another user in the daemon's group).
Result<std::string> read_token_file(const std::string& path);

// Equal in time independent of where a and b differ (it depends only on the
// length of `expected`).
bool constant_time_equal(std::string_view given, std::string_view expected);

}  // namespace reflex::api
