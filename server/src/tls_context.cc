#include "tls_context.h"

#include <fmt/format.h>

namespace server::detail {

namespace ssl = boost::asio::ssl;

ledger::Status LoadServerTls(const std::string& cert_file, const std::string& key_file,
                             const char* cert_flag, const char* key_flag,
                             std::optional<ssl::context>* out) {
  out->reset();
  if (cert_file.empty() != key_file.empty()) {
    return ledger::Status::InvalidArgument(
        fmt::format("{} and {} go together", cert_flag, key_flag));
  }
  if (cert_file.empty()) return ledger::Status::OK();
  out->emplace(ssl::context::tls_server);
  ssl::context& ctx = **out;
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::single_dh_use,
                  ec);
  if (!ec) ctx.use_certificate_chain_file(cert_file, ec);
  if (ec) {
    out->reset();
    return ledger::Status::InvalidArgument(
        fmt::format("{} {}: {}", cert_flag, cert_file, ec.message()));
  }
  ctx.use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    out->reset();
    return ledger::Status::InvalidArgument(
        fmt::format("{} {}: {}", key_flag, key_file, ec.message()));
  }
  return ledger::Status::OK();
}

}  // namespace server::detail
