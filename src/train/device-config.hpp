// device-config: the training engine's configurations in the form of the backend table's train_* entries
// (backend-abi.h), so that a device backend (the CUDA plugin) runs the same step as the CPU engine: the
// same shapes, parameter layout and optimizer settings.
#pragma once

#include <cstdint>
#include <vector>

#include "backend/backend-abi.h"
#include "train/gpt.hpp"
#include "train/resnet.hpp"

namespace versus::train {

// `abi.offsets` points into `offsets`: keep the object alive (and unmoved) while the table reads it.
struct DeviceGptConfig {
    versus_train_gpt_config abi{};
    std::vector<int64_t> offsets;
    DeviceGptConfig() = default;
    DeviceGptConfig(const DeviceGptConfig&) = delete;
    DeviceGptConfig& operator=(const DeviceGptConfig&) = delete;
};
// Fills *out from the shape, the step's options and the parameter layout of param_layout(c).
void device_gpt_config(const GptConfig& c, const GptOptions& o, DeviceGptConfig* out);

versus_train_resnet_config device_resnet_config(const ResnetConfig& c, int batch, uint64_t seed, const SgdConfig& sgd);

}  // namespace versus::train
