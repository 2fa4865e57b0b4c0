// gpu-visibility: which GPUs this process can see from the outside of any GPU API: device nodes,
// the NVIDIA driver's version file and the *_VISIBLE_DEVICES variables, with one sentence for people
// (a container started without the NVIDIA runtime sees none, and says so).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace versus::system {

struct GpuVisibility {
    std::vector<std::string> device_nodes;  // "/dev/nvidia0", "/dev/dri/renderD128 (amdgpu)", "/dev/kfd"
    std::vector<std::string> env;           // "CUDA_VISIBLE_DEVICES=0" for each such variable that is set
    std::string nvidia_driver;              // from /proc/driver/nvidia/version, "" if none
    std::string statement;                  // one line for humans, always set
};

// live = also read this process's environment (false in tests with a fake root).
GpuVisibility detect_gpu_visibility(const std::filesystem::path& root = "/", bool live = true);

}  // namespace versus::system
