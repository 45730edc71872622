#include "commands/lease_table.h"

#include "ledger/coding.h"

namespace commands {
namespace {

std::string LeaseKey(std::string_view tenant, std::string_view lease) {
  std::string k(tenant);
  k.push_back('\0');
  k.append(lease);
  return k;
}

}  // namespace

void AddSideTables(ledger::StoreOptions* options) {
  for (const auto& t : options->side_tables) {
    if (t == kLeaseTable) return;
  }
  options->side_tables.emplace_back(kLeaseTable);
}

LeaseTable::LeaseTable(const ledger::Store& store) : store_(store) {
  if (!store.FindTable(kLeaseTable, &table_).ok()) table_ = ledger::TableId();
}

ledger::RowWrite LeaseTable::Put(std::string_view tenant, std::string_view lease,
                                 ledger::Micros expires_at) const {
  return ledger::RowWrite{table_, LeaseKey(tenant, lease),
                          ledger::coding::Fixed64(static_cast<uint64_t>(expires_at))};
}

ledger::RowWrite LeaseTable::Delete(std::string_view tenant, std::string_view lease) const {
  return ledger::RowWrite{table_, LeaseKey(tenant, lease), std::nullopt};
}

ledger::Status LeaseTable::ForEach(
    std::string_view tenant,
    const std::function<bool(std::string_view, std::string_view, ledger::Micros)>& fn) const {
  if (!table_.valid()) return ledger::Status::OK();
  const std::string prefix = tenant.empty() ? std::string() : LeaseKey(tenant, "");
  std::unique_ptr<ledger::RowIterator> it = store_.rows().NewIterator(table_);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key = it->key();
    const size_t sep = key.find('\0');
    if (sep == std::string_view::npos || it->value().size() != 8) {
      return ledger::Status::Corruption("bad lease table entry");
    }
    const auto expires_at =
        static_cast<ledger::Micros>(ledger::coding::DecodeFixed64(it->value().data()));
    if (!fn(key.substr(0, sep), key.substr(sep + 1), expires_at)) break;
  }
  return it->status();
}

}  // namespace commands
