#pragma once
// A small blocking HTTP/1.1 GET against the daemon's REST endpoint on
// loopback (Boost.Beast), with a deadline: the runner polls /readyz and
// /v1/history with it.

#include "common/result.h"

#include <chrono>
#include <string>

namespace reflex::sim {

struct HttpReply {
  int status = 0;
  std::string body;
};

// host is an IPv4/IPv6 literal ("127.0.0.1"); target is "/v1/history?...".
// token, if not empty, goes in an Authorization: Bearer header.
Result<HttpReply> http_get(const std::string& host, unsigned short port, const std::string& target,
                           std::chrono::milliseconds timeout, const std::string& token = {});

}  // namespace reflex::sim
