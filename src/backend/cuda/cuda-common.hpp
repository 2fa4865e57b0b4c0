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

    // Device workload ops (plugin.cpp): timer intervals as event pairs, reused; intervals recorded since
    // the last timer_read are [0, timer_used).
    std::vector<std::pair<cudaEvent_t, cudaEvent_t>> timer_events;
    size_t timer_used = 0;
    bool timer_open = false;
    void* flush_buf = nullptr;  // cache_flush target, twice the L2 size
    size_t flush_bytes = 0;
    cudaGraphExec_t graph = nullptr;  // empty_graph's instantiated graph of graph_tasks kernels
    uint32_t graph_tasks = 0;
    std::shared_ptr<struct GemmPlans> gemm_plans;  // gemm.cpp: cuBLASLt descriptors and algorithms by shape
    // timer_start's hold: a kernel ahead of each interval's start event waits until timer_stop writes the
    // interval's ticket here (pinned host memory), so an idle GPU does not stamp the start before the op is
    // submitted.
    uint32_t* hold_release = nullptr;
    uint32_t hold_ticket = 0;
    // Working memory of ops that need some per call (split attention's partials), grown on demand and kept:
    // allocating per call would return it to the driver at every synchronize (the pool's threshold is 0).
    void* scratch = nullptr;
    size_t scratch_bytes = 0;
    bool ready = false;  // stream and handles created (on first use, so probing creates no context)
    int kernel_image = -1;  // 1: this build has a kernel image the device runs (SASS or PTX), 0: not; -1: unknown
    std::string kernel_image_error;
    // From NVML on the first device_info (plugin.cpp); "" and 0 without it.
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

// True when this build holds kernels the device can run (SASS for its architecture, or PTX the driver
// compiles); else false with *why (the architectures of the build, the runtime's error).
bool has_kernel_image(Device& d, std::string* why);

// The device's scratch memory, at least `bytes` (stream-ordered: the ops that share it run on the device's
// stream); nullptr after fail().
void* device_scratch(void* ctx, Device& d, size_t bytes);

// Fills the LLM entries of the table (and `attention`), defined in the LLM half of the plugin.
void fill_llm_ops(versus_backend_i* t);
// Fills the collective (NCCL) and peer-to-peer entries of the table (collective.cpp).
void fill_multi_device_ops(versus_backend_i* t);
// Fills the training entries (train_*) and answers supports() for them (train-ops.cpp).
void fill_train_ops(versus_backend_i* t);
int train_supports(void* ctx, int device, versus_op op, versus_dtype dtype);

// ---- the plugin's own ops and kernels (plugin.cpp, gemm.cpp, kernels.cu) ----

// "f32", "fp8", ... for messages.
const char* dtype_label(versus_dtype d);

// The `gemm` entry of the table (gemm.cpp): cuBLASLt for every dtype.
int gemm(void* ctx, int device, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C);
void release_gemm_plans(Device& d);
// What a GEMM's time holds besides the product (the one-byte types' transpose of B), or nullptr.
const char* gemm_note(versus_dtype dtype);

// Launchers (kernels.cu); each returns the launch's error.
// a = op(b, c) over n doubles, `passes` times, each thread on the same elements every pass.
cudaError_t launch_stream(versus_stream_kind kind, double* a, const double* b, const double* c, double s, uint64_t n,
                          uint32_t passes, int n_sm, cudaStream_t st);
cudaError_t launch_empty(cudaStream_t st);
// cudaFuncGetAttributes of one of the plugin's kernels on the current device: cudaSuccess when the build has an
// image the device runs.
cudaError_t probe_kernel_image();
// One thread that waits until *release >= ticket, or limit_ns have passed (so that it can never hang).
cudaError_t launch_hold(const volatile uint32_t* release, uint32_t ticket, uint64_t limit_ns, cudaStream_t st);
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
