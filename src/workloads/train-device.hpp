// train-device: the training workloads on a device backend with a training step of its own (backend-abi.h,
// train_*: the CUDA plugin). The step is the engine's (train/device-config), resident on the device; one op is
// one step, complete when it returns.
#pragma once

#include <memory>

#include "train/gpt.hpp"
#include "train/resnet.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {

// Throw Skip with the backend's reason when it has no such step or cannot run this precision.
std::unique_ptr<Instance> device_gpt_instance(const Target& t, const train::GptConfig& c, const train::GptOptions& o);
std::unique_ptr<Instance> device_resnet_instance(const Target& t, const train::ResnetConfig& c, int batch, uint64_t seed);

}  // namespace versus::workloads
