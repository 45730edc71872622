// PgLog's node directory (ledger_nodes): where each ledgerd node of the log listens.
#include "pg_log_impl.h"

namespace ledger {

Status PgLog::AdvertiseNode(const PgNode& node) {
  if (node.name.empty()) return Status::InvalidArgument("node: required");
  pg::Params p;
  p.Bytes(node.name);
  p.Bytes(node.capnp);
  p.Bytes(node.http);
  p.Bool(node.tls);
  pg::Result r;
  return impl_->Run(Stmt::kAdvertiseNode, p, &r, "postgres: advertise node");
}

Status PgLog::FindNode(std::string_view name, PgNode* node) {
  pg::Params p;
  p.Bytes(name);
  pg::Result r;
  Status s = impl_->Run(Stmt::kFindNode, p, &r, "postgres: find node");
  if (!s.ok()) return s;
  if (PQntuples(r.get()) == 0) {
    return Status::NotFound("node '" + std::string(name) + "' has not said where it listens");
  }
  node->name = std::string(name);
  node->capnp = std::string(pg::Field(r.get(), 0, 0));
  node->http = std::string(pg::Field(r.get(), 0, 1));
  node->tls = pg::Field(r.get(), 0, 2) == std::string_view("\1", 1);
  return Status::OK();
}

Status PgLog::LiveNodes(std::chrono::milliseconds within, std::vector<std::string>* names) {
  pg::Params p;
  p.Int8(within.count());
  pg::Result r;
  Status s = impl_->Run(Stmt::kLiveNodes, p, &r, "postgres: live nodes");
  if (!s.ok()) return s;
  names->clear();
  for (int i = 0; i < PQntuples(r.get()); ++i) names->emplace_back(pg::Field(r.get(), i, 0));
  return Status::OK();
}

}  // namespace ledger
