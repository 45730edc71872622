// The projector hook: rows and checkpoint in the events' own batch (exactly once, also
// across a crash), catch-up of a projector added later, rebuild on a version change.
#include <rocksdb/env.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <thread>

#include "ledger/store.h"
#include "support/fault_injection_fs.h"
#include "support/store_helpers.h"
#include "support/temp_dir.h"

using namespace ledger;
using ledger::testing::FaultInjectionFs;
using ledger::testing::InviteRequest;
using ledger::testing::TempDir;

namespace {

// Writes one row per event: BE64-free decimal position → "<version>:<tenant>".
class CountingProjector final : public Projector {
 public:
  explicit CountingProjector(uint32_t version) : version_(version) {}
  std::string name() const override { return "counting"; }
  uint32_t version() const override { return version_; }
  std::vector<std::string> families() const override { return {"counting_rows"}; }
  void Attach(const RowReader* rows, const std::vector<TableId>& tables, bool current,
              StreamReader) override {
    rows_ = rows;
    table_ = tables.empty() ? TableId() : tables[0];
    current_ = current;
  }
  Status Project(schema::Event::Reader e, const ProjectContext& c) override {
    ++projected;
    c.batch->Put(table_, std::to_string(1000000 + e.getPosition()),
                 std::to_string(version_) + ":" + std::string(e.getTenant()));
    return Status::OK();
  }
  void Reset() override {}

  // Every row: position → value.
  std::map<uint64_t, std::string> Rows() const {
    std::map<uint64_t, std::string> rows;
    std::unique_ptr<RowIterator> it = rows_->NewIterator(table_);
    for (it->Seek(""); it->Valid(); it->Next()) {
      rows[std::stoull(std::string(it->key())) - 1000000] = std::string(it->value());
    }
    return rows;
  }

  int projected = 0;
  bool current_ = false;

 private:
  uint32_t version_;
  const RowReader* rows_ = nullptr;
  TableId table_;
};

struct Ledger {
  TempDir dir;
  std::shared_ptr<FaultInjectionFs> fs =
      std::make_shared<FaultInjectionFs>(rocksdb::FileSystem::Default());
  std::unique_ptr<rocksdb::Env> env = rocksdb::NewCompositeEnv(fs);
  std::shared_ptr<CountingProjector> projector;
  std::unique_ptr<Store> store;
  std::vector<std::string> progress;

  void Open(uint32_t version, bool with_projector = true, bool read_only = false) {
    store.reset();
    projector = std::make_shared<CountingProjector>(version);
    StoreOptions options;
    options.env = env.get();
    options.read_only = read_only;
    if (with_projector) options.projectors = {projector};
    options.progress = [this](const std::string& line) { progress.push_back(line); };
    Status s = Store::Open(options, dir.path(), &store);
    REQUIRE(s.ToString() == "OK");
  }

  // Appends `commands` commands of `events_each` events; the number that failed. Safe to
  // call from several threads (no Catch assertions inside: Catch is not thread-safe).
  int TryAppend(const std::string& tenant, int commands, int events_each = 2) {
    int failed = 0;
    for (int i = 0; i < commands; ++i) {
      AppendResult r;
      const Status s =
          store->Append(InviteRequest(tenant, tenant + std::to_string(i), events_each), &r);
      if (!s.ok() || r.kind != AppendResult::Kind::kAccepted) ++failed;
    }
    return failed;
  }

  void Append(const std::string& tenant, int commands, int events_each = 2) {
    REQUIRE(TryAppend(tenant, commands, events_each) == 0);
  }

  uint64_t Checkpoint() {
    ProjectionCheckpoint c;
    REQUIRE(store->GetProjectionCheckpoint("counting", &c).ok());
    return c.position;
  }
};

}  // namespace

TEST_CASE("projector rows and checkpoint commit with the events, once each", "[projector]") {
  Ledger l;
  l.Open(1);
  std::vector<std::thread> clients;
  std::atomic<int> failed{0};
  for (int c = 0; c < 8; ++c) {
    clients.emplace_back([&l, &failed, c] { failed += l.TryAppend("t" + std::to_string(c), 20); });
  }
  for (auto& t : clients) t.join();
  REQUIRE(failed == 0);
  const uint64_t last = l.store->LastPosition();
  REQUIRE(last == 8 * 20 * 2);
  const auto rows = l.projector->Rows();
  REQUIRE(rows.size() == last);
  REQUIRE(rows.begin()->first == 1);
  REQUIRE(rows.rbegin()->first == last);
  REQUIRE(l.projector->projected == static_cast<int>(last));
  REQUIRE(l.Checkpoint() == last);
}

TEST_CASE("after a crash the rows match exactly the events that survived", "[projector]") {
  Ledger l;
  l.Open(1);
  l.Append("acme", 10);
  l.fs->SetActive(false);  // power loss: nothing more reaches the disk
  l.store.reset();
  REQUIRE(l.fs->DropUnsyncedData().ok());
  l.fs->SetActive(true);
  l.Open(1);
  // Nothing to catch up: the rows were in the same synced batches as the events.
  REQUIRE(l.projector->projected == 0);
  REQUIRE(l.projector->Rows().size() == l.store->LastPosition());
  REQUIRE(l.Checkpoint() == l.store->LastPosition());
  REQUIRE(l.store->LastPosition() == 20);
}

TEST_CASE("a projector that missed events catches up at open", "[projector]") {
  Ledger l;
  l.Open(1);
  l.Append("acme", 5);
  l.Open(1, /*with_projector=*/false);  // a process that does not run it appends more
  l.Append("acme2", 5);
  l.Open(1);
  REQUIRE(l.projector->projected == 10);  // only the missed events
  const auto rows = l.projector->Rows();
  REQUIRE(rows.size() == 20);
  REQUIRE(rows.at(20) == "1:acme2");
  REQUIRE(l.Checkpoint() == 20);
}

TEST_CASE("a new projection version drops the rows and rebuilds them from the log", "[projector]") {
  Ledger l;
  l.Open(1);
  l.Append("acme", 6);
  l.Open(2);
  REQUIRE(l.projector->projected == 12);
  const auto rows = l.projector->Rows();
  REQUIRE(rows.size() == 12);
  for (const auto& [position, value] : rows) REQUIRE(value == "2:acme");
  ProjectionCheckpoint c;
  REQUIRE(l.store->GetProjectionCheckpoint("counting", &c).ok());
  REQUIRE(c.version == 2);
  REQUIRE(c.position == 12);
  // And appends go on projecting with the new code.
  l.Append("beta", 1);
  REQUIRE(l.projector->Rows().at(14) == "2:beta");
}

TEST_CASE("a read-only open reports stale rows instead of rebuilding them", "[projector]") {
  Ledger l;
  l.Open(1);
  l.Append("acme", 3);
  l.Open(1, true, /*read_only=*/true);
  REQUIRE(l.projector->current_);
  l.Open(2, true, /*read_only=*/true);
  REQUIRE_FALSE(l.projector->current_);
  REQUIRE(l.projector->projected == 0);
}
