#include "ledgerd_peers.h"

#include <unistd.h>

#include <charconv>

namespace ledgerd {

ledger::Status PeerDirectory::Open(const std::string& conninfo,
                                   std::unique_ptr<PeerDirectory>* out) {
  std::unique_ptr<ledger::PgLog> log;
  ledger::Status s = ledger::PgLog::Open(conninfo, ledger::PgLogOptions(), &log);
  if (!s.ok()) return s;
  out->reset(new PeerDirectory(std::move(log)));
  return ledger::Status::OK();
}

PeerDirectory::~PeerDirectory() { StopHeartbeat(); }

void PeerDirectory::StopHeartbeat() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

ledger::Status PeerDirectory::RefreshLiveNodes() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> live;
  ledger::Status s = log_->LiveNodes(kLiveWithin, &live);
  if (s.ok()) live_ = std::move(live);
  return s;
}

std::vector<std::string> PeerDirectory::LiveNodes() {
  std::lock_guard<std::mutex> lock(mu_);
  return live_;
}

void PeerDirectory::StartHeartbeat(const ledger::PgNode& self) {
  heartbeat_ = std::thread([this, self] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_cv_.wait_for(lock, kHeartbeat, [this] { return stopping_; })) {
      lock.unlock();
      if (Advertise(self).ok()) RefreshLiveNodes().PermitUncheckedError();
      lock.lock();
    }
  });
}

ledger::Status PeerDirectory::Advertise(const ledger::PgNode& self) {
  std::lock_guard<std::mutex> lock(mu_);
  return log_->AdvertiseNode(self);
}

ledger::Status PeerDirectory::Find(const std::string& name, server::PeerAddress* out) {
  ledger::PgNode node;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ledger::Status s = log_->FindNode(name, &node);
    if (!s.ok()) return s;
  }
  const size_t colon = node.capnp.rfind(':');
  int port = 0;
  const char* end = node.capnp.data() + node.capnp.size();
  if (colon == std::string::npos ||
      std::from_chars(node.capnp.data() + colon + 1, end, port).ptr != end || port <= 0 ||
      port > 65535) {
    return ledger::Status::Corruption("ledger_nodes: node '" + name + "' has capnp address '" +
                                      node.capnp + "', not HOST:PORT");
  }
  out->node = name;
  out->host = node.capnp.substr(0, colon);
  out->port = static_cast<uint16_t>(port);
  out->tls = node.tls;
  return ledger::Status::OK();
}

std::string AdvertisedHost(const std::string& listen_host) {
  if (listen_host != "0.0.0.0" && listen_host != "::" && listen_host != "[::]") return listen_host;
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "localhost";
  return name;
}

}  // namespace ledgerd
