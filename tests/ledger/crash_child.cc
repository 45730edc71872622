// ledger-crash-child DIR CLIENTS: appends from CLIENTS threads until killed, printing one
// line "ack TENANT ID VERSION POSITION" per acknowledged append (flushed at once), so the
// parent test knows exactly what was acknowledged before its SIGKILL.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ledger/store.h"
#include "support/store_helpers.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: ledger-crash-child DIR CLIENTS\n");
    return 2;
  }
  std::unique_ptr<ledger::Store> store;
  ledger::Status s = ledger::Store::Open(ledger::StoreOptions(), argv[1], &store);
  if (!s.ok()) {
    std::fprintf(stderr, "open: %s\n", s.ToString().c_str());
    return 1;
  }
  const int clients = std::atoi(argv[2]);
  const std::string run = std::to_string(::getpid());
  std::mutex out;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      for (long n = 0;; ++n) {
        const std::string tenant = "t" + std::to_string(t % 4);
        const std::string id = run + "-" + std::to_string(t) + "-" + std::to_string(n);
        ledger::AppendResult r;
        if (!store->Append(ledger::testing::InviteRequest(tenant, id, 1 + n % 2), &r).ok()) {
          std::_Exit(1);
        }
        if (r.kind != ledger::AppendResult::Kind::kAccepted) std::_Exit(1);
        const std::string line = "ack " + tenant + " " + id + " " + std::to_string(r.version) +
                                 " " + std::to_string(r.position) + "\n";
        std::lock_guard<std::mutex> lock(out);
        if (::write(1, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
          std::_Exit(1);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  return 0;
}
