/* backend-abi: the function table every backend fills, in plain C so that a backend can live in
 * a dlopen()ed plugin (libversus-cuda.so) built by another compiler driver (nvcc) and still be
 * called safely. The host wraps it in versus::backend::Backend (backend.hpp), which turns error
 * codes into exceptions. Bump VERSUS_BACKEND_ABI on any change to this file.
 *
 * Levels, as in ggml: backend (this table + ctx) -> device (an index) -> the device's default
 * stream. Buffers are opaque device pointers; for host and unified devices they are also valid
 * host pointers (see versus_device_info.host_visible). */
#ifndef VERSUS_BACKEND_ABI_H
#define VERSUS_BACKEND_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VERSUS_BACKEND_ABI 3

typedef enum versus_memory_kind {
    VERSUS_MEMORY_HOST = 0,     /* the device is the host CPU: "transfers" do not exist */
    VERSUS_MEMORY_UNIFIED = 1,  /* shares physical memory with the host (Apple Silicon, GB10) */
    VERSUS_MEMORY_DISCRETE = 2  /* own memory behind a link (PCIe, NVLink-C2C) */
} versus_memory_kind;

typedef enum versus_dtype {
    VERSUS_DTYPE_F32 = 0,
    VERSUS_DTYPE_F16 = 1,
    VERSUS_DTYPE_BF16 = 2,
    VERSUS_DTYPE_I8 = 3,   /* int8 inputs, int32 output */
    VERSUS_DTYPE_TF32 = 4, /* f32 storage, tf32 tensor-core math */
    VERSUS_DTYPE_FP8 = 5,  /* e4m3 inputs */
    VERSUS_DTYPE_F64 = 6
} versus_dtype;

typedef enum versus_op {
    VERSUS_OP_GEMM = 0,       /* C = A*B, dtype selects the kernel */
    VERSUS_OP_STREAM = 1,     /* copy/scale/add/triad over f64 arrays in device memory */
    VERSUS_OP_COPY_H2D = 2,
    VERSUS_OP_COPY_D2H = 3,
    VERSUS_OP_EMPTY_TASK = 4, /* dispatch + synchronise of a task that does nothing */
    VERSUS_OP_PINNED_HOST = 5, /* page-locked host memory for transfers */
    VERSUS_OP_ATTENTION = 6    /* causal GQA attention over an f16 KV cache; dtype is the cache's (F16) */
} versus_op;

typedef enum versus_stream_kind {
    VERSUS_STREAM_COPY = 0,  /* a = b       */
    VERSUS_STREAM_SCALE = 1, /* a = s*b     */
    VERSUS_STREAM_ADD = 2,   /* a = b + c   */
    VERSUS_STREAM_TRIAD = 3  /* a = b + s*c */
} versus_stream_kind;

/* Causal multi-head attention with grouped-query heads (the `attention` op). Queries are the n_q tokens at
 * positions q_pos0 .. q_pos0 + n_q - 1, keys/values positions 0 .. n_kv - 1; the query at position p sees
 * keys 0 .. min(p, n_kv - 1); query head h reads kv head h / (n_head / n_head_kv). Tensors, row-major:
 *   Q    f32 (n_q, n_head, head_dim)
 *   K, V f16, position t's (n_head_kv, head_dim) row at element t * k_row_stride (v_row_stride)
 *   out  f32 (n_q, n_head, head_dim) */
typedef struct versus_attention_shape {
    int32_t n_head, n_head_kv, head_dim;
    int32_t n_q, n_kv, q_pos0;
    float scale; /* applied to q.k, usually 1/sqrt(head_dim) */
    int32_t reserved0;
    uint64_t k_row_stride, v_row_stride; /* in elements, >= n_head_kv * head_dim */
} versus_attention_shape;

typedef struct versus_device_info {
    char name[128];        /* "AMD EPYC 9R14 (2 threads)", "NVIDIA H100 80GB HBM3" */
    char arch[64];         /* "x86_64 avx512", "sm_90", "apple9" */
    char link[64];         /* "PCIe 5.0 x16", "" for host/unified */
    char driver[64];       /* driver / runtime versions, "" if none */
    int32_t memory_kind;   /* versus_memory_kind */
    int32_t host_visible;  /* 1 when device buffers are host pointers */
    int32_t compute_units; /* threads, SMs, GPU cores */
    int32_t reserved0;
    uint64_t mem_total_bytes;
    uint64_t mem_free_bytes;
    uint64_t mem_budget_bytes; /* what one model/workload may use (free VRAM, GPU working-set limit) */
    double link_gbps;          /* theoretical host link bandwidth per direction, 0 if none */
    double clock_mhz;          /* 0 if unknown */
    double power_limit_w;      /* 0 if unknown */
} versus_device_info;

typedef struct versus_backend_i {
    uint32_t abi_version;
    const char* name; /* "cpu", "cuda", "metal" */
    void* ctx;

    /* Message of the last failed call on this ctx (never NULL). */
    const char* (*last_error)(void* ctx);
    void (*destroy)(void* ctx);

    int (*device_count)(void* ctx);
    int (*device_info)(void* ctx, int device, versus_device_info* out);
    /* 1 if the op with this dtype runs on the device; 0 with last_error() saying why not. */
    int (*supports)(void* ctx, int device, versus_op op, versus_dtype dtype);
    /* (optional) worker threads for host-executed work; NULL for GPUs. */
    int (*set_threads)(void* ctx, int n_threads);

    int (*buffer_alloc)(void* ctx, int device, uint64_t bytes, void** out);
    int (*buffer_free)(void* ctx, int device, void* buf);
    /* Host memory for transfer sources/targets; pinned=1 asks for page-locked memory. */
    int (*host_alloc)(void* ctx, int device, uint64_t bytes, int pinned, void** out);
    int (*host_free)(void* ctx, int device, void* p, int pinned);

    /* Asynchronous on the device's default stream; complete after synchronize(). */
    int (*copy_h2d)(void* ctx, int device, void* dst, const void* src, uint64_t bytes);
    int (*copy_d2h)(void* ctx, int device, void* dst, const void* src, uint64_t bytes);
    int (*synchronize)(void* ctx, int device);

    /* C(M,N) = A(M,K) * B(K,N), row-major device buffers. C is f32 (i32 for I8). */
    int (*gemm)(void* ctx, int device, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C);
    /* `passes` back-to-back passes in one dispatch, so cache-resident sizes are not dominated by the
     * dispatch cost; each thread/block keeps its own slice across passes. */
    int (*stream)(void* ctx, int device, versus_stream_kind kind, void* a, const void* b, const void* c, double s,
                  uint64_t n, uint32_t passes);
    int (*empty_task)(void* ctx, int device);

    /* (optional) the device's peak rate for a GEMM dtype at the current settings, in FLOP/s (OP/s
     * for I8), and how it was obtained ("measured: FMA loop", "spec: SMs x clock x ops/clk"). */
    int (*peak_flops)(void* ctx, int device, versus_dtype dtype, double* flops_per_s, const char** method);
    /* (optional) attention (see versus_attention_shape) on device buffers. impl 0 is the naive form: the score
     * matrix goes to `scratch`, at least n_head * n_q * n_kv * 4 bytes; impl 1 the fused (FlashAttention) form,
     * which keeps its own working memory and ignores `scratch` (may be NULL). */
    int (*attention)(void* ctx, int device, int impl, const versus_attention_shape* shape, const void* Q, const void* K,
                     const void* V, void* out, void* scratch);

    /* ---- device workload ops (GPU timing, graphs); all optional, NULL where absent ---- */

    /* ---- LLM layers resident on the device; all optional, NULL where absent ---- */
} versus_backend_i;

/* A plugin exports this symbol. Returns 0 and fills *out, or non-zero with a reason in err. */
typedef int (*versus_backend_init_fn)(uint32_t abi_version, versus_backend_i* out, char* err, size_t err_len);
#define VERSUS_BACKEND_INIT_SYMBOL "versus_backend_init"

#ifdef __cplusplus
}
#endif

#endif
