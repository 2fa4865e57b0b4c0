// cli-history: `versus history` (runs, one workload over time, --regressions, --import) over the
// SQLite history (report/history.hpp), and the hook `run` and `bench` call to add a finished run.
#pragma once

#include <CLI/CLI.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "core/record.hpp"

namespace versus::cli {

struct HistoryCommands;

HistoryCommands* add_history_commands(CLI::App& app);
// Runs `history` if it was given; returns -1 when it was not.
int run_history_commands(HistoryCommands* cmds);

// Adds a finished run to the database at `db`. The results file already holds every row, so a
// failure here (locked, corrupt, newer schema, unwritable) is a warning on stderr, never an error:
// returns false and the run's exit code stays what the measurements made it.
bool record_run_in_history(const std::filesystem::path& db, const std::string& command,
                           const std::vector<core::Record>& records, bool quiet);

}  // namespace versus::cli
