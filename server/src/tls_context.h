// The TLS context of a listener (internal): TLS 1.2 or later, with a PEM certificate chain
// and its private key. Shared by the Cap'n Proto and the HTTP listeners.
#pragma once

#include <boost/asio/ssl.hpp>
#include <optional>
#include <string>

#include "ledger/status.h"

namespace server::detail {

// With both files given: *out is a server context serving that chain and key. With
// neither: *out stays empty (no TLS). InvalidArgument naming the flag (`cert_flag`,
// `key_flag`) when only one is given or a file cannot be used.
ledger::Status LoadServerTls(const std::string& cert_file, const std::string& key_file,
                             const char* cert_flag, const char* key_flag,
                             std::optional<boost::asio::ssl::context>* out);

}  // namespace server::detail
