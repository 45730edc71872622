#include "conformance/conformance.h"

#include <map>

#include "ledger/log_partitions.h"

namespace conformance {

std::unique_ptr<Backend> OpenFresh(const BackendFactory& factory) {
  std::unique_ptr<Backend> b = factory.make();
  REQUIRE(b->Open().ToString() == "OK");
  return b;
}

commands::CommandResult Run(Backend& b, const json& command) {
  return b.service().ExecuteJson(command.dump());
}

commands::CommandResult Accept(Backend& b, const json& command) {
  commands::CommandResult r = Run(b, command);
  INFO(command.dump() << " -> " << r.ToJson());
  REQUIRE(r.status == "accepted");
  return r;
}

void DefineProduct(Backend& b) {
  Accept(b, {{"type", "define_product"},
             {"actor", "system"},
             {"id", "product-x1"},
             {"product", kProduct},
             {"editions", {"standard", "pro"}},
             {"at", kStart}});
}

void CreateTenant(Backend& b, const std::string& tenant, int seats) {
  Accept(b, {{"type", "create_tenant"},
             {"tenant", tenant},
             {"actor", "system"},
             {"id", tenant + "-created-x1"},
             {"owner", "olga"},
             {"owner_email", "olga@" + tenant + ".test"}});
  Accept(b, {{"type", "purchase_subscription"},
             {"tenant", tenant},
             {"actor", "olga"},
             {"id", tenant + "-s-x1"},
             {"subscription", "S"},
             {"product", kProduct},
             {"edition", "pro"},
             {"seats", seats},
             {"period_start", "2026-01-01T00:00:00Z"},
             {"period_end", "2027-01-01T00:00:00Z"}});
  Accept(b, {{"type", "create_group"},
             {"tenant", tenant},
             {"actor", "olga"},
             {"id", tenant + "-g-x1"},
             {"group", "G"},
             {"name", "Group G"}});
}

json Invite(const std::string& tenant, const std::string& user, const std::string& id) {
  return {{"type", "invite_member"},
          {"tenant", tenant},
          {"actor", "olga"},
          {"id", id},
          {"user", user},
          {"email", user + "@" + tenant + ".test"}};
}

namespace {

std::vector<LogEntry> Collect(ledger::EventCursor& c, std::string* error) {
  std::vector<LogEntry> out;
  for (; c.Valid(); c.Next()) {
    const auto e = c.event().event();
    out.push_back(LogEntry{e.getPosition(), e.getVersion(), e.getTenant(), e.getCommandId(),
                           std::string(c.event().type_name()), e.getActor()});
  }
  if (error != nullptr) {
    *error = c.status().ok() ? "" : c.status().ToString();
  } else {
    REQUIRE(c.status().ToString() == "OK");
  }
  return out;
}

}  // namespace

std::vector<LogEntry> ReadLog(const ledger::Store& store, std::string* error) {
  auto c = store.ReadLog(1);
  return Collect(*c, error);
}

std::vector<LogEntry> ReadStream(const ledger::Store& store, const std::string& tenant,
                                 uint64_t from, uint64_t to, std::string* error) {
  auto c = store.ReadStream(tenant, from, to);
  return Collect(*c, error);
}

int EventsInId(const std::string& command_id) {
  const size_t x = command_id.rfind("-x");
  if (x == std::string::npos || x + 2 >= command_id.size()) return -1;
  int n = 0;
  for (size_t i = x + 2; i < command_id.size(); ++i) {
    if (command_id[i] < '0' || command_id[i] > '9') return -1;
    n = n * 10 + (command_id[i] - '0');
  }
  return n;
}

std::string HalfCommand(const std::vector<LogEntry>& entries) {
  std::map<std::string, int> runs;  // tenant/command → runs seen
  for (size_t i = 0; i < entries.size();) {
    const LogEntry& first = entries[i];
    size_t j = i + 1;
    while (j < entries.size() && entries[j].tenant == first.tenant &&
           entries[j].command_id == first.command_id) {
      if (entries[j].position != entries[j - 1].position + 1 ||
          entries[j].version != entries[j - 1].version + 1) {
        return first.tenant + "/" + first.command_id + ": events not consecutive at position " +
               std::to_string(entries[j].position);
      }
      ++j;
    }
    const int expected = EventsInId(first.command_id);
    if (expected >= 0 && static_cast<int>(j - i) != expected) {
      return first.tenant + "/" + first.command_id + ": " + std::to_string(j - i) + " of " +
             std::to_string(expected) + " events, from position " + std::to_string(first.position);
    }
    if (expected >= 0 && ++runs[first.tenant + "/" + first.command_id] > 1) {
      return first.tenant + "/" + first.command_id + ": appears twice";
    }
    i = j;
  }
  return "";
}

int MultiEventClient::ImportedUsers(int n) {
  if (Removes(n)) return 0;
  return 1 + (n * 7 + 3) % 5;  // 1..5
}

int MultiEventClient::Events(int n) { return Removes(n) ? 3 : 3 * ImportedUsers(n); }

std::string MultiEventClient::Id(int n) const {
  return tenant_ + "-c" + std::to_string(n) + "-x" + std::to_string(Events(n));
}

json MultiEventClient::Command(int n) const {
  if (Removes(n)) {
    return {{"type", "remove_member"},
            {"tenant", tenant_},
            {"actor", "olga"},
            {"id", Id(n)},
            {"user", User(n - 1, 0)}};
  }
  json rows = json::array();
  for (int i = 0; i < ImportedUsers(n); ++i) {
    const std::string user = User(n, i);
    rows.push_back({{"email", user + "@" + tenant_ + ".test"},
                    {"user", user},
                    {"name", "User " + user},
                    {"role", "member"}});
  }
  return {{"type", "import_members"},
          {"tenant", tenant_},
          {"actor", "olga"},
          {"id", Id(n)},
          {"rows", rows},
          {"subscription", "S"},
          {"group", "G"},
          {"commit", true}};
}

uint64_t EventCount(const ledger::Store& store) {
  uint64_t events = 0;
  const std::vector<uint64_t> frontier = store.LogFrontier();
  for (uint32_t p = 0; p < frontier.size(); ++p) events += frontier[p] - ledger::PartitionBase(p);
  return events;
}

bool FollowsWithoutGap(uint64_t previous, uint64_t position) {
  if (previous != 0 &&
      ledger::PartitionOfPosition(position) == ledger::PartitionOfPosition(previous)) {
    return position == previous + 1;
  }
  const bool later_partition = previous == 0 || ledger::PartitionOfPosition(position) >
                                                    ledger::PartitionOfPosition(previous);
  return later_partition && ledger::PositionInPartition(position) == 1;
}

}  // namespace conformance
