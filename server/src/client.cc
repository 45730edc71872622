// clang-format off
#include <utility>  // before Boost.Asio 1.74, whose awaitable.hpp uses std::exchange
// clang-format on

#include "server/client.h"

#include <capnp/serialize.h>
#include <fmt/format.h>
#include <kj/exception.h>
#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cerrno>

namespace server {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

struct LedgerClient::Impl {
  ClientOptions options;
  net::io_context ioc;
  std::optional<ssl::context> tls_context;
  std::optional<tcp::socket> plain;
  std::optional<ssl::stream<tcp::socket>> tls;
  uint64_t next_id = 1;

  template <typename Buffer>
  size_t ReadExactly(const Buffer& buffer, error_code& ec) {
    if (options.io_timeout.count() > 0) {
      return WithinTimeout(ec, [&](auto handler) {
        tls ? net::async_read(*tls, buffer, handler) : net::async_read(*plain, buffer, handler);
      });
    }
    return tls ? net::read(*tls, buffer, ec) : net::read(*plain, buffer, ec);
  }
  template <typename Buffer>
  size_t WriteAll(const Buffer& buffer, error_code& ec) {
    if (options.io_timeout.count() > 0) {
      return WithinTimeout(ec, [&](auto handler) {
        tls ? net::async_write(*tls, buffer, handler) : net::async_write(*plain, buffer, handler);
      });
    }
    return tls ? net::write(*tls, buffer, ec) : net::write(*plain, buffer, ec);
  }

  // Runs the asynchronous operation `start` begins for at most options.io_timeout; past
  // it, cancels it and fails with timed_out.
  template <typename Start>
  size_t WithinTimeout(error_code& ec, Start start) {
    size_t transferred = 0;
    bool done = false;
    start([&](const error_code& e, size_t n) {
      ec = e;
      transferred = n;
      done = true;
    });
    ioc.restart();
    ioc.run_for(options.io_timeout);
    if (!done) {
      error_code ignored;
      (tls ? tls->lowest_layer() : *plain).cancel(ignored);
      ioc.restart();
      ioc.run();  // the cancelled operation's handler
      ec = net::error::timed_out;
    }
    return transferred;
  }
};

ResponseFrame::ResponseFrame(kj::Array<capnp::word> frame, const FrameLimits& limits)
    : frame_(std::move(frame)),
      reader_(frame_, FrameReaderOptions(frame_.size() * sizeof(capnp::word), limits)) {}

LedgerClient::LedgerClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LedgerClient::~LedgerClient() = default;

bool LedgerClient::PeerClosed() {
  tcp::socket& socket = impl_->tls ? impl_->tls->next_layer() : *impl_->plain;
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) return true;
  return n < 0 && errno != EAGAIN && errno != EWOULDBLOCK;
}

ledger::Status LedgerClient::Connect(const ClientOptions& options,
                                     std::unique_ptr<LedgerClient>* out) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  const std::string where = fmt::format("{}:{}", options.host, options.port);
  error_code ec;
  tcp::resolver resolver(impl->ioc);
  const auto endpoints = resolver.resolve(options.host, std::to_string(options.port), ec);
  if (ec) return ledger::Status::IOError(fmt::format("cannot resolve {}: {}", where, ec.message()));
  tcp::socket socket(impl->ioc);
  net::connect(socket, endpoints, ec);
  if (ec)
    return ledger::Status::IOError(fmt::format("cannot connect to {}: {}", where, ec.message()));
  socket.set_option(tcp::no_delay(true), ec);
  if (options.tls) {
    impl->tls_context.emplace(ssl::context::tls_client);
    ssl::context& ctx = *impl->tls_context;
    if (options.tls_ca_file.empty()) {
      ctx.set_default_verify_paths(ec);
    } else {
      ctx.load_verify_file(options.tls_ca_file, ec);
    }
    if (ec) {
      return ledger::Status::InvalidArgument(
          fmt::format("TLS trust anchors {}: {}", options.tls_ca_file, ec.message()));
    }
    impl->tls.emplace(std::move(socket), ctx);
    impl->tls->set_verify_mode(ssl::verify_peer);
    impl->tls->set_verify_callback(ssl::host_name_verification(options.host));
    // Server Name Indication for host names (not for IP addresses).
    error_code not_ip;
    net::ip::make_address(options.host, not_ip);
    if (not_ip) SSL_set_tlsext_host_name(impl->tls->native_handle(), options.host.c_str());
    impl->tls->handshake(ssl::stream_base::client, ec);
    if (ec) {
      return ledger::Status::IOError(
          fmt::format("TLS handshake with {} failed: {}", where, ec.message()));
    }
  } else {
    impl->plain.emplace(std::move(socket));
  }
  out->reset(new LedgerClient(std::move(impl)));
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Send(const std::function<void(wire::Request::Builder)>& fill,
                                  uint64_t* id) {
  capnp::MallocMessageBuilder mb;
  auto req = mb.initRoot<wire::Request>();
  *id = impl_->next_id++;
  req.setId(*id);
  if (!impl_->options.token.empty()) req.setToken(impl_->options.token);
  fill(req);
  const auto frame = ToFrame(mb);
  error_code ec;
  impl_->WriteAll(net::buffer(frame.begin(), frame.size() * sizeof(capnp::word)), ec);
  if (ec) return ledger::Status::IOError("send: " + ec.message());
  return ledger::Status::OK();
}

ledger::Status LedgerClient::SendRaw(std::string_view bytes) {
  error_code ec;
  impl_->WriteAll(net::buffer(bytes.data(), bytes.size()), ec);
  if (ec) return ledger::Status::IOError("send: " + ec.message());
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Receive(std::unique_ptr<ResponseFrame>* out) {
  const FrameLimits& limits = impl_->options.frame;
  std::vector<unsigned char> table(kFramePrefixBytes);
  error_code ec;
  impl_->ReadExactly(net::buffer(table), ec);
  if (ec) {
    return ledger::Status::IOError(ec == net::error::eof ? "the server closed the connection"
                                                         : "receive: " + ec.message());
  }
  size_t table_bytes = 0, frame_bytes = 0;
  ledger::Status s = SegmentTableBytes(table.data(), limits, &table_bytes);
  if (!s.ok()) return ledger::Status::Corruption("response " + s.message());
  table.resize(table_bytes);
  if (table_bytes > kFramePrefixBytes) {
    impl_->ReadExactly(
        net::buffer(table.data() + kFramePrefixBytes, table_bytes - kFramePrefixBytes), ec);
    if (ec) return ledger::Status::IOError("receive: " + ec.message());
  }
  s = FrameBytes(table.data(), table_bytes, limits, &frame_bytes);
  if (!s.ok()) return ledger::Status::Corruption("response " + s.message());
  auto frame = kj::heapArray<capnp::word>(frame_bytes / sizeof(capnp::word));
  auto* bytes = reinterpret_cast<unsigned char*>(frame.begin());
  std::copy(table.begin(), table.end(), bytes);
  impl_->ReadExactly(net::buffer(bytes + table_bytes, frame_bytes - table_bytes), ec);
  if (ec) return ledger::Status::IOError("receive: " + ec.message());
  try {
    *out = std::make_unique<ResponseFrame>(std::move(frame), limits);
    (*out)->get().getId();  // validates the root pointer
  } catch (const kj::Exception& e) {
    return ledger::Status::Corruption(
        fmt::format("response: malformed ({})", e.getDescription().cStr()));
  }
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Call(const std::function<void(wire::Request::Builder)>& fill,
                                  std::unique_ptr<ResponseFrame>* out) {
  remote_error_.reset();
  uint64_t id = 0;
  ledger::Status s = Send(fill, &id);
  if (!s.ok()) return s;
  for (;;) {
    s = Receive(out);
    if (!s.ok()) return s;
    const auto resp = (*out)->get();
    if (resp.getId() != id && !(resp.isError() && resp.getId() == 0)) continue;  // not ours
    if (resp.isError()) {
      const auto e = resp.getError();
      remote_error_ = RemoteError{e.getCode().cStr(), e.getMessage().cStr()};
      const std::string text = remote_error_->code + ": " + remote_error_->message;
      return remote_error_->code == "unavailable" ? ledger::Status::Unavailable(text)
                                                  : ledger::Status::InvalidArgument(text);
    }
    return ledger::Status::OK();
  }
}

ledger::Status LedgerClient::Submit(const std::vector<std::string>& commands,
                                    std::vector<std::string>* results) {
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s = Call(
      [&](wire::Request::Builder req) {
        auto list = req.initSubmit(commands.size());
        for (size_t i = 0; i < commands.size(); ++i) list.set(i, commands[i]);
      },
      &resp);
  if (!s.ok()) return s;
  if (!resp->get().isResults())
    return ledger::Status::Corruption("submit: answered with no results");
  results->clear();
  for (const auto r : resp->get().getResults()) results->emplace_back(r.cStr());
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Check(const std::string& tenant, const std::string& user,
                                   const std::string& product, const std::string& at,
                                   commands::AccessDecision* decision) {
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s = Call(
      [&](wire::Request::Builder req) {
        auto c = req.initCheck();
        c.setTenant(tenant);
        c.setUser(user);
        c.setProduct(product);
        c.setAt(at);
      },
      &resp);
  if (!s.ok()) return s;
  if (!resp->get().isCheck()) return ledger::Status::Corruption("check: answered with no result");
  const auto c = resp->get().getCheck();
  decision->allowed = c.getAllowed();
  decision->reason = c.getReason().cStr();
  decision->subscription = c.getSubscription().cStr();
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Lease(const LeaseCall& call, LeaseAnswer* answer) {
  if (call.type != "checkout" && call.type != "heartbeat" && call.type != "checkin") {
    return ledger::Status::InvalidArgument("lease: type must be checkout, heartbeat or checkin");
  }
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s = Call(
      [&](wire::Request::Builder req) {
        auto l = req.initLease();
        l.setTenant(call.tenant);
        l.setActor(call.actor);
        l.setId(call.id);
        if (call.type == "checkout") {
          auto c = l.initCheckout();
          c.setSubscription(call.subscription);
          c.setUser(call.user);
          c.setDevice(call.device);
        } else if (call.type == "heartbeat") {
          l.setHeartbeat(call.lease);
        } else {
          l.setCheckin(call.lease);
        }
      },
      &resp);
  if (!s.ok()) return s;
  if (!resp->get().isLease()) return ledger::Status::Corruption("lease: answered with no result");
  const auto r = resp->get().getLease();
  *answer = LeaseAnswer();
  answer->status = r.getStatus().cStr();
  answer->id = r.getId().cStr();
  answer->code = r.getCode().cStr();
  answer->message = r.getMessage().cStr();
  answer->lease = r.getLease().cStr();
  answer->subscription = r.getSubscription().cStr();
  answer->expires_at = r.getExpiresAt().cStr();
  answer->version = r.getVersion();
  answer->position = r.getPosition();
  return ledger::Status::OK();
}

ledger::Status LedgerClient::State(const std::string& tenant, std::string* json) {
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s =
      Call([&](wire::Request::Builder req) { req.initState().setTenant(tenant); }, &resp);
  if (!s.ok()) return s;
  if (!resp->get().isState()) return ledger::Status::Corruption("state: answered with no state");
  *json = resp->get().getState().cStr();
  return ledger::Status::OK();
}

ledger::Status LedgerClient::ReadEvents(uint64_t from, const std::string& tenant, uint32_t limit,
                                        std::vector<std::string>* events, uint64_t* next,
                                        uint64_t* last) {
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s = Call(
      [&](wire::Request::Builder req) {
        auto r = req.initReadEvents();
        r.setFrom(from);
        r.setTenant(tenant);
        r.setLimit(limit);
      },
      &resp);
  if (!s.ok()) return s;
  if (!resp->get().isEvents())
    return ledger::Status::Corruption("readEvents: answered with no events");
  const auto batch = resp->get().getEvents();
  events->clear();
  for (const auto e : batch.getEvents()) {
    events->emplace_back(reinterpret_cast<const char*>(e.begin()), e.size());
  }
  *next = batch.getNext();
  *last = batch.getLast();
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Backup(std::string* json) {
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s = Call([](wire::Request::Builder req) { req.setBackup(); }, &resp);
  if (!s.ok()) return s;
  if (!resp->get().isBackup()) return ledger::Status::Corruption("backup: answered with no backup");
  *json = resp->get().getBackup().cStr();
  return ledger::Status::OK();
}

ledger::Status LedgerClient::Health(uint64_t* position) {
  std::unique_ptr<ResponseFrame> resp;
  ledger::Status s = Call([](wire::Request::Builder req) { req.setHealth(); }, &resp);
  if (!s.ok()) return s;
  if (!resp->get().isHealth()) return ledger::Status::Corruption("health: answered with no health");
  *position = resp->get().getHealth().getPosition();
  return ledger::Status::OK();
}

}  // namespace server
