#include "knowledge/store/db_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>

namespace reflex::store {
namespace {

namespace fs = std::filesystem;

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}

std::string utc_stamp(std::int64_t wall_ns) {
  std::time_t t = static_cast<std::time_t>(wall_ns / 1'000'000'000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

Result<FileCheck> check_file(const std::string& path) {
  FileCheck c;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return c;
    return errno_error("open " + path, errno, "check the path and its permissions");
  }
  c.exists = true;
  std::array<unsigned char, 100> h{};
  ssize_t n = ::pread(fd, h.data(), h.size(), 0);
  int err = errno;
  off_t size = ::lseek(fd, 0, SEEK_END);
  ::close(fd);
  if (n < 0) return errno_error("read " + path, err, "check the disk");
  c.size = size > 0 ? static_cast<std::uint64_t>(size) : 0;
  if (c.size == 0) return c;  // SQLite treats an empty file as a new database
  if (n < static_cast<ssize_t>(h.size())) {
    c.damage = "the file is " + std::to_string(c.size) + " bytes, shorter than a database header";
    return c;
  }
  if (std::memcmp(h.data(), "SQLite format 3", 16) != 0) {
    c.damage = "the file does not start with the SQLite header";
    return c;
  }
  std::uint32_t page_size = (std::uint32_t{h[16]} << 8) | h[17];
  if (page_size == 1) page_size = 65536;
  if (page_size < 512 || (page_size & (page_size - 1)) != 0) {
    c.damage = "the header names an impossible page size (" + std::to_string(page_size) + ")";
    return c;
  }
  c.user_version = static_cast<std::int32_t>(be32(&h[60]));
  // The page count in the header is valid when its "version-valid-for"
  // matches the change counter (SQLite 3.7.0+ always keeps it so).
  const std::uint32_t pages = be32(&h[28]);
  // A WAL left behind may legitimately hold pages past the end of the file:
  // a checkpoint writes page 1 (with the new count) before the pages that
  // extend the file, and one killed in between is finished by the next.
  // Then truncation shows when the missing pages are read (and the next
  // start checks every page).
  std::error_code ec;
  const auto wal = fs::file_size(path + "-wal", ec);
  const bool wal_may_extend = !ec && wal >= 32;
  if (pages != 0 && be32(&h[92]) == be32(&h[24]) && !wal_may_extend) {
    const std::uint64_t want = std::uint64_t{pages} * page_size;
    if (c.size < want)
      c.damage = "the file is " + std::to_string(c.size) + " bytes but its header counts " +
                 std::to_string(pages) + " pages of " + std::to_string(page_size) + " (" +
                 std::to_string(want) + " bytes): it was truncated";
  }
  return c;
}

Result<std::string> move_aside(const std::string& path, std::int64_t wall_ns) {
  const std::string target = path + ".corrupt-" + utc_stamp(wall_ns);
  std::string dest = target;
  for (int i = 1; fs::exists(dest) || fs::exists(dest + "-wal"); ++i) dest = target + "." + std::to_string(i);
  for (const char* suffix : {"-wal", "-shm"}) {
    std::error_code ec;
    if (fs::exists(path + suffix, ec)) {
      fs::rename(path + suffix, dest + suffix, ec);
      if (ec)
        return errno_error("move " + path + suffix + " aside to " + dest + suffix, ec.value(),
                           "move it away by hand, then start reflexd again");
    }
  }
  std::error_code ec;
  fs::rename(path, dest, ec);
  if (ec)
    return errno_error("move " + path + " aside to " + dest, ec.value(),
                       "move it away by hand, then start reflexd again");
  return dest;
}

Status ensure_parent_dir(const std::string& path) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) return ok();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return errno_error("create the folder " + dir.string(), ec.value(),
                       "create it, or give reflexd another database path");
  return ok();
}

}  // namespace reflex::store
