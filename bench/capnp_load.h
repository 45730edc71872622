// A Cap'n Proto load generator for `ledger-bench network`: many connections driven by one
// thread (Boost.Asio), each sending pre-built request frames and reading the answers, up
// to `pipeline` requests outstanding per connection. Client work is kept small so the
// figures are the server's.
#pragma once

#include <capnp/message.h>
#include <kj/array.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "server/protocol.capnp.h"

namespace ledger::bench {

// What a load run measured.
struct LoadResult {
  bool ok = true;                     // every answer passed `valid`
  double seconds = 0;                 // from the first request to the last answer
  std::vector<int64_t> latencies_us;  // per request: sent → answered
};

// Sends frames[c] over connection c (request ids must be 1..n in order) to
// 127.0.0.1:port; `valid(response)` judges each answer.
// The frame of an access check (request `id`, token `token`) of `user` in `tenant`.
kj::Array<capnp::word> CheckFrame(uint64_t id, const char* token, const std::string& tenant,
                                  const std::string& user, const std::string& product);

LoadResult RunCapnpLoad(uint16_t port,
                        const std::vector<std::vector<kj::Array<capnp::word>>>& frames,
                        int pipeline,
                        const std::function<bool(server::wire::Response::Reader)>& valid);

// RunCapnpLoad with connection c sent to 127.0.0.1:ports[c] (several servers at once).
LoadResult RunCapnpLoadOn(const std::vector<uint16_t>& ports,
                          const std::vector<std::vector<kj::Array<capnp::word>>>& frames,
                          int pipeline,
                          const std::function<bool(server::wire::Response::Reader)>& valid);

}  // namespace ledger::bench
