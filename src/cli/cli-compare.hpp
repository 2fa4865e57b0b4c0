// cli-compare: `versus compare FILE...`, results of several machines side by side with predictions
// for platforms nobody measured, as a table, Markdown, JSON or one self-contained HTML report.
#pragma once

#include <CLI/CLI.hpp>

namespace versus::cli {

struct CompareCommands;

// Adds the subcommand to `app`; the returned object holds its options.
CompareCommands* add_compare_commands(CLI::App& app);
// Runs it when it was given; returns -1 when it was not.
int run_compare_commands(CompareCommands* cmds);

}  // namespace versus::cli
