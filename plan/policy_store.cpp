#include "plan/policy_store.h"

#include "plan/policy_loader.h"

#include <spdlog/spdlog.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/post.hpp>

#include <array>
#include <cerrno>
#include <cstring>

namespace reflex::plan {
namespace {

TimeNs system_wall_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Editors and config managers touch many names; only policy files (and the
// "..data" symlink swap Kubernetes uses for mounted ConfigMaps) matter.
bool relevant(std::string_view name) {
  if (name.empty()) return true;  // the folder itself
  if (name.rfind("..data", 0) == 0) return true;
  return is_policy_file_name(std::string(name));
}

}  // namespace

PolicyStore::PolicyStore(std::filesystem::path dir, WallClock clock)
    : dir_(std::move(dir)), clock_(clock ? std::move(clock) : WallClock(system_wall_ns)) {}

PolicyStore::~PolicyStore() {
  *alive_ = false;
  stop();
}

bool PolicyStore::reload(const std::string& trigger) {
  auto report = load_policy_path(dir_);
  const TimeNs now = clock_();
  status_.last_trigger = trigger;
  if (!report.ok()) {
    PolicyRejection rej;
    rej.at_ns = now;
    rej.trigger = trigger;
    rej.errors = report.errors();
    for (int pass = 0; pass < 2; ++pass)
      for (const auto& d : report.diagnostics)
        if ((d.level == Diagnostic::Level::error) == (pass == 0)) {
          rej.diagnostics.push_back(d.to_string());
          rej.findings.push_back(d);
        }
    ++status_.loads_rejected;
    status_.last_load_rejected = true;
    spdlog::error("policy {} rejected ({}): {} error(s), first: {}; keeping generation {}", dir_.string(), trigger,
                  rej.errors, report.first_error(), status_.generation);
    status_.last_rejection = std::move(rej);
    for (const auto& l : reject_listeners_) l(*status_.last_rejection);
    return false;
  }
  status_.warnings.clear();
  for (const auto& d : report.diagnostics) status_.warnings.push_back(d.to_string());
  current_ = std::make_shared<const PolicySet>(std::move(*report.policy));
  ++status_.generation;
  ++status_.loads_ok;
  status_.last_ok_ns = now;
  status_.current_trigger = trigger;
  status_.last_load_rejected = false;
  spdlog::info("policy {} loaded ({}): {} rule(s) from {} file(s), {} warning(s), generation {}", dir_.string(),
               trigger, current_->rules.size(), current_->files.size(), status_.warnings.size(), status_.generation);
  for (const auto& w : status_.warnings) spdlog::warn("{}", w);
  for (const auto& l : listeners_) l(current_);
  return true;
}

Status PolicyStore::watch(boost::asio::io_context& io, std::chrono::milliseconds quiet) {
  stop();
  quiet_ = quiet;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return errno_error("inotify_init1", errno, "raise fs.inotify.max_user_instances, or reload with SIGHUP");
  constexpr std::uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                                  IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (inotify_add_watch(fd, dir_.c_str(), kMask) < 0) {
    int err = errno;
    ::close(fd);
    return errno_error("watch policy folder " + dir_.string(), err, "does the folder exist and is it readable?");
  }
  inotify_ = std::make_unique<boost::asio::posix::stream_descriptor>(io, fd);
  debounce_ = std::make_unique<boost::asio::steady_timer>(io);
  arm_read();
  return ok();
}

void PolicyStore::stop() {
  if (debounce_) debounce_->cancel();
  if (inotify_) {
    boost::system::error_code ec;
    inotify_->cancel(ec);
    inotify_->close(ec);
  }
  inotify_.reset();
  debounce_.reset();
}

void PolicyStore::arm_read() {
  if (!inotify_) return;
  inotify_->async_wait(boost::asio::posix::stream_descriptor::wait_read,
                       [this, alive = alive_](const boost::system::error_code& ec) {
                         if (ec || !*alive || !inotify_) return;
                         handle_events();
                         arm_read();
                       });
}

void PolicyStore::handle_events() {
  alignas(inotify_event) std::array<char, 16 * 1024> buf;
  bool any = false;
  for (;;) {
    ssize_t n = ::read(inotify_->native_handle(), buf.data(), buf.size());
    if (n <= 0) break;  // EAGAIN: drained
    for (ssize_t off = 0; off < n;) {
      auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
      std::string_view name = ev->len ? std::string_view(ev->name) : std::string_view();
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED))
        spdlog::warn("policy folder {} was removed or moved: keeping the set in force; restart or SIGHUP after restoring it",
                     dir_.string());
      else if (relevant(name)) any = true;
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  if (any) schedule_reload();
}

void PolicyStore::schedule_reload() {
  if (!debounce_) return;
  debounce_->expires_after(quiet_);
  debounce_->async_wait([this, alive = alive_](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    reload("inotify");
  });
}

}  // namespace reflex::plan
