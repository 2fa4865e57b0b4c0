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

#include "base/collectives.h" /* versus_coll_args: the collectives shared with the comm table */

#ifdef __cplusplus
extern "C" {
#endif

#define VERSUS_BACKEND_ABI 7

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
    VERSUS_OP_ATTENTION = 6,   /* causal GQA attention over an f16 KV cache; dtype is the cache's (F16) */
    VERSUS_OP_TRAIN_GPT = 7,   /* train_gpt_*: dtype F32 or BF16 (the GEMM operands) */
    VERSUS_OP_TRAIN_RESNET = 8 /* train_resnet_*: dtype F32 */
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

/* ---- LLM layers resident on the device (types of the llm_* ops at the end of the table) ---- */

/* One weight tensor as the GGUF file stores it: ne1 rows of ne0 elements in ggml type `type` (a
 * versus_ggml_type of quant-formats.h), blocks as they are, row-major; vectors have ne1 = 1. */
typedef struct versus_llm_weight {
    int32_t type;
    int32_t reserved0;
    int64_t ne0, ne1;
    const void* data; /* host pointer; NULL when the tensor is absent (biases of llama) */
} versus_llm_weight;

/* A decoder block's tensors: norms and biases are F32, matrices any type llm_supports() takes. */
typedef struct versus_llm_layer {
    versus_llm_weight attn_norm, wq, wk, wv, bq, bk, bv, wo;
    versus_llm_weight ffn_norm, w_gate, w_up, w_down;
} versus_llm_layer;

typedef struct versus_llm_hparams {
    int32_t n_embd, n_head, n_head_kv, head_dim, n_ff, n_vocab;
    int32_t rope_neox;  /* 0: rotate pairs (2i, 2i+1) (llama); 1: (i, i + head_dim/2) (qwen2) */
    int32_t qkv_bias;   /* 1: bq, bk, bv are present and added (qwen2) */
    float rms_eps;
    float rope_base;    /* theta_i = pos / rope_pos_scale * rope_base^(-2i/head_dim) / freq_factors[i] */
    float rope_pos_scale; /* linear scaling's divisor of positions, 1 otherwise */
    int32_t reserved0;
    const float* rope_freq_factors; /* head_dim/2 divisors (llama3), NULL when none; copied by llm_load */
} versus_llm_hparams;

/* ---- training steps resident on the device (types of the train_* ops at the end of the table) ---- */

/* A GPT-style decoder as src/train/gpt-config.hpp describes it, and one step's settings. The parameters live in
 * one flat f32 buffer of n_params floats laid out by the host (param_layout); `offsets` gives where each tensor
 * starts, -1 when absent, in this order: wte, wpe, lnf.w, lnf.b, head.w, then per block ln1.w, ln1.b, qkv.w,
 * qkv.b, proj.w, proj.b, ln2.w, ln2.b, fc.w, fc.b, fcproj.w, fcproj.b (5 + 12 n_layer entries). The first
 * n_decayed floats take weight decay (matrices and embeddings), the rest not (norms and biases). */
typedef struct versus_train_gpt_config {
    int32_t n_layer, n_embd, n_head, n_ff, vocab, max_seq;
    int32_t norm;      /* 0 LayerNorm, 1 RMSNorm */
    int32_t mlp;       /* 0 GELU (fc has n_ff rows), 1 SwiGLU (2 n_ff rows: gate, then up) */
    int32_t position;  /* 0 learned table (wpe), 1 RoPE on q and k, pairs (2i, 2i+1) */
    int32_t tied;      /* 1: the head multiplies by wte */
    int32_t bias;      /* 1: every linear layer has a bias */
    int32_t batch, seq;
    int32_t precision; /* 0 f32; 1 bf16 GEMM operands with f32 master weights */
    int32_t attention; /* 0 fused (scores recomputed in the backward pass), 1 naive (seq x seq probabilities kept) */
    int32_t reserved0;
    float norm_eps, rope_base;
    float lr, beta1, beta2, adam_eps, weight_decay, clip; /* AdamW; clip <= 0: no gradient-norm clipping */
    uint64_t n_params, n_decayed;
    const int64_t* offsets; /* read during train_gpt_create only */
} versus_train_gpt_config;

/* ResNet-50 v1.5 as src/train/resnet-config.hpp describes it, on a fixed synthetic batch, SGD with momentum. */
typedef struct versus_train_resnet_config {
    int32_t batch, image, classes, width;
    int32_t small_stem; /* 1: 3x3/1 stem without max pool (the CIFAR form) */
    int32_t precision;  /* 0 f32 */
    float lr, momentum, weight_decay;
    int32_t reserved0;
    uint64_t seed;
} versus_train_resnet_config;

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

    /* Device-side timing of the work on the device's stream. timer_start and timer_stop bracket one interval
     * (they do not nest); timer_read waits for the device and returns the sum of the intervals recorded since
     * the last read, in nanoseconds, so host time between intervals (launch gaps, cache_flush) is left out. */
    int (*timer_start)(void* ctx, int device);
    int (*timer_stop)(void* ctx, int device);
    int (*timer_read)(void* ctx, int device, double* elapsed_ns);
    /* Enqueues an eviction of the device's last-level cache (a write over a buffer twice its size), so that
     * the next op reads its inputs from device memory, as an op of a real model would. */
    int (*cache_flush)(void* ctx, int device);
    /* Launches n_tasks empty tasks as one graph: captured and instantiated on the first call with that count,
     * replayed after. Asynchronous like empty_task. */
    int (*empty_graph)(void* ctx, int device, uint32_t n_tasks);
    /* The device's PCI bus id, "0000:65:00.0", so that host-side tools (NVML) address the same device
     * whatever their device order. */
    int (*pci_bus_id)(void* ctx, int device, char* out, size_t out_len);

    /* ---- LLM layers resident on the device; all optional, NULL where absent ---- */

    /* 1 if weights of this ggml type can live on the device; 0 with last_error() saying why not. */
    int (*llm_supports)(void* ctx, int device, int32_t ggml_type);
    /* Uploads n_layers consecutive decoder blocks (the first ones of the model for an offload, any consecutive
     * range for a layer split; blocks as they are, no requantisation), and the output norm + output matrix when both are non-NULL (then llm_eval returns
     * logits). Allocates the f16 KV cache of those blocks for n_ctx positions, (n_ctx, n_head_kv, head_dim)
     * per block for K and for V, and the working buffers of n_batch tokens. Nothing is kept of the host
     * pointers after it returns. *handle is freed with llm_free. */
    int (*llm_load)(void* ctx, int device, const versus_llm_hparams* hp, int32_t n_layers,
                    const versus_llm_layer* layers, const versus_llm_weight* out_norm, const versus_llm_weight* output,
                    int32_t n_ctx, int32_t n_batch, void** handle);
    /* Runs n_tokens (<= n_batch) at positions pos0 .. pos0 + n_tokens - 1 through the resident blocks, their
     * K and V written into the cache, attending to positions 0 .. pos0 + n_tokens - 1. One host round trip:
     *   x_in  f32 (n_tokens, n_embd), host: the residual stream entering the first block
     *   out   f32, host: the residual after the last block (n_tokens, n_embd) without an output matrix;
     *         with one, logits (n_vocab) of the last token, or (n_tokens, n_vocab) when all_logits is 1.
     * Complete (out written) when it returns. */
    int (*llm_eval)(void* ctx, int device, void* handle, int32_t n_tokens, int32_t pos0, const float* x_in, float* out,
                    int32_t all_logits);
    /* Device bytes held by a handle (weights, KV cache, working buffers), for reports. */
    int (*llm_memory)(void* ctx, int device, void* handle, uint64_t* weight_bytes, uint64_t* kv_bytes,
                      uint64_t* working_bytes);
    int (*llm_free)(void* ctx, int device, void* handle);
    /* (diagnostic) y = x · W^T for one weight as the resident blocks compute it (a matrix-vector product per token
     * when n_tokens is 1, the prefill GEMM otherwise): W uploaded for the call, x f32 (n_tokens, w->ne0) and
     * y f32 (n_tokens, w->ne1) host arrays. For tests and kernel benchmarks; complete when it returns. */
    int (*llm_matmul)(void* ctx, int device, const versus_llm_weight* w, int32_t n_tokens, const float* x, float* y);

    /* (optional) What the measured time of an op holds besides the op itself (a layout change of an input that
     * the device's kernels need), for the result's reason; NULL when nothing. Static text. */
    const char* (*op_note)(void* ctx, int device, versus_op op, versus_dtype dtype);

    /* ---- several devices: collectives (NCCL) and peer-to-peer copies; all optional, NULL where absent ---- */

    /* A new communicator's id (VERSUS_COLL_ID_BYTES), made on one rank and handed to the others before coll_init. */
    int (*coll_id)(void* ctx, uint8_t* id);
    /* Joins a communicator of n_ranks ranks in all, of which this process holds n_local devices: devices[i] is rank
     * first_rank + i. Every rank calls it with the same id. */
    int (*coll_init)(void* ctx, const uint8_t* id, int32_t n_ranks, int32_t first_rank, int32_t n_local,
                     const int32_t* devices, void** comm);
    /* Enqueues one collective per local device, args[i] on devices[i] (device buffers), as one group on the
     * devices' streams; complete when coll_test says so. */
    int (*coll_enqueue)(void* ctx, void* comm, const versus_coll_args* args);
    /* *done = 1 when every local device finished what was enqueued; non-zero on a communicator error. */
    int (*coll_test)(void* ctx, void* comm, int* done);
    /* Frees the communicator; abort = 1 after a timeout or a lost rank (nothing waits for the others). */
    int (*coll_free)(void* ctx, void* comm, int abort);
    /* Whether `device` can reach `peer`'s memory directly (*possible); enable 1 turns that access on, 0 off,
     * -1 only asks. */
    int (*peer_access)(void* ctx, int device, int peer, int enable, int* possible);
    /* Enqueues a copy of `bytes` from src (on src_device) to dst (on dst_device) on dst_device's stream: over the
     * direct link when peer access is on, staged through host memory by the driver when it is off. */
    int (*peer_copy)(void* ctx, int dst_device, void* dst, int src_device, const void* src, uint64_t bytes);
    /* The link between two devices as the driver reports it ("NVLink 4.0 x18", "PCIe") and its bandwidth per
     * direction in GB/s (0 when unknown). */
    int (*peer_link)(void* ctx, int device, int peer, char* out, size_t out_len, double* gbps);
    /* ---- training steps resident on the device; all optional, NULL where absent ---- */

    /* Allocates a GPT training step (parameters copied from `params`, host f32, c->n_params floats; gradients,
     * AdamW's moments, activations for c->batch x c->seq tokens); *handle is freed with train_free. */
    int (*train_gpt_create)(void* ctx, int device, const versus_train_gpt_config* c, const float* params, void** handle);
    /* One step: forward, the mean cross-entropy over targets >= 0, backward, gradient clipping, AdamW. tokens and
     * targets: host int32 (batch, seq). *loss: the mean loss before the update. grads: NULL, or host f32 of n_params
     * receiving the step's gradients before clipping. Complete when it returns. */
    int (*train_gpt_step)(void* ctx, int device, void* handle, const int32_t* tokens, const int32_t* targets, float* loss,
                          float* grads);
    /* The master weights after the last step, host f32 of n_params. */
    int (*train_gpt_params)(void* ctx, int device, void* handle, float* params);
    /* Allocates a ResNet-50 step and its synthetic batch. supports(VERSUS_OP_TRAIN_RESNET) says first whether the
     * device's library for it (cuDNN) is there. */
    int (*train_resnet_create)(void* ctx, int device, const versus_train_resnet_config* c, void** handle);
    /* One SGD step on the fixed batch; *loss the mean cross-entropy before the update. Complete when it returns. */
    int (*train_resnet_step)(void* ctx, int device, void* handle, float* loss);
    /* Device bytes a training handle holds (either kind). */
    int (*train_memory)(void* ctx, int device, void* handle, uint64_t* bytes);
    int (*train_free)(void* ctx, int device, void* handle);
} versus_backend_i;

#define VERSUS_COLL_ID_BYTES 128

/* A plugin exports this symbol. Returns 0 and fills *out, or non-zero with a reason in err. */
typedef int (*versus_backend_init_fn)(uint32_t abi_version, versus_backend_i* out, char* err, size_t err_len);
#define VERSUS_BACKEND_INIT_SYMBOL "versus_backend_init"

#ifdef __cplusplus
}
#endif

#endif
