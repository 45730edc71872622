// An HTTP/1.1 load generator for `ledger-bench network`: many keep-alive connections
// driven by one thread (Boost.Asio), each sending pre-formatted requests one at a time
// and reading the answers with Beast's parser — the same client shape as the Cap'n Proto one
// (capnp_load.h), so the two protocols are compared on the server's cost, not the load generator's.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "capnp_load.h"

namespace ledger::bench {

// A whole HTTP/1.1 request (`method` `target`, bearer `token`, JSON `body` if any).
std::string HttpRequest(std::string_view method, std::string_view target, std::string_view token,
                        std::string_view body = {});

// Sends requests[c] over connection c to 127.0.0.1:port, one outstanding at a time;
// `valid(status, body)` judges each answer.
LoadResult RunHttpLoad(uint16_t port, const std::vector<std::vector<std::string>>& requests,
                       const std::function<bool(int status, std::string_view body)>& valid);

}  // namespace ledger::bench
