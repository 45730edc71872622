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

// One command (an import, a checkout...); prints its result line. 0 when answered;
// with `fail_if_rejected`, 1 when the answer is a rejection.
int RemoteCommand(const server::ClientOptions& options, const std::string& command_json,
                  bool fail_if_rejected = false);

// A backup into the server's --backup-dir; prints its JSON. 0 when taken, 1 otherwise.
int RemoteBackup(const server::ClientOptions& options);

// The access check; prints the decision as JSON.
int RemoteCheck(const server::ClientOptions& options, const std::string& tenant,
                const std::string& user, const std::string& product, const std::string& at);

}  // namespace ledgerctl
