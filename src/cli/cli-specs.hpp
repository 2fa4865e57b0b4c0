// cli-specs: `versus specs list|show`, the hardware spec database (predict/specs.hpp) for humans and scripts.
#pragma once

#include <CLI/CLI.hpp>

namespace versus::cli {

struct SpecsCommands;

// Adds the subcommands to `app`; the returned object holds their options.
SpecsCommands* add_specs_commands(CLI::App& app);
// Runs whichever of them was given; returns -1 when none was.
int run_specs_commands(SpecsCommands* cmds);

}  // namespace versus::cli
