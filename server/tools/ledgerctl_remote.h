// ledgerctl's verbs against a ledgerd (`--server HOST:PORT --token T`), over the Cap'n
// Proto protocol. Same output and exit codes as against a data directory.
#pragma once

#include <string>
#include <vector>

#include "server/client.h"

namespace ledgerctl {

// Submits every line in order (batches pipelined on one connection) and prints one
// result line per command. 0 when all were answered, 1 if the server failed or refused.
int RemoteSubmit(const server::ClientOptions& options, const std::vector<std::string>& lines);

// One command (e.g. an import); prints its result line.
int RemoteCommand(const server::ClientOptions& options, const std::string& command_json);

// The access check; prints the decision as JSON.
int RemoteCheck(const server::ClientOptions& options, const std::string& tenant,
                const std::string& user, const std::string& product, const std::string& at);

}  // namespace ledgerctl
