#include "replay/pg_copy.h"

#include <cstdlib>
#include <filesystem>

#include "commands/lease_table.h"
#include "ledger/pg_upstream.h"
#include "ledger/store.h"
#include "projections/views.h"

namespace replay {

TempCopyDir::~TempCopyDir() {
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string TempCopyDir::Make(const std::string& tool) {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/" + tool + "-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return "";
  dir_ = tmpl;
  return dir_ + "/ledger";
}

ledger::Status CopyPostgresLog(const std::string& conninfo, const std::string& dir) {
  ledger::PgUpstreamOptions upstream_options;
  upstream_options.node = "ledger-replay";  // recorded nowhere: a copy takes no lease
  upstream_options.log.create_if_missing = false;
  ledger::StoreOptions options;
  ledger::Status s = ledger::OpenPgUpstream(conninfo, upstream_options, &options.upstream);
  if (!s.ok()) return s;
  options.upstream_read_only = true;
  options.projectors = {std::make_shared<projections::ViewProjector>()};
  commands::AddSideTables(&options);
  options.progress = [](const std::string&) {};
  std::unique_ptr<ledger::Store> store;
  return ledger::Store::Open(options, dir, &store);
}

}  // namespace replay
