#include "api/auth.h"

#include "common/fd.h"
#include "common/log.h"

#include <fcntl.h>
#include <pwd.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <filesystem>

namespace reflex::api {
namespace {

constexpr std::size_t kMaxTokenFile = 4096;

std::string octal_mode(mode_t m) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(m & 07777));
  return buf;
}

std::string user_name(uid_t uid) {
  if (const passwd* pw = ::getpwuid(uid)) return pw->pw_name;
  return std::to_string(uid);
}

// RFC 6750's b64token characters.
bool token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' ||
         c == '/' || c == '=';
}

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r\n");
  return s.substr(first, last - first + 1);
}

Result<std::string> read_all(int fd, const std::string& path) {
  std::string text;
  std::array<char, 1024> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read the token file " + path, errno);
    if (n == 0) break;
    text.append(buf.data(), static_cast<std::size_t>(n));
    if (text.size() > kMaxTokenFile)
      return make_error("token file " + path + " is larger than " + std::to_string(kMaxTokenFile) + " bytes",
                        "it must hold one line: the token");
  }
  return text;
}

Result<std::string> parse_token(std::string_view text, const std::string& path) {
  const std::string_view token = trim(text);
  const std::string regenerate = "put one line of at least " + std::to_string(kMinTokenLength) +
                                 " characters in it, e.g. `openssl rand -hex 32 > " + path +
                                 "`, or delete it and the daemon creates one";
  if (token.empty()) return make_error("token file " + path + " is empty", regenerate);
  if (!std::all_of(token.begin(), token.end(), token_char))
    return make_error("token file " + path + " must hold one token: letters, digits and -._~+/= only",
                      regenerate);
  if (token.size() < kMinTokenLength)
    return make_error("the token in " + path + " is " + std::to_string(token.size()) +
                          " characters; a token must have at least " + std::to_string(kMinTokenLength),
                      regenerate);
  return std::string(token);
}

std::optional<std::string_view> bearer_token(const Request& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return std::nullopt;
  std::string_view v = trim(it->value());
  constexpr std::string_view kScheme = "bearer";
  if (v.size() <= kScheme.size() || v[kScheme.size()] != ' ') return std::string_view{};
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(v[i])) != kScheme[i]) return std::string_view{};
  return trim(v.substr(kScheme.size() + 1));
}

Response unauthorized(std::string_view what, std::string_view hint, bool invalid) {
  auto res = error_response(http::status::unauthorized, what, hint);
  res.set(http::field::www_authenticate,
          invalid ? "Bearer realm=\"reflex\", error=\"invalid_token\"" : "Bearer realm=\"reflex\"");
  return res;
}

}  // namespace

bool constant_time_equal(std::string_view given, std::string_view expected) {
  unsigned diff = given.size() != expected.size() ? 1u : 0u;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff |= g ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

Result<std::string> generate_token() {
  std::array<unsigned char, 32> raw{};
  std::size_t got = 0;
  while (got < raw.size()) {
    const ssize_t n = ::getrandom(raw.data() + got, raw.size() - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("getrandom for a new API token", errno);
    got += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

Result<TokenAuth> TokenAuth::load(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ENOENT)
      return errno_error("open the token file " + path, err,
                         "create it (`install -m 600 /dev/null " + path + "` and put a token in it), or let the "
                         "daemon create one by leaving the path as configured");
    return errno_error("open the token file " + path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) < 0) return errno_error("stat the token file " + path, errno);
  if (!S_ISREG(st.st_mode))
    return make_error("token file " + path + " is not a regular file", "point api.token_file at a file");
  const uid_t me = ::geteuid();
  if (st.st_uid != me)
    return make_error("token file " + path + " is owned by " + user_name(st.st_uid) + ", not by " + user_name(me) +
                          ", the daemon's user",
                      "chown " + user_name(me) + " " + path);
  if (st.st_mode & 077)
    return make_error("token file " + path + " has mode " + octal_mode(st.st_mode) +
                          ": other users could read or change the token",
                      "chmod 600 " + path);
  auto text = read_all(fd.get(), path);
  if (!text) return text.error();
  auto token = parse_token(*text, path);
  if (!token) return token.error();
  return TokenAuth(std::move(*token), path);
}

Result<TokenAuth> TokenAuth::load_or_create(const std::string& path, bool* created) {
  if (created) *created = false;
  std::error_code ec;
  if (std::filesystem::symlink_status(path, ec).type() != std::filesystem::file_type::not_found)
    return load(path);

  const auto dir = std::filesystem::path(path).parent_path();
  if (!dir.empty() && !std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return errno_error("create the folder of the token file " + path, ec.value());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  auto token = generate_token();
  if (!token) return token.error();
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST) return load(path);  // created meanwhile: read that one
    return errno_error("create the token file " + path, errno,
                       "make its folder writable for the daemon, or create the file yourself (mode 600)");
  }
  // O_CREAT's mode is cut by the umask; fchmod makes it exactly 0600.
  if (::fchmod(fd.get(), 0600) < 0) return errno_error("chmod the new token file " + path, errno);
  const std::string line = *token + "\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size()) || ::fsync(fd.get()) < 0)
    return errno_error("write the new token file " + path, errno);
  fd = Fd();
  stage_logger("api")->info("created a new API token in {} (mode 0600); reflexctl reads it with --token-file", path);
  if (created) *created = true;
  return load(path);
}

TokenAuth TokenAuth::from_token(std::string token, std::string source) {
  return TokenAuth(std::move(token), std::move(source));
}

bool TokenAuth::accepts(std::string_view token) const { return constant_time_equal(token, token_); }

bool TokenAuth::carries_token(const Request& req) const {
  auto token = bearer_token(req);
  return token && !token->empty() && accepts(*token);
}

std::optional<Response> TokenAuth::refuse(const Request& req) const {
  const std::string where = "send `Authorization: Bearer <token>` with the token in " + source_ +
                            " (reflexctl reads it with --token-file)";
  auto token = bearer_token(req);
  if (!token)
    return unauthorized(std::string(req.method_string()) + " changes the daemon's state and needs the API token",
                        where, false);
  if (token->empty())
    return unauthorized("the Authorization header must be `Bearer <token>`", where, false);
  if (!accepts(*token)) {
    stage_logger("api")->warn("refused {} {}: wrong API token", req.method_string(), target_path(req.target()));
    return unauthorized("the API token is wrong", "use the token in " + source_ + " (a new file means a new token)",
                        true);
  }
  return std::nullopt;
}

Result<std::string> read_token_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
  if (!fd.valid()) {
    const int err = errno;
    if (err == EACCES)
      return errno_error("read the token file " + path, err,
                         "run as root (sudo), or as the daemon's user; the file is mode 600 on purpose");
    if (err == ENOENT)
      return errno_error("read the token file " + path, err,
                         "the daemon creates it at its first start; pass --token-file if it lives elsewhere");
    return errno_error("read the token file " + path, err);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) == 0 && !S_ISREG(st.st_mode))
    return make_error("token file " + path + " is not a regular file", "pass --token-file with the daemon's file");
  auto text = read_all(fd.get(), path);
  if (!text) return text.error();
  return parse_token(*text, path);
}

}  // namespace reflex::api
