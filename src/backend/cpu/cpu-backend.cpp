// cpu-backend: the host CPU as a backend device. f32/f64 GEMM go through CBLAS (OpenBLAS on
// Linux, Accelerate on macOS); bf16, f16 and int8 GEMM, STREAM and the FMA peak loop use the
// kernel ladder (kernels.hpp). "Device" memory is host memory, so copies are memcpy and the
// transfer workload reports zero-copy rows.
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "backend/backend-abi.h"
#include "backend/cpu/attention.hpp"
#include "backend/cpu/cpu-peak.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/thread-pool.hpp"
#include "system/cpu-features.hpp"
#include "system/cpu.hpp"
#include "system/memory.hpp"

#if defined(VERSUS_BLAS_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

namespace versus::cpu {
namespace {

struct CpuContext {
    std::string error;
    int threads = ThreadPool::available_threads();
    std::unique_ptr<ThreadPool> pool = std::make_unique<ThreadPool>(threads);
    FmaPeak peak;  // of `peak_threads` threads; topped up at every query
    int peak_threads = 0;
};

CpuContext* ctx_of(void* p) { return static_cast<CpuContext*>(p); }

int fail(void* ctx, std::string msg) {
    ctx_of(ctx)->error = std::move(msg);
    return 1;
}

const char* last_error(void* ctx) { return ctx_of(ctx)->error.c_str(); }
void destroy(void* ctx) { delete ctx_of(ctx); }
int device_count(void*) { return 1; }

void set_blas_threads(int n) {
#if defined(VERSUS_BLAS_OPENBLAS)
    openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

int set_threads(void* ctx, int n) {
    auto* c = ctx_of(ctx);
    if (n < 1) return fail(ctx, fmt::format("thread count {} must be at least 1", n));
    if (n != c->threads) {
        c->pool.reset();
        c->pool = std::make_unique<ThreadPool>(n);
        c->threads = n;
    }
    set_blas_threads(n);
    return 0;
}

void copy_name(char* dst, size_t cap, const std::string& s) {
    std::snprintf(dst, cap, "%s", s.c_str());
}

int device_info(void* ctx, int device, versus_device_info* out) {
    if (device != 0) return fail(ctx, fmt::format("no CPU device {}", device));
    auto* c = ctx_of(ctx);
    // Called rarely; only the CPU and memory concerns of the probe are needed to name the device.
    static const auto [cpu, mem] = [] {
        std::vector<std::string> unknown;
        return std::pair{system::probe_cpu(unknown), system::read_memory(unknown)};
    }();
    *out = versus_device_info{};
    copy_name(out->name, sizeof(out->name), cpu.cpu_model.empty() ? "CPU" : cpu.cpu_model);
    copy_name(out->arch, sizeof(out->arch), fmt::format("{} {}", system::cpu_features().arch, kernels_best().isa));
    out->memory_kind = VERSUS_MEMORY_HOST;
    out->host_visible = 1;
    out->compute_units = c->threads;
    out->mem_total_bytes = mem.mem_total_bytes;
    out->mem_free_bytes = system::memory_available_bytes();
    out->mem_budget_bytes = out->mem_free_bytes;
    out->clock_mhz = cpu.clock_mhz;
    return 0;
}

// 1 = supported; 0 with the reason in last_error.
int unsupported(void* ctx, std::string why) {
    fail(ctx, std::move(why));
    return 0;
}

int supports(void* ctx, int device, versus_op op, versus_dtype dtype) {
    switch (op) {
        case VERSUS_OP_GEMM:
            if (dtype == VERSUS_DTYPE_F32 || dtype == VERSUS_DTYPE_F64 || dtype == VERSUS_DTYPE_BF16 ||
                dtype == VERSUS_DTYPE_F16 || dtype == VERSUS_DTYPE_I8)
                return 1;
            return unsupported(ctx, fmt::format("no CPU GEMM kernel for {}", dtype == VERSUS_DTYPE_FP8    ? "fp8"
                                                                             : dtype == VERSUS_DTYPE_TF32 ? "tf32"
                                                                                                          : "this dtype"));
        case VERSUS_OP_STREAM:
        case VERSUS_OP_COPY_H2D:
        case VERSUS_OP_COPY_D2H:
        case VERSUS_OP_EMPTY_TASK: return 1;
        case VERSUS_OP_PINNED_HOST: return unsupported(ctx, "host device: its memory is host memory, nothing to pin");
        case VERSUS_OP_ATTENTION:
            return dtype == VERSUS_DTYPE_F16 ? 1 : unsupported(ctx, "CPU attention reads an f16 KV cache only");
    }
    return unsupported(ctx, "unknown op");
}

// 64-byte alignment keeps every kernel's vector loads on one cache line.
void* aligned(uint64_t bytes) {
    const uint64_t rounded = (std::max<uint64_t>(bytes, 1) + 63) / 64 * 64;
    return std::aligned_alloc(64, rounded);
}

int buffer_alloc(void* ctx, int, uint64_t bytes, void** out) {
    *out = aligned(bytes);
    return *out ? 0 : fail(ctx, fmt::format("out of memory allocating {} bytes", bytes));
}
int buffer_free(void*, int, void* p) {
    std::free(p);
    return 0;
}
int host_alloc(void* ctx, int, uint64_t bytes, int, void** out) { return buffer_alloc(ctx, 0, bytes, out); }
int host_free(void*, int, void* p, int) {
    std::free(p);
    return 0;
}
int copy(void*, int, void* dst, const void* src, uint64_t bytes) {
    std::memcpy(dst, src, bytes);
    return 0;
}
int synchronize(void*, int) { return 0; }

int gemm(void* ctx, int, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C) {
    auto& pool = *ctx_of(ctx)->pool;
    const auto& k = kernels_best();
    switch (dtype) {
        case VERSUS_DTYPE_F32:
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, static_cast<const float*>(A), K,
                        static_cast<const float*>(B), N, 0.0f, static_cast<float*>(C), N);
            return 0;
        case VERSUS_DTYPE_F64:
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0, static_cast<const double*>(A), K,
                        static_cast<const double*>(B), N, 0.0, static_cast<double*>(C), N);
            return 0;
        case VERSUS_DTYPE_BF16:
            k.gemm_bf16(M, N, K, static_cast<const bf16_t*>(A), static_cast<const bf16_t*>(B), static_cast<float*>(C),
                        pool);
            return 0;
        case VERSUS_DTYPE_F16:
            k.gemm_f16(M, N, K, static_cast<const f16_t*>(A), static_cast<const f16_t*>(B), static_cast<float*>(C),
                       pool);
            return 0;
        case VERSUS_DTYPE_I8:
            k.gemm_i8(M, N, K, static_cast<const int8_t*>(A), static_cast<const int8_t*>(B), static_cast<int32_t*>(C),
                      pool);
            return 0;
        default: return fail(ctx, "no CPU GEMM kernel for this dtype");
    }
}

int stream(void* ctx, int, versus_stream_kind kind, void* a, const void* b, const void* c, double s, uint64_t n,
           uint32_t passes) {
    static constexpr StreamOp ops[] = {StreamOp::COPY, StreamOp::SCALE, StreamOp::ADD, StreamOp::TRIAD};
    if (kind < 0 || kind > VERSUS_STREAM_TRIAD) return fail(ctx, "unknown stream kind");
    const auto& k = kernels_best();
    auto* A = static_cast<double*>(a);
    auto* B = static_cast<const double*>(b);
    auto* C = static_cast<const double*>(c);
    auto& pool = *ctx_of(ctx)->pool;
    if (passes <= 1) {
        k.stream(ops[kind], A, B, C, s, n, pool);
        return 0;
    }
    // Each thread repeats the passes over its own contiguous slice (the slice the kernel's own split
    // would give it), so cache-resident slices stay in that core's caches and one dispatch serves all.
    pool.run([&](int t, int nt) {
        const uint64_t per = (n / nt + 7) / 8 * 8;  // keep slices 64-byte aligned
        const uint64_t begin = std::min<uint64_t>(n, per * t), end = t == nt - 1 ? n : std::min<uint64_t>(n, per * (t + 1));
        if (begin >= end) return;
        ThreadPool solo(1);
        for (uint32_t p = 0; p < passes; ++p)
            k.stream(ops[kind], A + begin, B + begin, C ? C + begin : nullptr, s, end - begin, solo);
    });
    return 0;
}

// Attention through attention.hpp on the fastest rung for the head_dim; shape errors come back as messages.
int attention(void* ctx, int, int impl, const versus_attention_shape* shape, const void* Q, const void* K,
              const void* V, void* out, void* scratch) {
    const AttentionShape s{shape->n_head, shape->n_head_kv, shape->head_dim, shape->n_q,
                           shape->n_kv,   shape->q_pos0,    shape->scale};
    auto& pool = *ctx_of(ctx)->pool;
    try {
        if (impl == 0) {
            if (!scratch && attention_naive_scratch_bytes(s) > 0) return fail(ctx, "naive attention needs a scratch buffer");
            attention_naive(s, static_cast<const float*>(Q), static_cast<const f16_t*>(K), shape->k_row_stride,
                            static_cast<const f16_t*>(V), shape->v_row_stride, static_cast<float*>(out),
                            static_cast<float*>(scratch), pool);
        } else if (impl == 1) {
            attention_fused(s, static_cast<const float*>(Q), static_cast<const f16_t*>(K), shape->k_row_stride,
                            static_cast<const f16_t*>(V), shape->v_row_stride, static_cast<float*>(out), pool);
        } else {
            return fail(ctx, fmt::format("unknown attention impl {} (0 naive, 1 fused)", impl));
        }
    } catch (const std::exception& e) {
        return fail(ctx, e.what());
    }
    return 0;
}

int empty_task(void* ctx, int) {
    ctx_of(ctx)->pool->run([](int, int) {});
    return 0;
}

int peak_flops(void* ctx, int, versus_dtype dtype, double* out, const char** method) {
    auto* c = ctx_of(ctx);
    if (c->peak_threads != c->threads) {
        c->peak = FmaPeak{};
        c->peak_threads = c->threads;
    }
    measure_fma_peak(*c->pool, c->peak);
    const auto& f = system::cpu_features();
    const double p = c->peak.total();
    switch (dtype) {
        case VERSUS_DTYPE_F32:
        case VERSUS_DTYPE_F16:  // f16 is converted and multiplied in f32
            *out = p;
            *method = "measured: f32 FMA loop on every thread, best of many rounds";
            return 0;
        case VERSUS_DTYPE_F64:
            *out = p / 2;
            *method = "measured f32 FMA loop / 2 (half the lanes)";
            return 0;
        case VERSUS_DTYPE_BF16:
            *out = f.avx512_bf16 || f.bf16 ? 2 * p : p;
            *method = f.avx512_bf16 || f.bf16 ? "measured f32 FMA loop x 2 (bf16 dot: 2 products per f32 lane)"
                                              : "measured f32 FMA loop (bf16 widened to f32)";
            return 0;
        case VERSUS_DTYPE_I8:
            *out = (f.avx512_vnni || f.avx_vnni || f.asimd_dotprod) ? 4 * p : 2 * p;
            *method = (f.avx512_vnni || f.avx_vnni || f.asimd_dotprod)
                          ? "measured f32 FMA loop x 4 (int8 dot: 4 MACs per 32-bit lane)"
                          : "measured f32 FMA loop x 2 (int8 via 16-bit multiply-add)";
            return 0;
        default: return fail(ctx, "no peak for this dtype");
    }
}

}  // namespace
}  // namespace versus::cpu

extern "C" int versus_cpu_backend_init(uint32_t abi_version, versus_backend_i* out, char* err, size_t err_len) {
    using namespace versus::cpu;
    if (abi_version != VERSUS_BACKEND_ABI) {
        std::snprintf(err, err_len, "ABI %u requested, %u built", abi_version, VERSUS_BACKEND_ABI);
        return 1;
    }
    auto* ctx = new CpuContext();
    set_blas_threads(ctx->threads);
    *out = versus_backend_i{
        /* .abi_version  = */ VERSUS_BACKEND_ABI,
        /* .name         = */ "cpu",
        /* .ctx          = */ ctx,
        /* .last_error   = */ last_error,
        /* .destroy      = */ destroy,
        /* .device_count = */ device_count,
        /* .device_info  = */ device_info,
        /* .supports     = */ supports,
        /* .set_threads  = */ set_threads,
        /* .buffer_alloc = */ buffer_alloc,
        /* .buffer_free  = */ buffer_free,
        /* .host_alloc   = */ host_alloc,
        /* .host_free    = */ host_free,
        /* .copy_h2d     = */ copy,
        /* .copy_d2h     = */ copy,
        /* .synchronize  = */ synchronize,
        /* .gemm         = */ gemm,
        /* .stream       = */ stream,
        /* .empty_task   = */ empty_task,
        /* .peak_flops   = */ peak_flops,
        /* .attention    = */ attention,
    };
    return 0;
}

namespace versus::cpu {

// For the context block: which BLAS does the f32 work, and with how many threads.
std::string blas_description(int* threads) {
#if defined(VERSUS_BLAS_OPENBLAS)
    *threads = openblas_get_num_threads();
    std::string config = openblas_get_config();
    return fmt::format("{} (core {}, {} threads)", config, openblas_get_corename(), *threads);
#else
    *threads = 0;
    return "Accelerate";
#endif
}

}  // namespace versus::cpu
