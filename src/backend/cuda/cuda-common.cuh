// cuda-common: what the files of the CUDA plugin share: the context behind the ABI table, the
// per-device state (stream, cuBLAS handles) and error checks that become last_error() messages.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>
#include <vector>

#include "backend/backend-abi.h"

namespace versus::cuda {

struct Device {
    int ordinal = 0;
    cudaDeviceProp prop{};
    cudaStream_t stream = nullptr;  // the device's default stream of the ABI
    cublasHandle_t blas = nullptr;
    cublasLtHandle_t lt = nullptr;
    void* workspace = nullptr;  // cuBLASLt workspace
    size_t workspace_bytes = 0;
};

struct Ctx {
    std::string error;
    std::vector<Device> devices;
};

inline Ctx* as_ctx(void* p) { return static_cast<Ctx*>(p); }
inline int fail(void* ctx, std::string msg) {
    as_ctx(ctx)->error = std::move(msg);
    return 1;
}

// Makes device d current (cudaSetDevice) and returns its state; nullptr after fail() when d is out
// of range or the call fails.
Device* device(void* ctx, int d);

// Fills the LLM entries of the table (and `attention`), defined in the LLM half of the plugin.
void fill_llm_ops(versus_backend_i* t);

}  // namespace versus::cuda

// Returns fail(ctx, "<call>: <cuda message>") from the enclosing ABI function on error.
#define VCUDA_CHECK(ctx, call)                                                                         \
    do {                                                                                               \
        const cudaError_t vcuda_e_ = (call);                                                           \
        if (vcuda_e_ != cudaSuccess)                                                                   \
            return ::versus::cuda::fail((ctx), std::string(#call ": ") + cudaGetErrorString(vcuda_e_)); \
    } while (0)
