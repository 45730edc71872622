#include "server/http_server.h"

#include <fmt/format.h>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <vector>

#include "commands/lease_table.h"
#include "console_files.h"
#include "lease_routes.h"
#include "listener.h"
#include "replay/event_json.h"
#include "tls_context.h"

namespace server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using Response = http::response<http::string_body>;

json Error(const std::string& code, const std::string& message) {
  return {{"status", "rejected"}, {"code", code}, {"message", message}};
}

// "%41" → 'A', '+' → ' '; false on a malformed escape.
bool UrlDecode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out->push_back(' ');
    } else if (in[i] == '%') {
      if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(in[i + 2]))) {
        return false;
      }
      out->push_back(static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out->push_back(in[i]);
    }
  }
  return true;
}

// The path and decoded query parameters of a request target; false if malformed.
bool SplitTarget(std::string_view target, std::string* path,
                 std::vector<std::pair<std::string, std::string>>* query) {
  const size_t q = target.find('?');
  if (!UrlDecode(target.substr(0, q), path)) return false;
  if (q == std::string_view::npos) return true;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const size_t eq = pair.find('=');
    std::string key, value;
    if (!UrlDecode(pair.substr(0, eq), &key)) return false;
    if (eq != std::string_view::npos && !UrlDecode(pair.substr(eq + 1), &value)) return false;
    if (!key.empty()) query->emplace_back(std::move(key), std::move(value));
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return true;
}

std::optional<std::string> Param(const std::vector<std::pair<std::string, std::string>>& query,
                                 const std::string& name) {
  for (const auto& [k, v] : query) {
    if (k == name) return v;
  }
  return std::nullopt;
}

}  // namespace

struct HttpServer::Impl : detail::Listener {
  Frontend* frontend;
  ServerMetrics& metrics;
  HttpOptions options;
  std::optional<net::ssl::context> tls;  // set: HTTPS only

  Impl(Frontend* f, HttpOptions o)
      : detail::Listener(o.connections.threads), frontend(f), metrics(f->metrics()), options(o) {}

  void Accept();
};

namespace {

// A connection's TCP stream with beast's timeouts, on its strand (detail::Strand).
using PlainStream = beast::basic_stream<tcp, detail::Strand>;
using TlsStream = beast::ssl_stream<PlainStream>;

// One HTTP connection: read a request, answer it, repeat while keep-alive. `Stream` is a
// PlainStream (HTTP) or a TlsStream over one (HTTPS).
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(detail::StrandSocket socket, HttpServer::Impl* server)
      : stream_(MakeStream(std::move(socket), server)), server_(server) {
    server_->metrics.http_connections.fetch_add(1);
  }
  ~Session() { server_->metrics.http_connections.fetch_sub(1); }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        // The handshake, bounded like an idle connection.
        self->Lowest().expires_after(
            std::chrono::seconds(self->server_->options.connections.idle_timeout_seconds));
        self->stream_.async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->Close();
          self->Read();
        });
      } else {
        self->Read();
      }
    });
  }

 private:
  void Read() {
    if (server_->stopping.load()) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options.max_body_bytes);
    parser_->header_limit(16 << 10);
    Lowest().expires_after(std::chrono::seconds(server_->options.connections.idle_timeout_seconds));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset) {
      return Close();
    }
    if (ec == http::error::body_limit) {
      return SendAndClose(413, Error("bad_request", fmt::format("body: larger than {} bytes",
                                                                server_->options.max_body_bytes)));
    }
    if (ec == http::error::header_limit) {
      return SendAndClose(431, Error("bad_request", "headers: too large"));
    }
    if (ec)
      return SendAndClose(400,
                          Error("bad_request", "request: not HTTP/1.1 (" + ec.message() + ")"));
    request_ = parser_->release();
    server_->metrics.http_requests.fetch_add(1);
    Handle();
  }

  void Handle() {
    std::string path;
    std::vector<std::pair<std::string, std::string>> query;
    if (!SplitTarget(std::string_view(request_.target().data(), request_.target().size()), &path,
                     &query)) {
      return Send(400, Error("bad_request", "target: malformed URL encoding"));
    }
    const auto method = request_.method();
    if (path == "/healthz") {
      if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
      // 503 while the store refuses writes (a full disk, a failed write, a follower of the
      // log in PostgreSQL): a load balancer should send commands elsewhere; reads are
      // still served (and a follower forwards the commands it gets to the writer).
      const ledger::Store& store = server_->frontend->store();
      const ledger::Status health = store.WriteHealth();
      json body = {{"status", health.ok() ? "ok" : "unavailable"},
                   {"position", store.LastPosition()}};
      if (!health.ok()) body["problem"] = health.ToString();
      const ledger::StoreStats stats = store.Stats();
      if (stats.upstream) {
        // On the log in PostgreSQL: a follower answers checks and reads, not commands.
        body["role"] = stats.writes_upstream ? "writer" : "follower";
        body["writer"] = store.UpstreamWriter();
        body["lag_events"] = stats.upstream_lag_events;
        body["partitions"] = stats.upstream_partitions;
        body["leases"] = stats.upstream_leases;  // those this node writes
        // Positions name their partition (ledger/log_partitions.h): each one's last.
        body["positions"] = store.LogFrontier();
      }
      return Send(health.ok() ? 200 : 503, body);
    }
    if (path == "/metrics") {
      if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
      return SendText(200, MetricsText(server_->metrics, server_->frontend->store().Stats()),
                      "text/plain; version=0.0.4");
    }
    if (path == "/" || path == "/console" || path.rfind("/console/", 0) == 0) {
      return Console(path, method);
    }
    if (path == "/openapi.json") {
      if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
      const ConsoleFile* spec = FindConsoleFile("openapi.json");
      return SendText(200, std::string(spec->body), "application/json");
    }
    const auto header = request_[http::field::authorization];
    token_.reset();
    if (auto t = BearerToken(std::string_view(header.data(), header.size())))
      token_ = std::string(*t);
    if (path == "/v1/commands") {
      if (method != http::verb::post) return Send(405, Error("bad_request", "method: use POST"));
      return Commands();
    }
    if (path == "/v1/admin/backup") {
      if (method != http::verb::post) return Send(405, Error("bad_request", "method: use POST"));
      return AdminBackup();
    }
    if (path == "/v1/events") {
      if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
      return Events(query);
    }
    if (path == "/v1/tenants") {
      if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
      return Answer(server_->frontend->Tenants(Token(), query));
    }
    constexpr std::string_view kTenants = "/v1/tenants/";
    if (path.rfind(kTenants, 0) == 0) {
      const std::string rest = path.substr(kTenants.size());
      const size_t slash = rest.find('/');
      if (slash != std::string::npos && slash > 0) {
        const std::string tenant = rest.substr(0, slash);
        const std::string what = rest.substr(slash + 1);
        if (what == "leases" || what.rfind("leases/", 0) == 0) {
          return Leases(tenant, what.substr(std::string_view("leases").size()), method, query);
        }
        if (what == "what-if") {
          if (method != http::verb::post) {
            return Send(405, Error("bad_request", "method: use POST"));
          }
          return Answer(server_->frontend->WhatIf(Token(), tenant, query, request_.body()));
        }
        if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
        if (what == "check") return Check(tenant, query);
        if (auto answer = server_->frontend->Replay(Token(), tenant, what, query)) {
          return Answer(std::move(*answer));
        }
      }
    }
    return Send(404, Error("not_found", "no such resource: " + path));
  }

  // GET /console/NAME: the web console's files (console_files.h), with headers that let
  // the browser run nothing but them and never frame them; "/" and "/console" lead there.
  void Console(const std::string& path, http::verb method) {
    if (method != http::verb::get) return Send(405, Error("bad_request", "method: use GET"));
    constexpr std::string_view kPrefix = "/console/";
    if (path.size() < kPrefix.size()) {
      return SendWith(301, "", "text/plain", {{"Location", kPrefix}});
    }
    const ConsoleFile* file = FindConsoleFile(std::string_view(path).substr(kPrefix.size()));
    if (file == nullptr) return Send(404, Error("not_found", "no such resource: " + path));
    constexpr std::string_view kPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
    SendWith(200, std::string(file->body), std::string(file->content_type).c_str(),
             {{"Content-Security-Policy", kPolicy},
              {"X-Content-Type-Options", "nosniff"},
              {"Referrer-Policy", "no-referrer"},
              {"Cache-Control", "no-cache"}});
  }

  std::optional<std::string_view> Token() const {
    return token_ ? std::optional<std::string_view>(*token_) : std::nullopt;
  }

  void Refuse(const Refusal& r) { Send(r.http_status, Error(r.code, r.message)); }

  void Check(const std::string& tenant,
             const std::vector<std::pair<std::string, std::string>>& query) {
    commands::AccessDecision d;
    const Refusal r = server_->frontend->Check(Token(), tenant, Param(query, "user").value_or(""),
                                               Param(query, "product").value_or(""),
                                               Param(query, "at").value_or(""), &d);
    if (!r.ok()) return Refuse(r);
    SendText(200, d.ToJson(), "application/json");
  }

  void Answer(RouteAnswer answer) {
    if (answer.more) return StreamAnswer(std::move(answer));
    SendText(answer.http_status, std::move(answer.body), answer.content_type.c_str());
  }

  // An answer whose body comes in parts (RouteAnswer::more), sent chunked; the connection
  // closes after it. A part that fails closes the connection before the last chunk.
  void StreamAnswer(RouteAnswer answer) {
    auto res = std::make_shared<http::response<http::empty_body>>(
        static_cast<http::status>(answer.http_status), request_.version());
    res->set(http::field::server, "ledgerd");
    res->set(http::field::content_type, answer.content_type);
    res->chunked(true);
    res->keep_alive(false);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    auto more = std::make_shared<decltype(answer.more)>(std::move(answer.more));
    auto part = std::make_shared<std::string>(std::move(answer.body));
    Lowest().expires_after(std::chrono::seconds(60));
    http::async_write_header(
        stream_, *sr,
        [self = this->shared_from_this(), res, sr, more, part](beast::error_code ec, size_t) {
          if (ec) return self->Close();
          self->SendPart(more, part, false);
        });
  }

  // Sends `part` (if any), then the next one, until the last chunk.
  void SendPart(std::shared_ptr<std::function<ledger::Status(std::string*, bool*)>> more,
                std::shared_ptr<std::string> part, bool done) {
    auto self = this->shared_from_this();
    Lowest().expires_after(std::chrono::seconds(60));
    if (part->empty() && done) {
      return net::async_write(stream_, http::make_chunk_last(),
                              [self](beast::error_code, size_t) { self->Close(); });
    }
    auto next = [self, more, part](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      part->clear();
      bool last = false;
      if (!(*more)(part.get(), &last).ok()) return self->Close();
      self->SendPart(more, part, last);
    };
    if (part->empty()) return next({}, 0);
    net::async_write(stream_, http::make_chunk(net::buffer(*part)), std::move(next));
  }

  // The lease routes (lease_routes.h); `rest` is what follows ".../leases" in the path.
  void Leases(const std::string& tenant, const std::string& rest, http::verb method,
              const std::vector<std::pair<std::string, std::string>>& query) {
    if (rest == "/") return Send(404, Error("not_found", "no such resource: leases/"));
    std::string type, lease;
    if (rest.empty()) {
      if (method == http::verb::get) return ListLeases(tenant);
      if (method != http::verb::post) {
        return Send(405, Error("bad_request", "method: use GET (list) or POST (checkout)"));
      }
      type = "checkout";
    } else if (const size_t end = rest.find('/', 1); end == std::string::npos) {
      if (method != http::verb::delete_) {
        return Send(405, Error("bad_request", "method: use DELETE (checkin)"));
      }
      type = "checkin";
      lease = rest.substr(1);
    } else if (rest.substr(end) == "/heartbeat") {
      if (method != http::verb::post) return Send(405, Error("bad_request", "method: use POST"));
      type = "heartbeat";
      lease = rest.substr(1, end - 1);
    } else {
      return Send(404, Error("not_found", "no such resource: leases" + rest));
    }
    std::string command, error;
    if (!LeaseCommandJson(type, tenant, lease, request_.body(), Param(query, "actor"), &command,
                          &error)) {
      return Send(400, Error("bad_request", error));
    }
    auto self = this->shared_from_this();
    server_->frontend->SubmitCommand(Token(), command, [self](CommandOutcome outcome) {
      net::post(self->stream_.get_executor(), [self, outcome = std::move(outcome)]() mutable {
        self->SendText(outcome.http_status, std::move(outcome.json), "application/json");
      });
    });
  }

  // GET /v1/tenants/{t}/leases: the leases in use now, each with its latest expiry.
  void ListLeases(const std::string& tenant) {
    commands::TenantState state;
    ledger::Micros at = 0;
    const Refusal r = server_->frontend->Fold(Token(), tenant, &state, &at);
    if (!r.ok()) return Refuse(r);
    std::map<std::string, ledger::Micros> expiries;
    const ledger::Status s = commands::LeaseTable(server_->frontend->store())
                                 .ForEach(tenant, [&](std::string_view, std::string_view lease,
                                                      ledger::Micros expires_at) {
                                   expiries.emplace(std::string(lease), expires_at);
                                   return true;
                                 });
    if (!s.ok()) return Send(503, Error("unavailable", s.ToString()));
    SendText(200, LeasesJson(tenant, state, expiries), "application/json");
  }

  // POST /v1/commands: each command authorized and submitted on its own; answered once
  // all are durable (one object for an object, an array for an array). The status is the
  // last non-200 status of any command (200 when all were decided).
  void Commands() {
    json body = json::parse(request_.body(), nullptr, /*allow_exceptions=*/false);
    const bool batch = body.is_array();
    if (!body.is_object() && !batch) {
      return Send(400, Error("bad_request", "body: a JSON command object or an array of them"));
    }
    if (const auto key = request_.find("Idempotency-Key"); key != request_.end()) {
      // Stripe's header, an alias of the command's id: the same key with the same
      // command answers the original result (duplicate), with another idempotency_key_reused.
      const std::string id(key->value());
      if (batch) {
        return Send(400, Error("bad_request",
                               "Idempotency-Key: only with one command (each command of an "
                               "array carries its own id)"));
      }
      if (id.empty()) return Send(400, Error("bad_request", "Idempotency-Key: empty"));
      if (body.contains("id") && body["id"] != id) {
        return Send(400, Error("bad_request", "Idempotency-Key: differs from the command's id"));
      }
      body["id"] = id;
    }
    if (batch && body.size() > server_->options.connections.max_batch_commands) {
      return Send(
          413, Error("bad_request", fmt::format("body: more than {} commands",
                                                server_->options.connections.max_batch_commands)));
    }
    if (batch && body.empty()) return Send(200, json::array());
    const size_t n = batch ? body.size() : 1;
    auto results = std::make_shared<std::vector<std::string>>(n);
    auto remaining = std::make_shared<std::atomic<size_t>>(n);
    auto status = std::make_shared<std::atomic<int>>(200);
    auto self = this->shared_from_this();
    auto finish = [self, results, batch, status]() {
      net::post(self->stream_.get_executor(), [self, results, batch, status] {
        std::string text;
        if (batch) {
          text = "[";
          for (size_t i = 0; i < results->size(); ++i) {
            if (i > 0) text += ',';
            text += (*results)[i];
          }
          text += ']';
        } else {
          text = std::move((*results)[0]);
        }
        self->SendText(batch ? 200 : status->load(), std::move(text), "application/json");
      });
    };
    auto done_one = [results, remaining, status, finish](size_t i, CommandOutcome outcome) {
      (*results)[i] = std::move(outcome.json);
      if (outcome.http_status != 200) status->store(outcome.http_status);
      if (remaining->fetch_sub(1) == 1) finish();
    };
    // The objects go to the frontend in order; the others are answered here.
    std::vector<std::string> objects;
    std::vector<size_t> index_of;  // objects[k] is command index_of[k] of the request
    for (size_t i = 0; i < n; ++i) {
      const json& c = batch ? body[i] : body;
      if (!c.is_object()) {
        done_one(i, {Error("bad_request", "command: not a JSON object").dump(), 400});
        continue;
      }
      objects.push_back(c.dump());
      index_of.push_back(i);
    }
    if (objects.empty()) return;
    server_->frontend->SubmitCommands(
        Token(), std::move(objects),
        [done_one, index_of = std::move(index_of)](size_t k, CommandOutcome outcome) {
          done_one(index_of[k], std::move(outcome));
        });
  }

  // POST /v1/admin/backup: a backup into ledgerd's --backup-dir (admin tokens only),
  // answered once it is taken.
  void AdminBackup() {
    auto self = this->shared_from_this();
    server_->frontend->Backup(Token(), request_.body(), [self](CommandOutcome outcome) {
      net::post(self->stream_.get_executor(), [self, outcome = std::move(outcome)]() mutable {
        self->SendText(outcome.http_status, std::move(outcome.json), "application/json");
      });
    });
  }

  // GET /v1/events?from=N[&tenant=T][&follow=0]: the log from position N as JSON lines
  // (chunked), then — unless follow=0 — each new durable event as it comes, until the
  // client goes away or the server stops. A blank line every 10 s keeps idle streams open.
  void Events(const std::vector<std::pair<std::string, std::string>>& query) {
    tail_tenant_ = Param(query, "tenant").value_or("");
    const Refusal r = server_->frontend->AuthorizeEvents(Token(), tail_tenant_);
    if (!r.ok()) return Refuse(r);
    uint64_t from_position = 1;
    if (auto from = Param(query, "from")) {
      if (from->empty() || from->size() > 19 ||
          from->find_first_not_of("0123456789") != std::string::npos) {
        return Send(400, Error("bad_request", "from: a position (digits)"));
      }
      from_position = std::max<uint64_t>(1, std::stoull(*from));
    }
    tail_cursor_ = server_->frontend->TailCursorAt(from_position);
    const auto follow = Param(query, "follow");
    tail_follow_ = !follow || (*follow != "0" && *follow != "false");
    auto res =
        std::make_shared<http::response<http::empty_body>>(http::status::ok, request_.version());
    res->set(http::field::server, "ledgerd");
    res->set(http::field::content_type, "application/x-ndjson");
    res->chunked(true);
    res->keep_alive(false);
    auto sr = std::make_shared<http::response_serializer<http::empty_body>>(*res);
    Lowest().expires_never();
    http::async_write_header(
        stream_, *sr, [self = this->shared_from_this(), res, sr](beast::error_code ec, size_t) {
          if (ec) return self->Close();
          self->PumpEvents();
        });
  }

  void PumpEvents() {
    auto out = std::make_shared<std::string>();
    size_t read = 0;
    const ledger::Status s = server_->frontend->ReadPastCursor(
        &tail_cursor_, tail_tenant_, 1000,
        [&](std::string_view, ledger::schema::Event::Reader e) {
          out->append(replay::DumpJson(replay::EventJson(e)));
          out->push_back('\n');
        },
        &read);
    if (!s.ok()) return Close();
    const auto now = std::chrono::steady_clock::now();
    if (out->empty() && tail_follow_ && !server_->stopping.load() &&
        now - tail_last_write_ > std::chrono::seconds(10)) {
      out->push_back('\n');  // keep-alive: NDJSON readers skip blank lines
    }
    if (!out->empty()) {
      tail_last_write_ = now;
      return net::async_write(stream_, http::make_chunk(net::buffer(*out)),
                              [self = this->shared_from_this(), out](beast::error_code ec, size_t) {
                                if (ec) return self->Close();
                                self->PumpEvents();
                              });
    }
    if (!tail_follow_ || server_->stopping.load()) {  // (nothing was left to send)
      return net::async_write(
          stream_, http::make_chunk_last(),
          [self = this->shared_from_this()](beast::error_code, size_t) { self->Close(); });
    }
    if (!tail_timer_) tail_timer_.emplace(stream_.get_executor());
    tail_timer_->expires_after(std::chrono::milliseconds(20));
    tail_timer_->async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return self->Close();
      self->PumpEvents();
    });
  }

  void Send(int status, const json& body) {
    SendText(status, replay::DumpJson(body), "application/json");
  }

  void SendText(int status, std::string body, const char* content_type) {
    SendWith(status, std::move(body), content_type, {});
  }

  // SendText with more header fields.
  void SendWith(int status, std::string body, const char* content_type,
                std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
    auto res = std::make_shared<Response>(static_cast<http::status>(status), request_.version());
    res->set(http::field::server, "ledgerd");
    res->set(http::field::content_type, content_type);
    for (const auto& [name, value] : fields) {
      res->set(beast::string_view(name.data(), name.size()),
               beast::string_view(value.data(), value.size()));
    }
    res->keep_alive(request_.keep_alive() && !server_->stopping.load());
    res->body() = std::move(body);
    res->prepare_payload();
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec || !res->keep_alive()) return self->Close();
                        self->Read();
                      });
  }

  // Answers (the request could not be read whole) and closes the connection.
  void SendAndClose(int status, const json& body) {
    request_ = {};
    request_.version(11);
    request_.keep_alive(false);
    Send(status, body);
  }

  void Close() {
    beast::error_code ec;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
  }

  static Stream MakeStream(detail::StrandSocket socket, HttpServer::Impl* server) {
    if constexpr (std::is_same_v<Stream, TlsStream>) {
      return Stream(std::move(socket), *server->tls);
    } else {
      return Stream(std::move(socket));
    }
  }
  // The TCP stream under any TLS: its timeouts, its socket.
  PlainStream& Lowest() { return beast::get_lowest_layer(stream_); }

  Stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::request<http::string_body> request_;
  std::optional<std::string> token_;
  // GET /v1/events: where the stream is, and how it goes on.
  std::vector<uint64_t> tail_cursor_;  // each partition's last event sent (TailCursorAt)
  std::string tail_tenant_;            // empty: every tenant
  bool tail_follow_ = true;
  std::chrono::steady_clock::time_point tail_last_write_ = std::chrono::steady_clock::now();
  std::optional<net::steady_timer> tail_timer_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor->async_accept(
      net::make_strand(ioc), [this](beast::error_code ec, detail::StrandSocket socket) {
        if (ec) {
          if (ec == net::error::operation_aborted || stopping.load()) return;
        } else if (metrics.http_connections.load() >= options.connections.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);  // over the connection cap
        } else {
          if (tls) {
            std::make_shared<Session<TlsStream>>(std::move(socket), this)->Start();
          } else {
            std::make_shared<Session<PlainStream>>(std::move(socket), this)->Start();
          }
        }
        if (!stopping.load()) Accept();
      });
}

HttpServer::HttpServer(Frontend* frontend, HttpOptions options)
    : impl_(std::make_unique<Impl>(frontend, options)) {}

HttpServer::~HttpServer() = default;

ledger::Status HttpServer::Listen(const std::string& host, uint16_t port, uint16_t* bound_port) {
  const HttpOptions& o = impl_->options;
  const ledger::Status s = detail::LoadServerTls(o.tls_cert_file, o.tls_key_file, "--http-tls-cert",
                                                 "--http-tls-key", &impl_->tls);
  if (!s.ok()) return s;
  return impl_->Bind("--http", host, port, bound_port);
}

void HttpServer::Run() {
  impl_->Run([this] { impl_->Accept(); });
}

void HttpServer::StopAccepting() { impl_->StopAccepting(); }

void HttpServer::Stop(int drain_ms) { impl_->Stop(impl_->metrics.in_flight_commands, drain_ms); }

}  // namespace server
