// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "server/capnp_server.h"

#include <capnp/serialize.h>
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <type_traits>
#include <vector>

#include "lease_routes.h"
#include "ledger/time.h"
#include "listener.h"
#include "server/protocol.capnp.h"
#include "server/request.h"
#include "tls_context.h"

namespace server {
namespace {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using Frame = kj::Array<capnp::word>;

Frame ErrorFrame(uint64_t id, const std::string& code, const std::string& message) {
  capnp::MallocMessageBuilder mb(64);
  auto resp = mb.initRoot<wire::Response>();
  resp.setId(id);
  auto e = resp.initError();
  e.setCode(code);
  e.setMessage(message);
  return ToFrame(mb);
}

}  // namespace

struct CapnpServer::Impl : detail::Listener {
  Frontend* frontend;
  ServerMetrics& metrics;
  CapnpOptions options;
  std::optional<ssl::context> tls;

  Impl(Frontend* f, CapnpOptions o)
      : detail::Listener(o.connections.threads),
        frontend(f),
        metrics(f->metrics()),
        options(std::move(o)) {}

  void Accept();
};

namespace {

// One connection: reads frames, runs their requests, writes responses in completion order.
// Every handler runs on the connection's strand.
template <typename Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, CapnpServer::Impl* server)
      : stream_(std::move(stream)), server_(server), timer_(stream_.get_executor()) {
    server_->metrics.capnp_connections.fetch_add(1);
  }
  ~Session() { server_->metrics.capnp_connections.fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->ArmIdleTimer();
      if constexpr (std::is_same_v<Stream, detail::StrandSocket>) {
        self->ReadMore();
      } else {
        self->handshake_deadline_ =
            Clock::now() + std::chrono::seconds(self->server_->options.handshake_timeout_seconds);
        self->stream_.async_handshake(ssl::stream_base::server, [self](error_code ec) {
          self->handshake_deadline_.reset();
          if (ec) return self->Close();
          self->ReadMore();
        });
      }
    });
  }

 private:
  using Clock = std::chrono::steady_clock;

  detail::StrandSocket& socket() {
    if constexpr (std::is_same_v<Stream, detail::StrandSocket>) {
      return stream_;
    } else {
      return stream_.next_layer();
    }
  }

  // Idle connections (nothing read, nothing running) close after the idle timeout; a TLS
  // handshake must finish within its own timeout.
  void ArmIdleTimer() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([self = this->shared_from_this()](error_code ec) {
      if (ec || self->closed_) return;
      const auto now = Clock::now();
      const bool idle =
          self->in_flight_ == 0 && !self->following_ && self->outbox_.empty() &&
          now - self->last_read_ >
              std::chrono::seconds(self->server_->options.connections.idle_timeout_seconds);
      if (idle || (self->handshake_deadline_ && now > *self->handshake_deadline_)) {
        return self->Close();
      }
      self->ArmIdleTimer();
    });
  }

  // Reads what the socket has (up to 64 KiB at a time) and runs every whole frame in it;
  // a frame's header is checked against the limits before its body is buffered.
  void ReadMore() {
    if (closed_ || closing_ || reading_) return;
    if (outbox_bytes_ > server_->options.max_write_buffer) {
      read_paused_ = true;  // the client is not reading its responses: stop reading requests
      return;
    }
    const size_t want = std::max<size_t>(64 << 10, need_);
    if (in_.size() - in_end_ < want) {
      // Move the unread bytes to the front, then make room.
      std::copy(in_.begin() + static_cast<std::ptrdiff_t>(in_begin_),
                in_.begin() + static_cast<std::ptrdiff_t>(in_end_), in_.begin());
      in_end_ -= in_begin_;
      in_begin_ = 0;
      if (in_.size() - in_end_ < want) in_.resize(in_end_ + want);
    }
    reading_ = true;
    stream_.async_read_some(net::buffer(in_.data() + in_end_, in_.size() - in_end_),
                            [self = this->shared_from_this()](error_code ec, size_t n) {
                              self->reading_ = false;
                              if (ec) return self->Close();
                              self->in_end_ += n;
                              self->last_read_ = Clock::now();
                              self->RunFrames();
                              self->ReadMore();
                            });
  }

  // Runs every whole frame buffered; leaves need_ at the bytes the next frame needs.
  void RunFrames() {
    while (!closing_ && !closed_) {
      const size_t have = in_end_ - in_begin_;
      const unsigned char* p = in_.data() + in_begin_;
      need_ = kFramePrefixBytes;
      if (have < need_) return;
      size_t table_bytes = 0, frame_bytes = 0;
      ledger::Status s = SegmentTableBytes(p, server_->options.frame, &table_bytes);
      if (!s.ok()) return BadFrame(s.message());
      need_ = table_bytes;
      if (have < need_) return;
      s = FrameBytes(p, table_bytes, server_->options.frame, &frame_bytes);
      if (!s.ok()) return BadFrame(s.message());
      need_ = frame_bytes;
      if (have < need_) return;
      // Cap'n Proto reads words: copy the frame to an aligned buffer.
      Frame frame = kj::heapArray<capnp::word>(frame_bytes / sizeof(capnp::word));
      std::memcpy(frame.begin(), p, frame_bytes);
      in_begin_ += frame_bytes;
      server_->metrics.capnp_requests.fetch_add(1, std::memory_order_relaxed);
      HandleFrame(frame);
    }
  }

  void HandleFrame(const Frame& frame) {
    DecodedRequest req;
    const ledger::Status s = DecodeRequest(frame, server_->options.frame,
                                           server_->options.connections.max_batch_commands, &req);
    if (!s.ok()) return BadFrame(s.message(), req.id);
    Handle(req);
  }

  void Handle(const DecodedRequest& req) {
    const uint64_t id = req.id;
    const std::optional<std::string_view> token =
        req.token ? std::optional<std::string_view>(*req.token) : std::nullopt;
    Frontend& frontend = *server_->frontend;
    switch (req.kind) {
      case DecodedRequest::Kind::kSubmit:
        return Submit(req, token);
      case DecodedRequest::Kind::kCheck: {
        commands::AccessDecision d;
        const Refusal r = frontend.Check(token, req.tenant, req.user, req.product, req.at, &d);
        if (!r.ok()) return Write(ErrorFrame(id, r.code, r.message));
        capnp::MallocMessageBuilder mb(64);
        auto resp = mb.initRoot<wire::Response>();
        resp.setId(id);
        auto out = resp.initCheck();
        out.setAllowed(d.allowed);
        out.setReason(d.reason);
        out.setSubscription(d.subscription);
        return Write(ToFrame(mb));
      }
      case DecodedRequest::Kind::kState: {
        std::string json;
        const Refusal r = frontend.State(token, req.tenant, &json);
        if (!r.ok()) return Write(ErrorFrame(id, r.code, r.message));
        capnp::MallocMessageBuilder mb;
        auto resp = mb.initRoot<wire::Response>();
        resp.setId(id);
        resp.setState(json);
        return Write(ToFrame(mb));
      }
      case DecodedRequest::Kind::kReadEvents:
        return ReadEvents(req, token);
      case DecodedRequest::Kind::kLease:
        return Lease(req, token);
      case DecodedRequest::Kind::kBackup:
        return Backup(id, token);
      case DecodedRequest::Kind::kHealth: {
        capnp::MallocMessageBuilder mb(32);
        auto resp = mb.initRoot<wire::Response>();
        resp.setId(id);
        resp.initHealth().setPosition(frontend.store().LastPosition());
        return Write(ToFrame(mb));
      }
      case DecodedRequest::Kind::kUnknown:
        break;
    }
    Write(ErrorFrame(id, "bad_request", "request: unknown kind (a newer client?)"));
  }

  // Runs a batch of commands; one response with every result, once all are durable.
  void Submit(const DecodedRequest& req, std::optional<std::string_view> token) {
    const uint64_t id = req.id;
    if (req.command_count > server_->options.connections.max_batch_commands) {
      return Write(ErrorFrame(id, "bad_request",
                              fmt::format("submit: {} commands (at most {})", req.command_count,
                                          server_->options.connections.max_batch_commands)));
    }
    if (server_->stopping.load()) {
      return Write(ErrorFrame(id, "unavailable", "server: shutting down"));
    }
    if (!Admit(id)) return;
    std::vector<std::string> commands = req.commands;  // kept until every one is answered
    struct Batch {
      std::vector<std::string> results;
      std::atomic<size_t> remaining;
    };
    auto batch = std::make_shared<Batch>();
    batch->results.resize(commands.size());
    batch->remaining = commands.size();
    auto self = this->shared_from_this();
    auto finish = [self, batch, id] {
      net::post(self->stream_.get_executor(), [self, batch, id] {
        capnp::MallocMessageBuilder mb;
        auto resp = mb.initRoot<wire::Response>();
        resp.setId(id);
        auto results = resp.initResults(batch->results.size());
        for (size_t i = 0; i < batch->results.size(); ++i) results.set(i, batch->results[i]);
        self->Write(ToFrame(mb));
        --self->in_flight_;
      });
    };
    if (commands.empty()) return finish();
    server_->frontend->SubmitCommands(
        token, std::move(commands),
        [batch, finish](size_t i, CommandOutcome outcome) {
          batch->results[i] = std::move(outcome.json);
          if (batch->remaining.fetch_sub(1) == 1) finish();
        },
        req.forwarded);
  }

  // A floating-seat command from typed fields: the same command object a `submit` of it
  // would run (lease_routes.h builds it, as for the REST routes), answered field by field.
  void Lease(const DecodedRequest& req, std::optional<std::string_view> token) {
    const uint64_t id = req.id;
    if (req.lease_type.empty()) {
      return Write(ErrorFrame(id, "bad_request", "lease: unknown operation (a newer client?)"));
    }
    if (server_->stopping.load()) {
      return Write(ErrorFrame(id, "unavailable", "server: shutting down"));
    }
    nlohmann::json body = nlohmann::json::object();
    auto put = [&body](const char* field, const std::string& value) {
      if (!value.empty()) body[field] = value;  // absent: the command's own check names it
    };
    put("actor", req.actor);
    put("id", req.command_id);
    if (req.lease_type == "checkout") {
      put("subscription", req.subscription);
      put("user", req.user);
      put("device", req.device);
    }
    std::string command, error;
    if (!LeaseCommandJson(req.lease_type, req.tenant, req.lease, body.dump(), std::nullopt,
                          &command, &error)) {
      return Write(ErrorFrame(id, "bad_request", error));
    }
    if (!Admit(id)) return;
    auto self = this->shared_from_this();
    server_->frontend->SubmitCommandResult(
        token, command,
        [self, id](commands::CommandResult r, int /*http_status*/) {
          net::post(self->stream_.get_executor(), [self, id, r = std::move(r)] {
            capnp::MallocMessageBuilder mb;
            auto resp = mb.initRoot<wire::Response>();
            resp.setId(id);
            auto out = resp.initLease();
            out.setStatus(r.status);
            out.setId(r.id);
            out.setCode(r.code);
            out.setMessage(r.message);
            if (r.lease && r.status != "rejected") {
              out.setLease(r.lease->lease);
              out.setSubscription(r.lease->subscription);
              if (r.lease->expires_at != 0) {
                out.setExpiresAt(ledger::FormatRfc3339(r.lease->expires_at));
              }
            }
            out.setVersion(r.version);
            out.setPosition(r.position);
            self->Write(ToFrame(mb));
            --self->in_flight_;
          });
        },
        req.forwarded);
  }

  // A backup into ledgerd's --backup-dir: its JSON once taken, or an error response.
  void Backup(uint64_t id, std::optional<std::string_view> token) {
    if (!Admit(id)) return;
    auto self = this->shared_from_this();
    server_->frontend->Backup(token, "", [self, id](CommandOutcome outcome) {
      net::post(self->stream_.get_executor(), [self, id, outcome = std::move(outcome)] {
        if (outcome.http_status == 200) {
          capnp::MallocMessageBuilder mb;
          auto resp = mb.initRoot<wire::Response>();
          resp.setId(id);
          resp.setBackup(outcome.json);
          self->Write(ToFrame(mb));
        } else {
          const auto j = nlohmann::json::parse(outcome.json, nullptr, false);
          self->Write(ErrorFrame(id, j.value("code", "unavailable"), j.value("message", "")));
        }
        --self->in_flight_;
      });
    });
  }

  // Counts a request in flight, or answers "unavailable" when the connection has too many.
  bool Admit(uint64_t id) {
    if (in_flight_ >= server_->options.max_in_flight) {
      server_->metrics.overloaded.fetch_add(1);
      Write(ErrorFrame(id, "unavailable",
                       fmt::format("in_flight: more than {} requests in flight on this "
                                   "connection; wait for answers",
                                   server_->options.max_in_flight)));
      return false;
    }
    ++in_flight_;
    return true;
  }

  // One batch of events; with `follow`, batches keep coming as events become durable.
  void ReadEvents(const DecodedRequest& r, std::optional<std::string_view> token) {
    const uint64_t id = r.id;
    const std::string& tenant = r.tenant;
    const Refusal refusal = server_->frontend->AuthorizeEvents(token, tenant);
    if (!refusal.ok()) return Write(ErrorFrame(id, refusal.code, refusal.message));
    const size_t limit = r.limit == 0 ? 1000 : std::min<size_t>(r.limit, 10000);
    if (!r.follow) {
      uint64_t next = 0;
      SendEvents(id, r.from, tenant, limit, &next);
      return;
    }
    if (following_) {
      return Write(ErrorFrame(id, "bad_request",
                              "readEvents: this connection already follows the log; open "
                              "another connection"));
    }
    following_ = true;
    follow_id_ = id;
    follow_cursor_ = server_->frontend->TailCursorAt(r.from);
    follow_tenant_ = tenant;
    follow_limit_ = limit;
    PumpEvents();
  }

  // Reads and sends one batch from `from`; false if the store failed (then closes).
  bool SendEvents(uint64_t id, uint64_t from, const std::string& tenant, size_t limit,
                  uint64_t* next) {
    std::vector<std::string> events;
    const uint64_t last = server_->frontend->store().LastPosition();
    const ledger::Status s = server_->frontend->ReadEvents(
        from, tenant, limit,
        [&](std::string_view bytes, ledger::schema::Event::Reader) { events.emplace_back(bytes); },
        next);
    if (!s.ok()) {
      Write(ErrorFrame(id, "unavailable", s.ToString()));
      return false;
    }
    WriteEvents(id, events, *next, std::max(last, *next - 1));
    return true;
  }

  // Sends one batch of stored events with where to go on from and the log's last position.
  void WriteEvents(uint64_t id, const std::vector<std::string>& events, uint64_t next,
                   uint64_t last) {
    capnp::MallocMessageBuilder mb;
    auto resp = mb.initRoot<wire::Response>();
    resp.setId(id);
    auto batch = resp.initEvents();
    auto list = batch.initEvents(events.size());
    for (size_t i = 0; i < events.size(); ++i) {
      list.set(i, capnp::Data::Reader(reinterpret_cast<const kj::byte*>(events[i].data()),
                                      events[i].size()));
    }
    batch.setNext(next);
    batch.setLast(last);
    Write(ToFrame(mb));
  }

  void PumpEvents() {
    if (closed_ || server_->stopping.load()) return;
    if (outbox_bytes_ > server_->options.max_write_buffer) {
      pump_waiting_ = true;  // resumed when the outbox drains
      return;
    }
    // Past a cursor per partition: new events land in every partition of the log.
    std::vector<std::string> events;
    size_t read = 0;
    const ledger::Status s = server_->frontend->ReadPastCursor(
        &follow_cursor_, follow_tenant_, follow_limit_,
        [&](std::string_view bytes, ledger::schema::Event::Reader) { events.emplace_back(bytes); },
        &read);
    if (!s.ok()) return Write(ErrorFrame(follow_id_, "unavailable", s.ToString()));
    if (read > 0) {
      const uint64_t next = *std::max_element(follow_cursor_.begin(), follow_cursor_.end()) + 1;
      WriteEvents(follow_id_, events, next,
                  std::max(server_->frontend->store().LastPosition(), next - 1));
      net::post(stream_.get_executor(), [self = this->shared_from_this()] { self->PumpEvents(); });
      return;
    }
    if (!follow_timer_) follow_timer_.emplace(stream_.get_executor());
    follow_timer_->expires_after(std::chrono::milliseconds(20));
    follow_timer_->async_wait([self = this->shared_from_this()](error_code ec) {
      if (!ec) self->PumpEvents();
    });
  }

  void Write(Frame frame) {
    if (closed_) return;
    outbox_bytes_ += frame.size() * sizeof(capnp::word);
    outbox_.push_back(std::move(frame));
    if (!writing_) WriteNext();
  }

  // Writes every queued frame with one gathered write.
  void WriteNext() {
    writing_ = true;
    std::vector<net::const_buffer> buffers;
    buffers.reserve(outbox_.size());
    for (const Frame& f : outbox_) {
      buffers.emplace_back(f.begin(), f.size() * sizeof(capnp::word));
    }
    const size_t count = outbox_.size();
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this(), count](error_code ec, size_t) {
                       self->writing_ = false;
                       if (ec) return self->Close();
                       for (size_t i = 0; i < count; ++i) {
                         self->outbox_bytes_ -= self->outbox_.front().size() * sizeof(capnp::word);
                         self->outbox_.pop_front();
                       }
                       if (!self->outbox_.empty()) return self->WriteNext();
                       if (self->closing_) return self->Close();
                       if (self->read_paused_) {
                         self->read_paused_ = false;
                         self->ReadMore();
                       }
                       if (self->pump_waiting_) {
                         self->pump_waiting_ = false;
                         self->PumpEvents();
                       }
                     });
  }

  // Answers an error naming what is wrong with the frame, then closes: after a bad
  // frame the stream's framing cannot be trusted.
  void BadFrame(const std::string& message, uint64_t id = 0) {
    server_->metrics.bad_frames.fetch_add(1);
    closing_ = true;
    Write(ErrorFrame(id, "bad_request", message));
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    error_code ec;
    timer_.cancel();
    if (follow_timer_) follow_timer_->cancel();
    socket().shutdown(tcp::socket::shutdown_both, ec);
    socket().close(ec);
  }

  Stream stream_;
  CapnpServer::Impl* server_;
  net::steady_timer timer_;
  // Bytes read and not yet run: in_[in_begin_, in_end_); need_: bytes the next frame needs.
  std::vector<unsigned char> in_;
  size_t in_begin_ = 0, in_end_ = 0, need_ = kFramePrefixBytes;
  bool reading_ = false;
  std::deque<Frame> outbox_;
  size_t outbox_bytes_ = 0;
  bool writing_ = false;
  bool read_paused_ = false;
  bool closing_ = false;  // close once the outbox is written
  bool closed_ = false;
  size_t in_flight_ = 0;
  Clock::time_point last_read_ = Clock::now();
  std::optional<Clock::time_point> handshake_deadline_;
  // A followed event stream (at most one per connection).
  bool following_ = false;
  bool pump_waiting_ = false;
  uint64_t follow_id_ = 0;
  std::vector<uint64_t> follow_cursor_;  // each partition's last event sent (TailCursorAt)
  std::string follow_tenant_;
  size_t follow_limit_ = 1000;
  std::optional<net::steady_timer> follow_timer_;
};

}  // namespace

void CapnpServer::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](error_code ec, detail::StrandSocket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || stopping.load()) return;
    } else if (metrics.capnp_connections.load() >= options.connections.max_connections) {
      error_code ignored;
      socket.close(ignored);  // over the connection cap
    } else {
      socket.set_option(tcp::no_delay(true), ec);
      if (tls) {
        using TlsStream = ssl::stream<detail::StrandSocket>;
        std::make_shared<Session<TlsStream>>(TlsStream(std::move(socket), *tls), this)->Start();
      } else {
        std::make_shared<Session<detail::StrandSocket>>(std::move(socket), this)->Start();
      }
    }
    if (!stopping.load()) Accept();
  });
}

CapnpServer::CapnpServer(Frontend* frontend, CapnpOptions options)
    : impl_(std::make_unique<Impl>(frontend, std::move(options))) {}

CapnpServer::~CapnpServer() = default;

ledger::Status CapnpServer::Listen(const std::string& host, uint16_t port, uint16_t* bound_port) {
  const CapnpOptions& o = impl_->options;
  const ledger::Status s = detail::LoadServerTls(o.tls_cert_file, o.tls_key_file, "--tls-cert",
                                                 "--tls-key", &impl_->tls);
  if (!s.ok()) return s;
  return impl_->Bind("--listen", host, port, bound_port);
}

void CapnpServer::Run() {
  impl_->Run([this] { impl_->Accept(); });
}

void CapnpServer::StopAccepting() { impl_->StopAccepting(); }

void CapnpServer::Stop(int drain_ms) { impl_->Stop(impl_->metrics.in_flight_commands, drain_ms); }

}  // namespace server
