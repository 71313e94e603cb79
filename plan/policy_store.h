#pragma once
// PolicyStore: the policy set in force, and how it changes on a live node.
//
// - reload() reads the whole folder; a set with any error is rejected as a
//   whole and the last good set stays in force. Each rejection is recorded
//   (time, error count, the diagnostics) in status() for the CLI, logs and the
//   REST API to show. SIGHUP and `POST /v1/policies/reload` (reflexd run) call reload().
// - watch() follows the folder with inotify through an asio
//   posix::stream_descriptor on the caller's io_context, and reloads after a
//   short quiet period, so an editor's write-temp-then-rename lands as one load.
// Single-threaded: call everything from the io_context's thread.

#include "plan/diagnostic.h"
#include "plan/policy.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace reflex::plan {

using PolicySetPtr = std::shared_ptr<const PolicySet>;

struct PolicyRejection {
  TimeNs at_ns = 0;  // wall clock (ns since the epoch), for operators
  std::string trigger;
  int errors = 0;
  std::vector<std::string> diagnostics;  // rendered, errors first
  std::vector<Diagnostic> findings;      // the same, structured (file, line, column, field), errors first
};

struct PolicyStoreStatus {
  std::uint64_t generation = 0;  // bumps on every accepted set (0: none yet)
  std::uint64_t loads_ok = 0;
  std::uint64_t loads_rejected = 0;
  TimeNs last_ok_ns = 0;
  std::string last_trigger;           // "start", "sighup", "inotify", "api", ...: of the newest attempt
  std::string current_trigger;        // what loaded the set in force (last_trigger may be a later rejection)
  std::vector<std::string> warnings;  // of the set in force
  std::optional<PolicyRejection> last_rejection;
  bool last_load_rejected = false;    // the newest attempt failed (the set in force is older)
};

class PolicyStore {
 public:
  using WallClock = std::function<TimeNs()>;
  using Listener = std::function<void(const PolicySetPtr&)>;

  explicit PolicyStore(std::filesystem::path dir, WallClock clock = {});
  ~PolicyStore();
  PolicyStore(const PolicyStore&) = delete;
  PolicyStore& operator=(const PolicyStore&) = delete;

  // Loads the folder now. Returns true if the new set was accepted.
  bool reload(const std::string& trigger = "manual");

  // Starts following the folder; `quiet` is how long events must stop before
  // a reload (editors emit bursts). Fails if inotify cannot watch the folder.
  Status watch(boost::asio::io_context& io, std::chrono::milliseconds quiet = std::chrono::milliseconds(200));
  void stop();

  PolicySetPtr current() const { return current_; }  // nullptr until the first good load
  const PolicyStoreStatus& status() const { return status_; }
  const std::filesystem::path& dir() const { return dir_; }
  void on_change(Listener l) { listeners_.push_back(std::move(l)); }
  // Called for every rejected load (whatever triggered it), after status() has it.
  void on_reject(std::function<void(const PolicyRejection&)> l) { reject_listeners_.push_back(std::move(l)); }

 private:
  void arm_read();
  void handle_events();
  void schedule_reload();

  std::filesystem::path dir_;
  WallClock clock_;
  std::vector<std::function<void(const PolicyRejection&)>> reject_listeners_;
  PolicySetPtr current_;
  PolicyStoreStatus status_;
  std::vector<Listener> listeners_;
  std::unique_ptr<boost::asio::posix::stream_descriptor> inotify_;
  std::unique_ptr<boost::asio::steady_timer> debounce_;
  std::chrono::milliseconds quiet_{200};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace reflex::plan
