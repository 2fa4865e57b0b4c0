// test-cuda: what the CUDA tests share. A GPU test that cannot run here skips with the reason; with
// VERSUS_EXPECT_GPU=1 in the environment (a machine that has a GPU: bench/gpu-check.sh sets it) the same
// test fails instead, so that a plugin that did not load cannot pass for a GPU run. And where the binaries
// under test are.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "backend/backend.hpp"

#ifndef VERSUS_CUDA_PLUGIN
#define VERSUS_CUDA_PLUGIN ""  // built without the plugin
#define VERSUS_CUDA_PLUGIN_IMPL ""
#endif

namespace versus::test {

// The binaries under test: the build tree's (paths compiled in), or those of VERSUS_TEST_BIN_DIR when it is set
// (a package run on another machine, docs/cuda.md). "" stays "" (the plugin not built).
inline bool in_package() {
    const char* d = std::getenv("VERSUS_TEST_BIN_DIR");
    return d && *d;
}
inline std::string built(const std::string& path) {
    if (path.empty() || !in_package()) return path;
    return (std::filesystem::path(std::getenv("VERSUS_TEST_BIN_DIR")) / std::filesystem::path(path).filename())
        .string();
}
inline std::string versus_binary() { return built(VERSUS_BINARY); }
inline std::string cuda_plugin() { return built(VERSUS_CUDA_PLUGIN); }
inline std::string cuda_plugin_impl() { return built(VERSUS_CUDA_PLUGIN_IMPL); }

inline bool gpu_expected() {
    const char* v = std::getenv("VERSUS_EXPECT_GPU");
    return v && *v && std::string(v) != "0";
}

// The CUDA backend of the build's plugin, loaded once per process (the plugin's folder first on the search
// path); nullptr with the reason when the plugin is not built or does not load here.
inline backend::Backend* cuda_backend(std::string* why) {
    if (cuda_plugin().empty()) {
        *why = "the CUDA plugin is not built (VERSUS_CUDA=OFF or no nvcc at configure time)";
        return nullptr;
    }
    static std::vector<backend::BackendSlot> slots = [] {
        ::setenv("VERSUS_PLUGIN_DIR", std::filesystem::path(cuda_plugin()).parent_path().c_str(), 1);
        return backend::load_backends();
    }();
    for (auto& s : slots)
        if (s.name == "cuda") {
            if (!s.backend) *why = "cuda: not available (" + s.reason + ")";
            return s.backend.get();
        }
    *why = "no cuda backend slot";
    return nullptr;
}

}  // namespace versus::test

// Skips the test with `why`, or fails it where a GPU is expected. Returns from the test body.
#define VERSUS_SKIP_WITHOUT_GPU(why)                                                        \
    do {                                                                                    \
        if (::versus::test::gpu_expected()) FAIL() << "VERSUS_EXPECT_GPU=1, but " << (why); \
        GTEST_SKIP() << (why);                                                              \
    } while (0)
