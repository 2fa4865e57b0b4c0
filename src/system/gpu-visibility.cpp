#include "system/gpu-visibility.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <system_error>

#include <fmt/format.h>

#include "base/text.hpp"
#include "system/files.hpp"

namespace versus::system {

namespace fs = std::filesystem;
using base::contains;
using base::join;
using base::split;

GpuVisibility detect_gpu_visibility(const fs::path& root, bool live) {
    GpuVisibility g;
#if defined(__APPLE__)
    (void)root;
    (void)live;
#if defined(__aarch64__)
    g.statement = "Apple GPU via Metal (unified memory)";
#else
    g.statement = "Metal GPUs (Intel Mac; see the metal backend)";
#endif
    return g;
#else
    std::vector<std::string> nv_gpus, nv_other, render, kfd;
    {
        std::error_code ec;
        for (fs::directory_iterator it(under(root, "/dev"), ec), end; !ec && it != end; it.increment(ec)) {
            const std::string n = it->path().filename().string();
            if (n.rfind("nvidia", 0) != 0) continue;
            const bool numbered = n.size() > 6 && std::all_of(n.begin() + 6, n.end(), ::isdigit);
            (numbered ? nv_gpus : nv_other).push_back("/dev/" + n);
        }
        for (fs::directory_iterator it(under(root, "/dev/dri"), ec), end; !ec && it != end; it.increment(ec)) {
            const std::string n = it->path().filename().string();
            if (n.rfind("renderD", 0) != 0) continue;
            // which kernel driver backs it: amdgpu, i915, xe, nouveau, nvidia-drm, virtio_gpu, ...
            std::error_code ec2;
            const fs::path drv = fs::read_symlink(under(root, "/sys/class/drm/" + n + "/device/driver"), ec2);
            render.push_back(ec2 ? "/dev/dri/" + n : fmt::format("/dev/dri/{} ({})", n, drv.filename().string()));
        }
        if (path_exists(under(root, "/dev/kfd"))) kfd.push_back("/dev/kfd");
    }
    std::sort(nv_gpus.begin(), nv_gpus.end());
    std::sort(nv_other.begin(), nv_other.end());
    std::sort(render.begin(), render.end());
    for (auto* v : {&nv_gpus, &nv_other, &render, &kfd})
        g.device_nodes.insert(g.device_nodes.end(), v->begin(), v->end());

    if (auto ver = read_line(under(root, "/proc/driver/nvidia/version"))) {
        // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ..."
        for (auto tok : split(*ver, ' '))
            if (!tok.empty() && std::isdigit(static_cast<unsigned char>(tok[0])) && contains(tok, ".")) {
                g.nvidia_driver = std::string(tok);
                break;
            }
    }
    if (live) {
        for (const char* k :
             {"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"})
            if (const char* v = std::getenv(k)) g.env.push_back(fmt::format("{}={}", k, v));
    }

    std::vector<std::string> parts;
    if (!nv_gpus.empty())
        parts.push_back(fmt::format("NVIDIA: {} GPU node{} ({}){}", nv_gpus.size(), nv_gpus.size() > 1 ? "s" : "",
                                    join(nv_gpus, ", "), g.nvidia_driver.empty() ? "" : ", driver " + g.nvidia_driver));
    else if (!nv_other.empty())
        parts.push_back("NVIDIA control nodes but no /dev/nvidiaN: no GPU passed in");
    if (!render.empty()) parts.push_back("DRM render nodes " + join(render, ", "));
    if (!kfd.empty()) parts.push_back("/dev/kfd (AMD ROCm)");
    if (parts.empty()) parts.push_back("none visible (no /dev/nvidia*, /dev/dri/renderD*, /dev/kfd)");
    for (const auto& e : g.env) {
        parts.push_back(e);
        if (e.rfind("NVIDIA_VISIBLE_DEVICES=", 0) == 0 && nv_gpus.empty() && e != "NVIDIA_VISIBLE_DEVICES=void")
            parts.push_back("but no /dev/nvidia* nodes: start the container with the NVIDIA runtime (--gpus)");
        if (e == "CUDA_VISIBLE_DEVICES=" || e == "CUDA_VISIBLE_DEVICES=-1") parts.push_back("(hides every CUDA GPU)");
    }
    g.statement = join(parts, "; ");
    return g;
#endif
}

}  // namespace versus::system
