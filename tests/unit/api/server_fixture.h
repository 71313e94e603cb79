#pragma once
// A real api::Server on 127.0.0.1 with an ephemeral port, its io_context run
// by one background thread, as reflexd runs it. Tests talk to it over real
// sockets (TestClient) and reach loop-owned objects only through on_loop().

#include "api/metrics.h"
#include "api/router.h"
#include "api/server.h"
#include "tests/unit/api/test_client.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <thread>

namespace reflex::api::testing {

class ServerFixture : public ::testing::Test {
 protected:
  // Small timeouts so the timeout tests finish quickly.
  static ServerConfig test_config() {
    ServerConfig c;
    c.listen = boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address_v4("127.0.0.1"), 0);
    c.body_limit = 1024;
    c.header_limit = 2048;
    c.request_timeout = std::chrono::milliseconds(400);
    c.idle_timeout = std::chrono::milliseconds(1500);
    c.write_timeout = std::chrono::milliseconds(2000);
    c.linger_timeout = std::chrono::milliseconds(500);
    c.pipeline_limit = 4;
    c.max_connections = 8;
    return c;
  }

  // Call after adding routes (the router must not change while serving).
  void start_server(const ServerConfig& config = test_config()) {
    auto server = Server::listen(io_, config, router_, &metrics_);
    ASSERT_TRUE(server) << server.error().message();
    server_ = std::move(*server);
    server_->start();
    work_.emplace(io_.get_executor());  // keep run() going while idle
    thread_ = std::thread([this] { io_.run(); });
  }

  void TearDown() override { stop_loop(); }

  void stop_loop() {
    if (!thread_.joinable()) return;
    on_loop([this] {
      work_.reset();  // here, not before: an idle loop would return before running this
      if (server_)
        server_->stop(std::chrono::milliseconds(500), [this] { io_.stop(); });
      else
        io_.stop();
    });
    thread_.join();
    server_.reset();
  }

  // Runs fn on the loop thread and waits for it (5 s deadline).
  template <class Fn>
  auto on_loop(Fn fn) -> decltype(fn()) {
    using T = decltype(fn());
    std::promise<T> done;
    auto future = done.get_future();
    boost::asio::post(io_, [&] {
      if constexpr (std::is_void_v<T>) {
        fn();
        done.set_value();
      } else {
        done.set_value(fn());
      }
    });
    if (future.wait_for(std::chrono::seconds(5)) != std::future_status::ready)
      throw std::runtime_error("the loop did not run a posted task within 5 s");
    return future.get();
  }

  boost::asio::ip::tcp::endpoint endpoint() const { return server_->local_endpoint(); }
  TestClient connect() const { return TestClient(endpoint()); }

  // Polls pred (cheaply, every 10 ms) until it holds or the deadline passes.
  static bool wait_for(const std::function<bool()>& pred,
                       std::chrono::milliseconds deadline = std::chrono::seconds(10)) {
    const auto end = std::chrono::steady_clock::now() + deadline;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
  }

  boost::asio::io_context io_;
  Router router_;
  MetricsRegistry metrics_;
  Server::Ptr server_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_;
  std::thread thread_;
};

}  // namespace reflex::api::testing
