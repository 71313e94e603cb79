// `reflexd watch-policy DIR`: load a policy folder and keep it current, exactly
// as the daemon will (inotify + SIGHUP), printing each accepted or rejected
// set. The daemon's run loop reuses PolicyStore the same way.

#include "cmd/reflexd/subcommand.h"
#include "plan/policy_store.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <csignal>
#include <iostream>

namespace reflex::cmd {
namespace {

void print_status(const plan::PolicyStore& store) {
  const auto& s = store.status();
  if (s.last_load_rejected && s.last_rejection) {
    std::cout << "rejected (" << s.last_rejection->trigger << "): " << s.last_rejection->errors
              << " error(s); generation " << s.generation << " stays in force\n";
    for (const auto& d : s.last_rejection->diagnostics) std::cout << "  " << d << "\n";
  } else if (auto cur = store.current()) {
    std::cout << "generation " << s.generation << " (" << s.last_trigger << "): " << cur->rules.size()
              << " rule(s), " << s.warnings.size() << " warning(s)\n";
  }
  std::cout.flush();
}

int watch_policy(const std::string& dir) {
  boost::asio::io_context io;
  plan::PolicyStore store(dir);
  store.reload("start");
  print_status(store);
  if (auto st = store.watch(io); !st) {
    std::cerr << "reflexd: " << st.error().message() << "\n";
    return 1;
  }
  boost::asio::signal_set hup(io, SIGHUP);
  std::function<void()> arm_hup = [&] {
    hup.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      store.reload("sighup");
      print_status(store);
      arm_hup();
    });
  };
  arm_hup();
  boost::asio::signal_set stop(io, SIGINT, SIGTERM);
  stop.async_wait([&](const boost::system::error_code&, int) {
    store.stop();
    hup.cancel();
    io.stop();
  });
  store.on_change([&](const plan::PolicySetPtr&) { print_status(store); });
  io.run();
  return 0;
}

const RegisterSubcommand kRegister{"watch-policy", [](CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("watch-policy", "load a policy folder and follow changes (inotify, SIGHUP)");
  auto dir = std::make_shared<std::string>();
  sub->add_option("dir", *dir, "policy folder")->required();
  sub->callback([&exit_code, dir] { exit_code = watch_policy(*dir); });
}};

}  // namespace
}  // namespace reflex::cmd
