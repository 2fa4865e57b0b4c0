// cli-audit: `versus audit`, the claims audit — every claim of data/claims/claims.csv with its verdict
// against this machine's results store, the predictor and the spec database.
#pragma once

#include <CLI/CLI.hpp>

namespace versus::cli {

struct AuditCommands;

AuditCommands* add_audit_commands(CLI::App& app);
// Runs `audit` when it was given; returns -1 otherwise.
int run_audit_commands(AuditCommands* cmds);

}  // namespace versus::cli
