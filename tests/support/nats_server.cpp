#include "tests/support/nats_server.h"

#include <boost/json.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace fs = std::filesystem;

namespace reflex::testing {
namespace {

constexpr const char* kServer = "/usr/sbin/nats-server";

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::string nats_server_unavailable_reason() {
  if (access(kServer, X_OK) != 0) return std::string(kServer) + " is missing: run scripts/install-deps.sh";
  return {};
}

NatsServer::NatsServer(std::string config) : config_(std::move(config)) {
  char tmpl[] = "/tmp/rfx-nats-XXXXXX";
  if (!mkdtemp(tmpl)) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  launch(0);
}

NatsServer::~NatsServer() {
  stop();
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string NatsServer::log() const { return read_file(dir_ + "/server.log"); }

bool NatsServer::launch(int port) {
  error_.clear();
  const std::string conf = dir_ + "/server.conf";
  {
    std::ofstream out(conf);
    out << "listen: 127.0.0.1:" << (port ? port : -1) << "\n" << config_ << "\n";
  }
  const std::string ports_dir = dir_ + "/ports";
  std::error_code ec;
  fs::remove_all(ports_dir, ec);
  fs::create_directories(ports_dir, ec);
  pid_t pid = fork();
  if (pid < 0) {
    error_ = "fork failed";
    return false;
  }
  if (pid == 0) {
    // The server dies with the test process, whatever happens to it.
    setpgid(0, 0);
    const std::string logf = dir_ + "/server.log";
    execl(kServer, kServer, "-c", conf.c_str(), "--ports_file_dir", ports_dir.c_str(), "-l", logf.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  pid_ = pid;
  // The server writes its ports file once it listens: wait for that (or its exit).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      error_ = "nats-server exited at start:\n" + log();
      return false;
    }
    for (const auto& e : fs::directory_iterator(ports_dir, ec)) {
      auto text = read_file(e.path().string());
      boost::json::error_code jec;
      auto v = boost::json::parse(text, jec);
      if (jec || !v.is_object()) continue;  // being written
      auto* client = v.as_object().if_contains("nats");
      if (!client || !client->is_array() || client->as_array().empty()) continue;
      std::string url(client->as_array()[0].as_string());
      port_ = std::atoi(url.substr(url.rfind(':') + 1).c_str());
      return port_ > 0;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  error_ = "nats-server did not listen within 10 s:\n" + log();
  stop();
  return false;
}

void NatsServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (waitpid(pid_, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  pid_ = -1;
}

bool NatsServer::restart() {
  stop();
  return launch(port_);
}

}  // namespace reflex::testing
