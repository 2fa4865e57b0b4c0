// local: this machine as a platform of the predictor, from its own measurements. `versus calibrate`
// reads the llm rows of the results store, takes the bandwidth and peaks they were measured against,
// fits the machine's own (a, c) per phase and format, and saves both; `--on local` predicts with them.
// Its train-gpt and train-resnet50 rows calibrate the training predictor the same way (utilisation of the
// measured peak per workload and precision).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/record.hpp"
#include "predict/roofline.hpp"
#include "predict/training.hpp"

namespace versus::predict {

struct LocalCalibration {
    Platform platform;  // id "local", family "local", device_kind "cpu"
    Calibration calibration;
    TrainingCalibration training;
    int threads = 0;
    int n_rows = 0, n_training_rows = 0;
    std::string host;
};

// From the llm and training records of `host` at the largest thread count they have. Throws UsageError when
// there is nothing to calibrate on.
LocalCalibration calibrate_local(const std::vector<core::Record>& records, const std::string& host, double memory_GB);

// Next to the results store: ~/.local/share/versus/calibration.json.
std::filesystem::path default_calibration_path();
void save_local(const LocalCalibration& c, const std::filesystem::path& path);
// Throws UsageError naming the path, with the command that writes it.
LocalCalibration load_local(const std::filesystem::path& path);

}  // namespace versus::predict
