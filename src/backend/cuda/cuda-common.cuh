// cuda-common: what the files of the CUDA plugin share: the context behind the ABI table, the
// per-device state (stream, cuBLAS handles) and error checks that become last_error() messages.
#pragma once

#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
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

    // Device workload ops (plugin.cu): timer intervals as event pairs, reused; intervals recorded since
    // the last timer_read are [0, timer_used).
    std::vector<std::pair<cudaEvent_t, cudaEvent_t>> timer_events;
    size_t timer_used = 0;
    bool timer_open = false;
    void* flush_buf = nullptr;  // cache_flush target, twice the L2 size
    size_t flush_bytes = 0;
    cudaGraphExec_t graph = nullptr;  // empty_graph's instantiated graph of graph_tasks kernels
    uint32_t graph_tasks = 0;
    std::shared_ptr<struct GemmPlans> gemm_plans;  // gemm.cu: cuBLASLt descriptors and algorithms by shape
    bool ready = false;  // stream and handles created (on first use, so probing creates no context)
    // From NVML on the first device_info (plugin.cu); "" and 0 without it.
    bool link_done = false;
    std::string link;
    double link_gbps = 0;
    double power_limit_w = 0;
};

struct Ctx {
    std::string error;
    std::vector<Device> devices;
    std::string nvml_driver;  // NVIDIA driver version from NVML, "" without it
    bool has_attention = false;  // the LLM half filled `attention` (supports() answers for it)
    std::string peak_method;     // peak_flops()'s method text, valid until the next call
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
// Fills the training entries (train_*) and answers supports() for them (train-ops.cu).
void fill_train_ops(versus_backend_i* t);
int train_supports(void* ctx, int device, versus_op op, versus_dtype dtype);

// ---- the plugin's own ops and kernels (plugin.cu, gemm.cu, kernels.cu) ----

// "f32", "fp8", ... for messages.
const char* dtype_label(versus_dtype d);

// The `gemm` entry of the table (gemm.cu): cuBLASLt for every dtype.
int gemm(void* ctx, int device, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C);
void release_gemm_plans(Device& d);

// Launchers (kernels.cu); each returns the launch's error.
// a = op(b, c) over n doubles, `passes` times, each thread on the same elements every pass.
cudaError_t launch_stream(versus_stream_kind kind, double* a, const double* b, const double* c, double s, uint64_t n,
                          uint32_t passes, int n_sm, cudaStream_t st);
cudaError_t launch_empty(cudaStream_t st);
// out (cols, rows) = in (rows, cols) transposed, bytes.
cudaError_t launch_transpose_u8(const uint8_t* in, uint8_t* out, int rows, int cols, cudaStream_t st);

}  // namespace versus::cuda

// Returns fail(ctx, "<call>: <cuda message>") from the enclosing ABI function on error.
#define VCUDA_CHECK(ctx, call)                                                                         \
    do {                                                                                               \
        const cudaError_t vcuda_e_ = (call);                                                           \
        if (vcuda_e_ != cudaSuccess)                                                                   \
            return ::versus::cuda::fail((ctx), std::string(#call ": ") + cudaGetErrorString(vcuda_e_)); \
    } while (0)
