#include "replay/checkpoints.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace replay {
namespace {

namespace fs = std::filesystem;

// Notes are named by their zero-padded version, so names sort as versions do.
std::string NoteName(uint64_t version) { return fmt::format("{:020}.note", version); }

// fsync of a file or a directory (the rename in it).
bool SyncPath(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Writes `text` to `path` whole or not at all (a temporary file, synced, renamed).
ledger::Status WriteWhole(const fs::path& path, const std::string& text) {
  // Per process: ledgerd and ledger-replay may sign the same head at once (Ed25519 is
  // deterministic: the same note), each through a temporary file of its own.
  const fs::path tmp = path.string() + ".tmp" + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return ledger::Status::IOError(tmp.string() + ": cannot write");
  }
  if (!SyncPath(tmp)) return ledger::Status::IOError(tmp.string() + ": cannot sync");
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return ledger::Status::IOError(path.string() + ": " + ec.message());
  if (!SyncPath(path.parent_path())) {
    return ledger::Status::IOError(path.parent_path().string() + ": cannot sync");
  }
  return ledger::Status::OK();
}

}  // namespace

Checkpoints::Checkpoints(std::unique_ptr<SigningKey> key, std::string dir)
    : key_(std::move(key)), dir_(std::move(dir)) {}

ledger::Status Checkpoints::Open(const std::string& key_path, bool create,
                                 std::unique_ptr<Checkpoints>* out) {
  std::unique_ptr<SigningKey> key;
  ledger::Status s = SigningKey::Load(key_path, create, &key);
  if (!s.ok()) return s;
  const fs::path dir = fs::path(key_path).parent_path() / "checkpoints";
  out->reset(new Checkpoints(std::move(key), dir.string()));
  return ledger::Status::OK();
}

std::string Checkpoints::TenantDir(const std::string& tenant) const {
  std::string hex;
  for (unsigned char c : tenant) hex += fmt::format("{:02x}", c);
  return (fs::path(dir_) / hex).string();
}

ledger::Status Checkpoints::Take(const ledger::Store& store, const std::string& tenant,
                                 std::string* note, uint64_t* version) {
  ledger::StreamHead head;
  ledger::Status s = store.GetHead(tenant, &head);
  if (s.ok() && head.version == 0) s = ledger::Status::NotFound("tenant '" + tenant + "'");
  if (!s.ok()) return s;
  *version = head.version;
  if (Find(tenant, head.version, note).ok()) return ledger::Status::OK();
  std::error_code ec;
  fs::create_directories(TenantDir(tenant), ec);
  if (ec) return ledger::Status::IOError(TenantDir(tenant) + ": " + ec.message());
  *note = SignCheckpoint(*key_, tenant, head.version, head.hash);
  return WriteWhole(fs::path(TenantDir(tenant)) / NoteName(head.version), *note);
}

uint64_t Checkpoints::LatestVersion(const std::string& tenant, uint64_t at_most) const {
  uint64_t latest = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(TenantDir(tenant), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() != 25 || !name.ends_with(".note")) continue;  // (not a .tmp file)
    const uint64_t version = std::stoull(name.substr(0, 20));
    if (version <= at_most) latest = std::max(latest, version);
  }
  return latest;
}

ledger::Status Checkpoints::Find(const std::string& tenant, uint64_t version,
                                 std::string* note) const {
  if (version == 0) version = LatestVersion(tenant);
  const fs::path path = fs::path(TenantDir(tenant)) / NoteName(version);
  std::ifstream in(path, std::ios::binary);
  if (version == 0 || !in) {
    return ledger::Status::NotFound(
        version == 0 ? fmt::format("no checkpoint of tenant '{}' is kept", tenant)
                     : fmt::format("no checkpoint of tenant '{}' at version {}", tenant, version));
  }
  std::stringstream text;
  text << in.rdbuf();
  *note = text.str();
  return ledger::Status::OK();
}

}  // namespace replay
