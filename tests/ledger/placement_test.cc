// PartitionsPlacedOn: how ledgerd nodes started with --spread-partitions share the log's
// partitions (DESIGN section 7). Every node must compute the same owner for each
// partition from the same list of live nodes, and a node joining or leaving must move
// only the partitions it gains or loses.
#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

#include "ledger/log_partitions.h"

namespace {

// The owner of each partition, as each of `nodes` computes its own share.
std::vector<std::string> Owners(const std::vector<std::string>& nodes, uint32_t partitions) {
  std::vector<std::string> owner(partitions);
  for (const std::string& node : nodes) {
    const std::vector<bool> mine = ledger::PartitionsPlacedOn(node, nodes, partitions);
    REQUIRE(mine.size() == partitions);
    for (uint32_t p = 0; p < partitions; ++p) {
      if (!mine[p]) continue;
      INFO("partition " << p << " claimed by " << owner[p] << " and " << node);
      REQUIRE(owner[p].empty());
      owner[p] = node;
    }
  }
  return owner;
}

}  // namespace

TEST_CASE("placement: every partition has exactly one live owner, shared out", "[ledger]") {
  const std::vector<std::string> nodes = {"n1", "n2", "n3"};
  const std::vector<std::string> owner = Owners(nodes, 16);
  std::map<std::string, int> count;
  for (const std::string& o : owner) {
    REQUIRE_FALSE(o.empty());
    count[o] += 1;
  }
  // 16 partitions over 3 nodes: nobody is left out, nobody takes nearly all.
  for (const std::string& node : nodes) {
    INFO(node);
    CHECK(count[node] >= 2);
    CHECK(count[node] <= 10);
  }
}

TEST_CASE("placement: a node that leaves moves only its own partitions", "[ledger]") {
  const std::vector<std::string> before = Owners({"n1", "n2", "n3"}, 16);
  const std::vector<std::string> after = Owners({"n1", "n2"}, 16);
  for (uint32_t p = 0; p < 16; ++p) {
    INFO("partition " << p);
    if (before[p] != "n3") CHECK(after[p] == before[p]);
    CHECK(after[p] != "n3");
  }
}

TEST_CASE("placement: a node counts itself live, and alone it takes every partition", "[ledger]") {
  const std::vector<bool> alone = ledger::PartitionsPlacedOn("n7", {}, 16);
  CHECK(std::count(alone.begin(), alone.end(), true) == 16);
  // Not yet in the directory's list: still the same answer as when it is.
  CHECK(ledger::PartitionsPlacedOn("n3", {"n1", "n2"}, 16) ==
        ledger::PartitionsPlacedOn("n3", {"n1", "n2", "n3"}, 16));
}
