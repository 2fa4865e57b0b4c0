// cli-llm: the LLM engine's commands — `generate` and `model create|quantize|info`.
#pragma once

#include <CLI/CLI.hpp>

namespace versus::cli {

struct LlmCommands;

// Adds the subcommands to `app`; the returned object holds their options.
LlmCommands* add_llm_commands(CLI::App& app);
// Runs whichever of them was given; returns -1 when none was.
int run_llm_commands(LlmCommands* cmds);

}  // namespace versus::cli
