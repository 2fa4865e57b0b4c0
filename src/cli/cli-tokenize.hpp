// cli-tokenize: `versus tokenize` — a model file's tokenizer on text: ids and pieces, or one JSON array of
// ids per line of a JSON-lines file (the parity test against llama.cpp).
#pragma once

#include <CLI/CLI.hpp>

namespace versus::cli {

struct TokenizeCommand;

TokenizeCommand* add_tokenize_command(CLI::App& app);
// Runs the command when it was given; returns -1 otherwise.
int run_tokenize_command(TokenizeCommand* cmd);

}  // namespace versus::cli
