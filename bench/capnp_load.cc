// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "capnp_load.h"

#include <capnp/serialize.h>
#include <kj/exception.h>

#include <boost/asio.hpp>
#include <cstring>
#include <memory>

#include "bench_util.h"
#include "load_run.h"
#include "server/framing.h"

namespace ledger::bench {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Frame = kj::Array<capnp::word>;

// One connection: a write chain and a read chain over the same socket.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(net::io_context& ioc, const std::vector<Frame>& frames, int pipeline,
             const std::function<bool(server::wire::Response::Reader)>& valid, LoadResult* out,
             std::vector<SteadyClock::time_point>* sent_at)
      : socket_(ioc),
        frames_(frames),
        pipeline_(static_cast<size_t>(pipeline)),
        valid_(valid),
        out_(out),
        sent_at_(sent_at) {}

  tcp::socket& socket() { return socket_; }

  void Start() {
    Read();
    MaybeSend();
  }

 private:
  void MaybeSend() {
    if (writing_ || next_send_ >= frames_.size() || next_send_ - answered_ >= pipeline_) return;
    writing_ = true;
    const Frame& f = frames_[next_send_];
    (*sent_at_)[next_send_] = SteadyClock::now();
    ++next_send_;
    net::async_write(socket_, net::buffer(f.begin(), f.size() * sizeof(capnp::word)),
                     [self = shared_from_this()](error_code ec, size_t) {
                       self->writing_ = false;
                       if (ec) return self->Fail();
                       self->MaybeSend();
                     });
  }

  // Reads what the socket has and handles every whole response in it.
  void Read() {
    if (answered_ >= frames_.size()) return;
    if (in_.size() - in_end_ < (64 << 10)) {
      std::copy(in_.begin() + static_cast<std::ptrdiff_t>(in_begin_),
                in_.begin() + static_cast<std::ptrdiff_t>(in_end_), in_.begin());
      in_end_ -= in_begin_;
      in_begin_ = 0;
      in_.resize(std::max(in_.size(), in_end_ + (64 << 10)));
    }
    socket_.async_read_some(net::buffer(in_.data() + in_end_, in_.size() - in_end_),
                            [self = shared_from_this()](error_code ec, size_t n) {
                              if (ec) return self->Fail();
                              self->in_end_ += n;
                              while (self->NextResponse()) {
                              }
                              self->Read();
                            });
  }

  // Handles one buffered response; false when none is whole yet.
  bool NextResponse() {
    const size_t have = in_end_ - in_begin_;
    const unsigned char* p = in_.data() + in_begin_;
    size_t table_bytes = 0, frame_bytes = 0;
    if (have < server::kFramePrefixBytes) return false;
    if (!server::SegmentTableBytes(p, limits_, &table_bytes).ok()) return Fail(), false;
    if (have < table_bytes) return false;
    if (!server::FrameBytes(p, table_bytes, limits_, &frame_bytes).ok()) return Fail(), false;
    if (have < frame_bytes) return false;
    frame_ = kj::heapArray<capnp::word>(frame_bytes / sizeof(capnp::word));
    std::memcpy(frame_.begin(), p, frame_bytes);
    in_begin_ += frame_bytes;
    OnResponse();
    return true;
  }

  void OnResponse() {
    try {
      capnp::FlatArrayMessageReader reader(frame_);
      const auto resp = reader.getRoot<server::wire::Response>();
      const uint64_t id = resp.getId();
      if (id == 0 || id > frames_.size() || !valid_(resp)) {
        out_->ok = false;
      } else {
        out_->latencies_us.push_back(MicrosSince((*sent_at_)[id - 1]));
      }
    } catch (const kj::Exception&) {
      out_->ok = false;
    }
    ++answered_;
    MaybeSend();
  }

  void Fail() {
    out_->ok = false;
    error_code ec;
    socket_.close(ec);
  }

  tcp::socket socket_;
  const std::vector<Frame>& frames_;
  size_t pipeline_;
  const std::function<bool(server::wire::Response::Reader)>& valid_;
  LoadResult* out_;
  std::vector<SteadyClock::time_point>* sent_at_;
  server::FrameLimits limits_{
      .max_frame_bytes = 64 << 20, .max_segments = 1024, .nesting_limit = 64};
  std::vector<unsigned char> in_;  // responses read: in_[in_begin_, in_end_)
  size_t in_begin_ = 0, in_end_ = 0;
  Frame frame_;
  size_t next_send_ = 0, answered_ = 0;
  bool writing_ = false;
};

}  // namespace

LoadResult RunCapnpLoad(uint16_t port, const std::vector<std::vector<Frame>>& frames, int pipeline,
                        const std::function<bool(server::wire::Response::Reader)>& valid) {
  return RunCapnpLoadOn({port}, frames, pipeline, valid);
}

LoadResult RunCapnpLoadOn(const std::vector<uint16_t>& ports,
                          const std::vector<std::vector<Frame>>& frames, int pipeline,
                          const std::function<bool(server::wire::Response::Reader)>& valid) {
  LoadResult result;
  net::io_context ioc(1);
  std::vector<std::vector<SteadyClock::time_point>> sent_at(frames.size());
  std::vector<std::shared_ptr<Connection>> connections;
  for (size_t c = 0; c < frames.size(); ++c) {
    sent_at[c].resize(frames[c].size());
    connections.push_back(
        std::make_shared<Connection>(ioc, frames[c], pipeline, valid, &result, &sent_at[c]));
  }
  ConnectAndRun(ioc, ports, std::move(connections), &result);
  return result;
}

kj::Array<capnp::word> CheckFrame(uint64_t id, const char* token, const std::string& tenant,
                                  const std::string& user, const std::string& product) {
  capnp::MallocMessageBuilder mb(128);
  auto req = mb.initRoot<server::wire::Request>();
  req.setId(id);
  req.setToken(token);
  auto chk = req.initCheck();
  chk.setTenant(tenant);
  chk.setUser(user);
  chk.setProduct(product);
  return server::ToFrame(mb);
}

}  // namespace ledger::bench
