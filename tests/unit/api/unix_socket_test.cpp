// api::Server on a Unix socket: the mode it is made with, the folder it
// makes, what it does with a stale or a live socket already at its path,
// the caller's credentials handlers see, and the file going away with it.

#include "tests/unit/api/scratch_dir.h"
#include "tests/unit/api/server_fixture.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <fstream>

namespace reflex::api::testing {
namespace {

using namespace std::chrono_literals;

class UnixSocketTest : public ServerFixture {
 protected:
  void SetUp() override {
    router_.get("/whoami", [](const Request&) { return text_response(http::status::ok, "?"); });
    router_.route(http::verb::get, "/peer", [](const Call& c) {
      json::object o;
      o["transport"] = c.peer.transport == Peer::Transport::unix_socket ? "unix"
                       : c.peer.transport == Peer::Transport::tcp       ? "tcp"
                                                                        : "none";
      o["address"] = c.peer.address;
      if (c.peer.uid) o["uid"] = *c.peer.uid;
      if (c.peer.pid) o["pid"] = *c.peer.pid;
      return json_response(http::status::ok, o);
    });
  }

  ServerConfig unix_config(const std::string& path, bool tcp_too = false) {
    auto c = test_config();
    c.unix_socket = path;
    if (!tcp_too) c.listen.reset();
    return c;
  }

  ScratchDir dir_{"sock"};
};

// A socket file nobody accepts on, as a daemon killed with SIGKILL leaves it.
void make_stale_socket(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ::close(fd);
}

TEST_F(UnixSocketTest, ServesWithMode0660AndTellsHandlersWhoCalls) {
  const std::string path = dir_ / "run/reflex/reflexd.sock";  // the folders do not exist yet
  const mode_t old_umask = ::umask(0);  // the mode must not depend on the umask
  start_server(unix_config(path));
  ::umask(old_umask);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(server_->unix_socket(), path);

  TestClient c(path);
  auto res = c.request(http::verb::get, "/peer");
  ASSERT_EQ(res.result(), http::status::ok);
  auto o = parse_json(res.body()).as_object();
  EXPECT_EQ(o.at("transport").as_string(), "unix");
  EXPECT_EQ(o.at("address").as_string(), path);
  EXPECT_EQ(o.at("uid").to_number<std::int64_t>(), ::getuid());
  EXPECT_EQ(o.at("pid").to_number<std::int64_t>(), ::getpid());
  EXPECT_TRUE(res.keep_alive());
  EXPECT_EQ(c.request(http::verb::get, "/whoami").body(), "?");  // keep-alive works here too
}

TEST_F(UnixSocketTest, ServesTcpAndUnixAtOnceUnderOneConnectionCap) {
  const std::string path = dir_ / "both.sock";
  auto config = unix_config(path, true);
  config.max_connections = 2;
  start_server(config);
  TestClient u(path);
  auto tcp = connect();
  EXPECT_EQ(u.request(http::verb::get, "/whoami").result(), http::status::ok);
  auto res = tcp.request(http::verb::get, "/peer");
  EXPECT_EQ(parse_json(res.body()).at("transport").as_string(), "tcp");
  EXPECT_TRUE(wait_for([&] { return server_->connections() == 2; }));
  TestClient third(path);  // over the cap: accepted and closed at once
  EXPECT_TRUE(third.closed_within(2s));
}

TEST_F(UnixSocketTest, ReplacesAStaleSocketFile) {
  const std::string path = dir_ / "stale.sock";
  make_stale_socket(path);
  start_server(unix_config(path));
  TestClient c(path);
  EXPECT_EQ(c.request(http::verb::get, "/whoami").result(), http::status::ok);
}

TEST_F(UnixSocketTest, RefusesASocketAnotherServerAnswersOn) {
  const std::string path = dir_ / "live.sock";
  start_server(unix_config(path));
  boost::asio::io_context io2;
  auto second = Server::listen(io2, unix_config(path), router_);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().what.find("another process serves"), std::string::npos) << second.error().what;
  // The first is untouched.
  TestClient c(path);
  EXPECT_EQ(c.request(http::verb::get, "/whoami").result(), http::status::ok);
}

TEST_F(UnixSocketTest, RefusesToReplaceAFileThatIsNotASocket) {
  const std::string path = dir_ / "notasocket";
  std::ofstream(path) << "precious\n";
  boost::asio::io_context io2;
  auto server = Server::listen(io2, unix_config(path), router_);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().what.find("is not a socket"), std::string::npos) << server.error().what;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "precious");
}

TEST_F(UnixSocketTest, RefusesAPathTooLongForASocket) {
  boost::asio::io_context io2;
  auto server = Server::listen(io2, unix_config(dir_ / std::string(120, 'x')), router_);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().what.find("longer than"), std::string::npos) << server.error().what;
}

TEST_F(UnixSocketTest, NoListenerAtAllIsAnError) {
  auto config = test_config();
  config.listen.reset();
  boost::asio::io_context io2;
  auto server = Server::listen(io2, config, router_);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().what.find("nowhere to listen"), std::string::npos);
}

TEST_F(UnixSocketTest, TheSocketFileGoesWithTheServerButOnlyIfStillOurs) {
  const std::string path = dir_ / "gone.sock";
  start_server(unix_config(path));
  stop_loop();
  struct stat st {};
  EXPECT_NE(::lstat(path.c_str(), &st), 0) << "the socket file outlived the server";

  // Replaced behind the server's back: the new file is not the server's to remove.
  boost::asio::io_context io2;
  {
    auto server = Server::listen(io2, unix_config(path), router_);
    ASSERT_TRUE(server) << server.error().message();
    ASSERT_EQ(::unlink(path.c_str()), 0);
    std::ofstream(path) << "someone else's\n";
  }
  EXPECT_EQ(::lstat(path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
}

}  // namespace
}  // namespace reflex::api::testing
