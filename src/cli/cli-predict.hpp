// cli-predict: the predictor's commands — `predict` (platforms you do not have, and back-tests) and
// `calibrate` (fit the family table from a back-test file, or this machine's from its results).
#pragma once

#include <CLI/CLI.hpp>

namespace versus::cli {

struct PredictCommands;

PredictCommands* add_predict_commands(CLI::App& app);
// Runs whichever of them was given; returns -1 when none was.
int run_predict_commands(PredictCommands* cmds);

}  // namespace versus::cli
