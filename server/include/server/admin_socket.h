// The admin socket: a Unix-domain socket `ledgerd.sock` in the data directory, through
// which a local operator's tool reaches the ledgerd that holds that directory (RocksDB's
// LOCK keeps every other process from opening it for writing). `ledgerctl --data DIR
// backup DEST` uses it while ledgerd runs. Access is the file system's: the socket is
// mode 0600, and only peers running as ledgerd's user (or root) are answered.
//
// Protocol: one JSON request line, one JSON answer line, then the connection closes.
//   {"backup": "/absolute/dir"}  →  BackupJson (backups.h), or
//                                    {"status": "rejected", "code": ..., "message": ...}
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "ledger/status.h"
#include "server/backups.h"

namespace server {

// The admin socket's path in data directory `data_dir`.
std::string AdminSocketPath(const std::string& data_dir);

// Serves one ledgerd's admin socket on a thread of its own, one request at a time.
// Thread-safe.
class AdminSocket {
 public:
  // Binds AdminSocketPath(data_dir), replacing a stale socket file (the caller holds the
  // ledger, so no other ledgerd serves it), and starts serving. InvalidArgument when the
  // path is too long for a Unix socket (108 bytes). REQUIRES: `backups` outlives the socket.
  static ledger::Status Listen(const std::string& data_dir, BackupRunner* backups,
                               std::unique_ptr<AdminSocket>* out);

  // Stops serving (a request being answered is finished first) and removes the socket.
  ~AdminSocket();

  AdminSocket(const AdminSocket&) = delete;
  AdminSocket& operator=(const AdminSocket&) = delete;

 private:
  AdminSocket(std::string path, int fd, BackupRunner* backups);
  void Serve();
  // Answers one connection.
  void Answer(int connection);

  const std::string path_;
  const int fd_;
  BackupRunner* const backups_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

// Sends `request_json` (one line) to the admin socket of `data_dir` and reads the answer
// line into `answer_json`. NotFound when no ledgerd serves it (no socket file, or one
// left by a ledgerd that is gone).
ledger::Status AdminRequest(const std::string& data_dir, const std::string& request_json,
                            std::string* answer_json);

}  // namespace server
