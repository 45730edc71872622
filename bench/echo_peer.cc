// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on
#include "echo_peer.h"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <boost/asio.hpp>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>
#include <vector>

#include "server/framing.h"
#include "server/protocol.capnp.h"

extern char** environ;

namespace ledger::bench {
namespace {

namespace net = boost::asio;
namespace po = boost::program_options;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// The answer ledgerd gives the benchmark's checks (denied, invitation pending), with `id`.
kj::Array<capnp::word> CheckAnswer(uint64_t id) {
  capnp::MallocMessageBuilder mb(128);
  auto resp = mb.initRoot<server::wire::Response>();
  resp.setId(id);
  auto check = resp.initCheck();
  check.setAllowed(false);
  check.setReason("invitation_pending");
  return server::ToFrame(mb);
}

// One client connection: reads whole frames, answers each in order.
class EchoSession : public std::enable_shared_from_this<EchoSession> {
 public:
  explicit EchoSession(tcp::socket socket) : socket_(std::move(socket)) {
    socket_.set_option(tcp::no_delay(true));
  }
  void Read() {
    if (in_.size() - end_ < 4096) {
      std::memmove(in_.data(), in_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
      in_.resize(std::max(in_.size(), end_ + 65536));
    }
    socket_.async_read_some(net::buffer(in_.data() + end_, in_.size() - end_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (ec) return;
                              self->end_ += n;
                              self->Answer();
                            });
  }

 private:
  // Parses every whole frame buffered and writes their answers in one write.
  void Answer() {
    out_.clear();
    for (;;) {
      const size_t have = end_ - begin_;
      const unsigned char* p = in_.data() + begin_;
      size_t table = 0, frame = 0;
      if (have < server::kFramePrefixBytes) break;
      if (!server::SegmentTableBytes(p, limits_, &table).ok()) return;
      if (have < table) break;
      if (!server::FrameBytes(p, table, limits_, &frame).ok()) return;
      if (have < frame) break;
      auto words = kj::heapArray<capnp::word>(frame / sizeof(capnp::word));
      std::memcpy(words.begin(), p, frame);
      begin_ += frame;
      uint64_t id = 0;
      try {
        capnp::FlatArrayMessageReader reader(words, server::FrameReaderOptions(frame, limits_));
        id = reader.getRoot<server::wire::Request>().getId();
      } catch (const kj::Exception&) {
        return;
      }
      const auto answer = CheckAnswer(id);
      const auto bytes = answer.asBytes();
      out_.insert(out_.end(), bytes.begin(), bytes.end());
    }
    if (out_.empty()) return Read();
    net::async_write(socket_, net::buffer(out_),
                     [self = shared_from_this()](error_code ec, size_t) {
                       if (!ec) self->Read();
                     });
  }

  tcp::socket socket_;
  server::FrameLimits limits_;
  std::vector<unsigned char> in_ = std::vector<unsigned char>(65536);
  size_t begin_ = 0, end_ = 0;
  std::vector<unsigned char> out_;
};

void Accept(tcp::acceptor& acceptor) {
  acceptor.async_accept([&acceptor](error_code ec, tcp::socket socket) {
    if (!ec) std::make_shared<EchoSession>(std::move(socket))->Read();
    Accept(acceptor);
  });
}

}  // namespace

int RunEchoPeer(int argc, char** argv) {
  std::string ready;
  int io_threads = 2;
  po::options_description desc("echo-peer options");
  desc.add_options()("ready-file", po::value(&ready), "where to write 127.0.0.1:PORT")(
      "io-threads", po::value(&io_threads), "threads serving connections (ledgerd's default 2)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    fmt::print(stderr, "ledger-bench echo-peer: {}\n", e.what());
    return 2;
  }
  if (ready.empty() || io_threads < 1) {
    fmt::print(stderr, "ledger-bench echo-peer: --ready-file F [--io-threads N >= 1]\n");
    return 2;
  }
  net::io_context ioc(io_threads);
  tcp::acceptor acceptor(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  Accept(acceptor);
  net::signal_set stop(ioc, SIGTERM, SIGINT);
  stop.async_wait([&](error_code, int) { ioc.stop(); });
  {
    std::ofstream out(ready + ".tmp");
    out << "127.0.0.1:" << acceptor.local_endpoint().port() << "\n";
  }
  std::filesystem::rename(ready + ".tmp", ready);
  std::vector<std::thread> threads;
  for (int i = 1; i < io_threads; ++i) threads.emplace_back([&] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return 0;
}

EchoPeerChild::~EchoPeerChild() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

bool EchoPeerChild::Start(int io_threads) {
  const std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  const std::string ready = dir_ + "/echo-peer.ready";
  std::filesystem::remove(ready);
  std::vector<std::string> args = {self,  "echo-peer",    "--ready-file",
                                   ready, "--io-threads", std::to_string(io_threads)};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&pid_, argv[0], nullptr, nullptr, argv.data(), environ) != 0) return false;
  for (int i = 0; i < 500 && !std::filesystem::exists(ready); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::ifstream in(ready);
  std::string address;
  if (!(in >> address)) return false;
  port_ = static_cast<uint16_t>(std::stoi(address.substr(address.rfind(':') + 1)));
  return true;
}

}  // namespace ledger::bench
