#include "server/admin_socket.h"

#include <errno.h>
#include <fmt/format.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <future>
#include <nlohmann/json.hpp>

namespace server {
namespace {

using json = nlohmann::json;

constexpr size_t kMaxRequestBytes = 64 << 10;

// The address of `path`; false when it does not fit.
bool Address(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof addr->sun_path) return false;
  std::memcpy(addr->sun_path, path.data(), path.size());
  return true;
}

std::string Rejection(const std::string& code, const std::string& message) {
  return json{{"status", "rejected"}, {"code", code}, {"message", message}}.dump();
}

// Writes all of `text`; false when the peer went away.
bool WriteAll(int fd, const std::string& text) {
  for (size_t done = 0; done < text.size();) {
    const ssize_t n = ::send(fd, text.data() + done, text.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Reads up to the first '\n' (excluded), at most `limit` bytes; false on error or EOF first.
bool ReadLine(int fd, size_t limit, std::string* line) {
  line->clear();
  char buf[4096];
  while (line->size() <= limit) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    line->append(buf, static_cast<size_t>(n));
    const size_t end = line->find('\n');
    if (end != std::string::npos) {
      line->resize(end);
      return true;
    }
  }
  return false;
}

}  // namespace

std::string AdminSocketPath(const std::string& data_dir) { return data_dir + "/ledgerd.sock"; }

ledger::Status AdminSocket::Listen(const std::string& data_dir, BackupRunner* backups,
                                   std::unique_ptr<AdminSocket>* out) {
  const std::string path = AdminSocketPath(data_dir);
  sockaddr_un addr;
  if (!Address(path, &addr)) {
    return ledger::Status::InvalidArgument(
        fmt::format("admin socket {}: longer than {} bytes", path, sizeof addr.sun_path - 1));
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ledger::Status::IOError(fmt::format("admin socket: {}", strerror(errno)));
  ::unlink(path.c_str());  // a stale socket of a ledgerd that is gone
  // Mode 0600 before anyone may connect: connecting takes write permission on the file.
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0 || ::listen(fd, 8) != 0) {
    const int error = errno;
    ::close(fd);
    ::unlink(path.c_str());
    return ledger::Status::IOError(fmt::format("admin socket {}: {}", path, strerror(error)));
  }
  out->reset(new AdminSocket(path, fd, backups));
  return ledger::Status::OK();
}

AdminSocket::AdminSocket(std::string path, int fd, BackupRunner* backups)
    : path_(std::move(path)), fd_(fd), backups_(backups) {
  thread_ = std::thread([this] { Serve(); });
}

AdminSocket::~AdminSocket() {
  stopping_ = true;
  ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
  thread_.join();
  ::close(fd_);
  ::unlink(path_.c_str());
}

void AdminSocket::Serve() {
  while (!stopping_.load()) {
    const int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (connection < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (!stopping_.load()) fmt::print(stderr, "ledgerd: admin socket: {}\n", strerror(errno));
      return;
    }
    Answer(connection);
    ::close(connection);
  }
}

void AdminSocket::Answer(int connection) {
  ucred peer{};
  socklen_t size = sizeof peer;
  if (::getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 ||
      (peer.uid != ::geteuid() && peer.uid != 0)) {
    WriteAll(connection,
             Rejection("forbidden", "only ledgerd's own user may use this socket") + "\n");
    return;
  }
  // A peer that connects and says nothing does not hold the socket for long.
  timeval timeout{10, 0};
  ::setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  std::string line;
  if (!ReadLine(connection, kMaxRequestBytes, &line)) return;
  const json request = json::parse(line, nullptr, /*allow_exceptions=*/false);
  std::string answer;
  if (!request.is_object() || !request.contains("backup") || !request["backup"].is_string() ||
      request.size() != 1) {
    answer = Rejection("bad_request", R"(request: expected {"backup": "/absolute/dir"})");
  } else if (const std::string dir = request["backup"]; dir.empty() || dir.front() != '/') {
    answer = Rejection("bad_request", "backup: an absolute directory is required");
  } else {
    std::promise<std::string> promise;
    const bool started = backups_->Start(
        dir, [&promise, dir](const ledger::Status& s, const ledger::BackupInfo& info) {
          promise.set_value(s.ok() ? BackupJson(info, dir)
                                   : Rejection("unavailable", "backup failed: " + s.ToString()));
        });
    answer = started ? promise.get_future().get()
                     : Rejection("conflict",
                                 "a backup is running (or ledgerd is stopping); ask again later");
  }
  WriteAll(connection, answer + "\n");
}

ledger::Status AdminRequest(const std::string& data_dir, const std::string& request_json,
                            std::string* answer_json) {
  const std::string path = AdminSocketPath(data_dir);
  sockaddr_un addr;
  if (!Address(path, &addr)) {
    return ledger::Status::NotFound(fmt::format("{}: too long for a Unix socket", path));
  }
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ledger::Status::IOError(fmt::format("admin socket: {}", strerror(errno)));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == ENOENT || error == ECONNREFUSED) {
      return ledger::Status::NotFound(fmt::format("no ledgerd serves {}", path));
    }
    return ledger::Status::IOError(fmt::format("{}: {}", path, strerror(error)));
  }
  std::string answer;
  const bool ok = WriteAll(fd, request_json + "\n") && ReadLine(fd, 1 << 20, &answer);
  ::close(fd);
  if (!ok) return ledger::Status::IOError(path + ": ledgerd closed the connection unanswered");
  *answer_json = std::move(answer);
  return ledger::Status::OK();
}

}  // namespace server
