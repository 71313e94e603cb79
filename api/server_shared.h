#pragma once
// What the server and its sessions share (internal to api/): the config, the
// router, the HTTP metrics and the set of live sessions, which is the gate a
// graceful stop waits on. Sessions may outlive the Server object for a moment
// (their last handlers run after it is gone), so this lives in a shared_ptr.

#include "api/metrics.h"
#include "api/router.h"
#include "api/server.h"

#include <boost/asio/any_io_executor.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace reflex::api {

class SessionBase;

struct HttpMetrics {
  Family<Counter>* requests = nullptr;  // {code}
  Family<Counter>* dropped = nullptr;   // {reason}: timeout, over_limit
  Gauge* open = nullptr;

  void count(unsigned code) const {
    if (requests) requests->with({std::to_string(code)}).inc();
  }
  void drop(const std::string& reason) const {
    if (dropped) dropped->with({reason}).inc();
  }
};

struct ServerShared {
  ServerConfig config;
  const Router* router = nullptr;
  HttpMetrics metrics;
  boost::asio::any_io_executor executor;  // the io_context's: `drained` runs there

  std::mutex mu;
  std::unordered_map<const SessionBase*, std::weak_ptr<SessionBase>> sessions;
  bool stopping = false;
  std::function<void()> drained;

  void join(const std::shared_ptr<SessionBase>& s);
  void leave(const SessionBase* s);
  std::vector<std::shared_ptr<SessionBase>> live();
  bool is_stopping();
  std::size_t size();
};

}  // namespace reflex::api
