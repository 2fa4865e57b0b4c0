// llm: decoder blocks of an LLM resident on the GPU, behind the llm_* entries of the ABI table
// (backend-abi.h). llm_load uploads the blocks' tensors as the file stores them into one allocation,
// and allocates the f16 KV cache and the working buffers of n_batch tokens; llm_eval runs the blocks
// on the device's stream with one host round trip: the residual stream in, the residual (or the
// logits, when the output matrix is resident too) out. The forward pass is the CPU engine's
// (src/llm/model.cpp): RMSNorm, q/k/v (+ qwen2 biases), RoPE, K/V into the cache, fused attention,
// output projection, residual; RMSNorm, gate/up, SwiGLU, down, residual.
//
// Matrix products: one token -> matvec on the blocks (llm-quant.cu); several -> the weight dequantized to
// f16 in a scratch matrix, then cublasGemmEx on the tensor cores with f32 accumulation (F32 weights: an
// f32 GEMM on the weights as they are).
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "backend/cuda/cuda-common.hpp"
#include "backend/cuda/llm-kernels.cuh"

namespace versus::cuda {

namespace {

using llm::AttentionArgs;

// ---- small kernels -------------------------------------------------------------------------------

// out[row] = in[row] * rsqrt(mean(in[row]^2) + eps) * g; one block per row.
__global__ void rmsnorm_kernel(const float* in, const float* g, float* out, int n, float eps) {
    __shared__ float red[32];
    const float* x = in + static_cast<size_t>(blockIdx.x) * n;
    float* y = out + static_cast<size_t>(blockIdx.x) * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) ss += x[i] * x[i];
    for (int o = 16; o > 0; o /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    if (threadIdx.x % 32 == 0) red[threadIdx.x / 32] = ss;
    __syncthreads();
    if (threadIdx.x < 32) {
        ss = threadIdx.x < blockDim.x / 32 ? red[threadIdx.x] : 0.0f;
        for (int o = 16; o > 0; o /= 2) ss += __shfl_xor_sync(0xffffffffu, ss, o);
        if (threadIdx.x == 0) red[0] = ss;
    }
    __syncthreads();
    const float scale = 1.0f / sqrtf(red[0] / static_cast<float>(n) + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x) y[i] = x[i] * scale * g[i];
}

// cos/sin (n, half) of every (token, frequency) of the batch, in double as the CPU engine computes them.
__global__ void rope_table_kernel(int pos0, int n, int half, int head_dim, float base, float pos_scale,
                                  const float* freq_factors, float* cs, float* sn) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n * half) return;
    const int t = i / half, f = i % half;
    const double p = static_cast<double>(pos0 + t) / static_cast<double>(pos_scale);
    double theta = p * pow(static_cast<double>(base), -2.0 * f / static_cast<double>(head_dim));
    if (freq_factors) theta /= static_cast<double>(freq_factors[f]);
    cs[i] = static_cast<float>(cos(theta));
    sn[i] = static_cast<float>(sin(theta));
}

// Adds the biases (qwen2), rotates q in place and k, and stores k and v as f16 into the cache rows of
// positions pos0 .. pos0 + n - 1. One thread per (token, head, rotation pair) over the q and kv heads.
__global__ void rope_store_kernel(float* q, const float* k, const float* v, const float* bq, const float* bk,
                                  const float* bv, const float* cs, const float* sn, __half* kc, __half* vc, int n,
                                  int pos0, int n_head, int n_head_kv, int hd, int neox) {
    const int half = hd / 2, heads = n_head + n_head_kv;
    const int idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= n * heads * half) return;
    const int t = idx / (heads * half), h = (idx / half) % heads, i = idx % half;
    const int a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
    const float c = cs[t * half + i], s = sn[t * half + i];
    if (h < n_head) {
        float* x = q + (static_cast<size_t>(t) * n_head + h) * hd;
        const float x0 = x[a] + (bq ? bq[h * hd + a] : 0.0f), x1 = x[b] + (bq ? bq[h * hd + b] : 0.0f);
        x[a] = x0 * c - x1 * s;
        x[b] = x0 * s + x1 * c;
        return;
    }
    const int g = h - n_head, kvd = n_head_kv * hd;
    const float* x = k + static_cast<size_t>(t) * kvd + g * hd;
    const float x0 = x[a] + (bk ? bk[g * hd + a] : 0.0f), x1 = x[b] + (bk ? bk[g * hd + b] : 0.0f);
    __half* kd = kc + static_cast<size_t>(pos0 + t) * kvd + g * hd;
    kd[a] = __float2half(x0 * c - x1 * s);
    kd[b] = __float2half(x0 * s + x1 * c);
    const float* y = v + static_cast<size_t>(t) * kvd + g * hd;
    __half* vd = vc + static_cast<size_t>(pos0 + t) * kvd + g * hd;
    vd[a] = __float2half(y[a] + (bv ? bv[g * hd + a] : 0.0f));
    vd[b] = __float2half(y[b] + (bv ? bv[g * hd + b] : 0.0f));
}

__global__ void add_kernel(float* x, const float* y, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}

// gate = silu(gate) * up
__global__ void swiglu_kernel(float* gate, const float* up, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

__global__ void to_half_kernel(const float* x, __half* y, int64_t n) {
    const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) y[i] = __float2half(x[i]);
}

unsigned blocks_for(int64_t n, int threads = 256) { return static_cast<unsigned>((n + threads - 1) / threads); }

// ---- the resident model ---------------------------------------------------------------------------

struct DevWeight {
    int32_t type = VERSUS_GGML_TYPE_F32;
    int64_t ne0 = 0, ne1 = 1;
    const uint8_t* p = nullptr;  // device
};

struct DevLayer {
    DevWeight attn_norm, wq, wk, wv, bq, bk, bv, wo, ffn_norm, w_gate, w_up, w_down;
};

struct Resident {
    versus_llm_hparams hp{};
    int n_ctx = 0, n_batch = 0;
    bool output = false;
    std::vector<DevLayer> layers;
    DevWeight out_norm, out;

    void* weights = nullptr;
    __half* kv = nullptr;  // per layer: K (n_ctx, n_head_kv, head_dim), then V alike
    void* work = nullptr;
    uint64_t weight_bytes = 0, kv_bytes = 0, work_bytes = 0;

    // Views into `work`.
    float *x, *xn, *q, *k, *v, *att, *tmp, *gate, *up, *logits, *cs, *sn, *freq, *split_ws;
    __half *xh, *wh;
    // Which activations xh holds, so that q/k/v and gate/up convert their shared input once. Every kernel that
    // writes activations forgets it (wrote()): an F32 matrix converts nothing, and its neighbours must not reuse
    // an older conversion of a buffer written since.
    const float* xh_src = nullptr;
    int xh_rows = 0;
    void wrote(const float* p) {
        if (p == xh_src) xh_src = nullptr;
    }
    int max_split = 1;

    __half* k_cache(int l) const { return kv + static_cast<size_t>(2 * l) * n_ctx * hp.n_head_kv * hp.head_dim; }
    __half* v_cache(int l) const { return k_cache(l) + static_cast<size_t>(n_ctx) * hp.n_head_kv * hp.head_dim; }
};

void release(Resident* r) {
    if (!r) return;
    cudaFree(r->weights);
    cudaFree(r->kv);
    cudaFree(r->work);
    delete r;
}
using ResidentPtr = std::unique_ptr<Resident, void (*)(Resident*)>;

// 0, or fail() with the cuBLAS status.
int blas(void* ctx, cublasStatus_t st, const char* what) {
    return st == CUBLAS_STATUS_SUCCESS ? 0 : fail(ctx, std::string(what) + ": " + cublasGetStatusString(st));
}

// y (n, w.ne1) = x (n, w.ne0) · W^T.
int matmul(void* ctx, Device& dev, Resident& r, const DevWeight& w, const float* x, int n, float* y) {
    r.wrote(y);
    if (n == 1) {
        VCUDA_CHECK(ctx, llm::matvec(w.type, w.p, w.ne0, w.ne1, x, y, dev.stream));
        return 0;
    }
    // Column-major view: Y^T (ne1, n) = W (ne1, ne0; stored as W^T in column-major) · X^T (ne0, n).
    const float one = 1.0f, zero = 0.0f;
    if (int rc = blas(ctx, cublasSetStream(dev.blas, dev.stream), "cublasSetStream")) return rc;
    if (w.type == VERSUS_GGML_TYPE_F32) {
        return blas(ctx,
                    cublasGemmEx(dev.blas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.ne1), n, static_cast<int>(w.ne0),
                                 &one, w.p, CUDA_R_32F, static_cast<int>(w.ne0), x, CUDA_R_32F, static_cast<int>(w.ne0),
                                 &zero, y, CUDA_R_32F, static_cast<int>(w.ne1), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                    "cublasGemmEx (f32)");
    }
    VCUDA_CHECK(ctx, llm::dequantize_f16(w.type, w.p, w.ne0, w.ne1, r.wh, dev.stream));
    if (r.xh_src != x || r.xh_rows != n) {
        const int64_t count = static_cast<int64_t>(n) * w.ne0;
        to_half_kernel<<<blocks_for(count), 256, 0, dev.stream>>>(x, r.xh, count);
        VCUDA_CHECK(ctx, cudaGetLastError());
        r.xh_src = x;
        r.xh_rows = n;
    }
    return blas(ctx,
                cublasGemmEx(dev.blas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(w.ne1), n, static_cast<int>(w.ne0), &one,
                             r.wh, CUDA_R_16F, static_cast<int>(w.ne0), r.xh, CUDA_R_16F, static_cast<int>(w.ne0), &zero,
                             y, CUDA_R_32F, static_cast<int>(w.ne1), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                "cublasGemmEx (f16)");
}

int rmsnorm(void* ctx, Device& dev, Resident& r, const float* in, const DevWeight& g, float* out, int rows) {
    rmsnorm_kernel<<<rows, 256, 0, dev.stream>>>(in, reinterpret_cast<const float*>(g.p), out, r.hp.n_embd,
                                                 r.hp.rms_eps);
    r.wrote(out);
    VCUDA_CHECK(ctx, cudaGetLastError());
    return 0;
}

int add(void* ctx, Device& dev, float* x, const float* y, int64_t n) {
    add_kernel<<<blocks_for(n), 256, 0, dev.stream>>>(x, y, n);
    VCUDA_CHECK(ctx, cudaGetLastError());
    return 0;
}

#define VLLM_TRY(expr)           \
    do {                         \
        if (int rc_ = (expr)) return rc_; \
    } while (0)

int layer_forward(void* ctx, Device& dev, Resident& r, int l, int n, int pos0) {
    const versus_llm_hparams& hp = r.hp;
    const DevLayer& L = r.layers[static_cast<size_t>(l)];
    const int E = hp.n_embd, F = hp.n_ff;
    // attention block
    VLLM_TRY(rmsnorm(ctx, dev, r, r.x, L.attn_norm, r.xn, n));
    VLLM_TRY(matmul(ctx, dev, r, L.wq, r.xn, n, r.q));
    VLLM_TRY(matmul(ctx, dev, r, L.wk, r.xn, n, r.k));
    VLLM_TRY(matmul(ctx, dev, r, L.wv, r.xn, n, r.v));
    const int pairs = n * (hp.n_head + hp.n_head_kv) * (hp.head_dim / 2);
    auto bias = [&](const DevWeight& b) { return hp.qkv_bias ? reinterpret_cast<const float*>(b.p) : nullptr; };
    rope_store_kernel<<<blocks_for(pairs), 256, 0, dev.stream>>>(r.q, r.k, r.v, bias(L.bq), bias(L.bk), bias(L.bv),
                                                                  r.cs, r.sn, r.k_cache(l), r.v_cache(l), n, pos0,
                                                                  hp.n_head, hp.n_head_kv, hp.head_dim, hp.rope_neox);
    VCUDA_CHECK(ctx, cudaGetLastError());
    const size_t kvd = static_cast<size_t>(hp.n_head_kv) * hp.head_dim;
    const AttentionArgs a{hp.n_head, hp.n_head_kv, hp.head_dim, n, pos0 + n, pos0,
                          1.0f / std::sqrt(static_cast<float>(hp.head_dim)), r.q, r.k_cache(l), r.v_cache(l), kvd,
                          kvd, r.att};
    const int n_split = std::min(r.max_split, llm::fused_split_count(a, dev.prop.multiProcessorCount));
    VCUDA_CHECK(ctx, llm::attention_fused(a, n_split, r.split_ws, dev.stream));
    r.wrote(r.att);
    VLLM_TRY(matmul(ctx, dev, r, L.wo, r.att, n, r.tmp));
    VLLM_TRY(add(ctx, dev, r.x, r.tmp, static_cast<int64_t>(n) * E));
    // feed-forward block
    VLLM_TRY(rmsnorm(ctx, dev, r, r.x, L.ffn_norm, r.xn, n));
    VLLM_TRY(matmul(ctx, dev, r, L.w_gate, r.xn, n, r.gate));
    VLLM_TRY(matmul(ctx, dev, r, L.w_up, r.xn, n, r.up));
    swiglu_kernel<<<blocks_for(static_cast<int64_t>(n) * F), 256, 0, dev.stream>>>(r.gate, r.up,
                                                                                    static_cast<int64_t>(n) * F);
    r.wrote(r.gate);
    VCUDA_CHECK(ctx, cudaGetLastError());
    VLLM_TRY(matmul(ctx, dev, r, L.w_down, r.gate, n, r.tmp));
    VLLM_TRY(add(ctx, dev, r.x, r.tmp, static_cast<int64_t>(n) * E));
    return 0;
}

// ---- ABI entries -----------------------------------------------------------------------------------

int llm_supports(void* ctx, int device, int32_t type) {
    Device* dev = cuda::device(ctx, device);
    if (!dev) return 0;
    if (std::string why; !has_kernel_image(*dev, &why)) {
        fail(ctx, why);
        return 0;
    }
    if (llm::weight_type_supported(type)) return 1;
    fail(ctx, "ggml type " + std::to_string(type) +
                  " has no CUDA kernel in versus (F32, F16, BF16, Q4_0, Q8_0, Q4_K, Q5_K, Q6_K have)");
    return 0;
}

// A tensor's place in the weight allocation, checked against the model's shape.
struct Upload {
    const versus_llm_weight* src;
    DevWeight* dst;
    size_t offset, bytes;
};

int check_weight(void* ctx, const versus_llm_weight& w, const char* name, int64_t ne0, int64_t ne1, bool f32) {
    if (!w.data) return fail(ctx, std::string("llm_load: tensor ") + name + " is missing");
    if (w.ne0 != ne0 || w.ne1 != ne1)
        return fail(ctx, std::string("llm_load: tensor ") + name + " is " + std::to_string(w.ne0) + " x " +
                             std::to_string(w.ne1) + ", the model needs " + std::to_string(ne0) + " x " +
                             std::to_string(ne1));
    if (f32 ? w.type != VERSUS_GGML_TYPE_F32 : !llm::weight_type_supported(w.type))
        return fail(ctx, std::string("llm_load: tensor ") + name + " has ggml type " + std::to_string(w.type) +
                             (f32 ? ", norms and biases must be F32" : ", which has no CUDA kernel in versus"));
    if (ne0 % llm::weight_block_elems(w.type) != 0)
        return fail(ctx, std::string("llm_load: tensor ") + name + " rows of " + std::to_string(ne0) +
                             " values do not split into blocks of " + std::to_string(llm::weight_block_elems(w.type)));
    return 0;
}

// The shapes and counts llm_load supports; non-zero (and the reason in ctx) otherwise.
static int check_load_args(void* ctx, const versus_llm_hparams* hp, int32_t n_layers, const versus_llm_weight* out_norm,
                    const versus_llm_weight* output, int32_t n_ctx, int32_t n_batch) {
    if (hp->n_head < 1 || hp->n_head_kv < 1 || hp->n_head % hp->n_head_kv != 0 || hp->head_dim < 2 ||
        hp->head_dim % 2 != 0 || hp->head_dim > llm::ATTENTION_MAX_HEAD_DIM || hp->n_embd % 8 != 0 || hp->n_ff % 8 != 0)
        return fail(ctx, "llm_load: unsupported shape (n_head a multiple of n_head_kv, even head_dim <= " +
                             std::to_string(llm::ATTENTION_MAX_HEAD_DIM) + ", n_embd and n_ff multiples of 8)");
    if (n_layers < 0 || n_ctx < 1 || n_batch < 1) return fail(ctx, "llm_load: n_layers >= 0, n_ctx and n_batch >= 1");
    if ((out_norm != nullptr) != (output != nullptr))
        return fail(ctx, "llm_load: give both the output norm and the output matrix, or neither");
    return 0;
}

int llm_load(void* ctx, int device, const versus_llm_hparams* hp, int32_t n_layers, const versus_llm_layer* layers,
             const versus_llm_weight* out_norm, const versus_llm_weight* output, int32_t n_ctx, int32_t n_batch,
             void** handle) {
    Device* dev = cuda::device(ctx, device);
    if (!dev) return 1;
    *handle = nullptr;
    VLLM_TRY(check_load_args(ctx, hp, n_layers, out_norm, output, n_ctx, n_batch));

    ResidentPtr r(new Resident{}, release);
    r->hp = *hp;
    r->n_ctx = n_ctx;
    r->n_batch = n_batch;
    r->output = output != nullptr;
    r->layers.resize(static_cast<size_t>(n_layers));
    const int64_t E = hp->n_embd, Q = int64_t{hp->n_head} * hp->head_dim, KV = int64_t{hp->n_head_kv} * hp->head_dim,
                  F = hp->n_ff, V = hp->n_vocab;

    // Layout of the weight allocation (256-byte aligned tensors), checking every shape on the way.
    std::vector<Upload> ups;
    size_t total = 0;
    int64_t largest = 0;  // elements of the largest matrix (the f16 scratch of prefill)
    auto place = [&](const versus_llm_weight& w, DevWeight& d, const char* name, int64_t ne0, int64_t ne1, bool f32) {
        if (int rc = check_weight(ctx, w, name, ne0, ne1, f32)) return rc;
        d.type = w.type;
        d.ne0 = ne0;
        d.ne1 = ne1;
        const size_t bytes = llm::weight_row_bytes(w.type, ne0) * static_cast<size_t>(ne1);
        ups.push_back({&w, &d, total, bytes});
        total += (bytes + 255) / 256 * 256;
        if (!f32) largest = std::max(largest, ne0 * ne1);
        return 0;
    };
    for (int l = 0; l < n_layers; ++l) {
        const versus_llm_layer& s = layers[l];
        DevLayer& d = r->layers[static_cast<size_t>(l)];
        VLLM_TRY(place(s.attn_norm, d.attn_norm, "attn_norm", E, 1, true));
        VLLM_TRY(place(s.wq, d.wq, "attn_q", E, Q, false));
        VLLM_TRY(place(s.wk, d.wk, "attn_k", E, KV, false));
        VLLM_TRY(place(s.wv, d.wv, "attn_v", E, KV, false));
        if (hp->qkv_bias) {
            VLLM_TRY(place(s.bq, d.bq, "attn_q.bias", Q, 1, true));
            VLLM_TRY(place(s.bk, d.bk, "attn_k.bias", KV, 1, true));
            VLLM_TRY(place(s.bv, d.bv, "attn_v.bias", KV, 1, true));
        }
        VLLM_TRY(place(s.wo, d.wo, "attn_output", Q, E, false));
        VLLM_TRY(place(s.ffn_norm, d.ffn_norm, "ffn_norm", E, 1, true));
        VLLM_TRY(place(s.w_gate, d.w_gate, "ffn_gate", E, F, false));
        VLLM_TRY(place(s.w_up, d.w_up, "ffn_up", E, F, false));
        VLLM_TRY(place(s.w_down, d.w_down, "ffn_down", F, E, false));
    }
    if (r->output) {
        VLLM_TRY(place(*out_norm, r->out_norm, "output_norm", E, 1, true));
        // The output matrix runs as matvec per row, always: no f16 copy of the (often largest) table.
        const int64_t keep = largest;
        VLLM_TRY(place(*output, r->out, "output", E, V, false));
        largest = keep;
    }

    // Working buffers of n_batch tokens (see docs/cuda.md, "LLM on CUDA").
    const int64_t B = n_batch, W = std::max({E, Q, F});
    const int half = hp->head_dim / 2;
    r->max_split = std::max(1, std::min((n_ctx + 255) / 256, 2 * dev->prop.multiProcessorCount));
    const AttentionArgs decode{hp->n_head, hp->n_head_kv, hp->head_dim, 1, n_ctx, n_ctx - 1, 1.0f,
                               nullptr, nullptr, nullptr, 0, 0, nullptr};
    const size_t floats[] = {
        static_cast<size_t>(B * E),                        // x
        static_cast<size_t>(B * W),                        // xn
        static_cast<size_t>(B * Q),                        // q
        static_cast<size_t>(B * KV),                       // k
        static_cast<size_t>(B * KV),                       // v
        static_cast<size_t>(B * Q),                        // att
        static_cast<size_t>(B * E),                        // tmp
        static_cast<size_t>(B * F),                        // gate
        static_cast<size_t>(B * F),                        // up
        static_cast<size_t>(r->output ? B * V : 0),        // logits
        static_cast<size_t>(B * half),                     // cs
        static_cast<size_t>(B * half),                     // sn
        static_cast<size_t>(half),                         // freq
        llm::fused_workspace_bytes(decode, r->max_split) / 4,  // split_ws
    };
    size_t work_floats = 0;
    size_t offs[std::size(floats)];
    for (size_t i = 0; i < std::size(floats); ++i) {
        offs[i] = work_floats;
        work_floats += (floats[i] + 63) / 64 * 64;
    }
    const size_t xh_halves = n_batch > 1 ? static_cast<size_t>(B * W) : 0;
    const size_t wh_halves = n_batch > 1 ? static_cast<size_t>(largest) : 0;
    r->work_bytes = work_floats * 4 + (xh_halves + 64) * 2 + (wh_halves + 64) * 2;
    r->kv_bytes = static_cast<uint64_t>(2) * n_layers * n_ctx * KV * 2;
    r->weight_bytes = total;

    VCUDA_CHECK(ctx, cudaMalloc(&r->weights, std::max<size_t>(total, 256)));
    VCUDA_CHECK(ctx, cudaMalloc(reinterpret_cast<void**>(&r->kv), std::max<uint64_t>(r->kv_bytes, 256)));
    // Zeroed as the CPU engine's cache is: Session::seek(depth) leaves the positions below the depth unwritten,
    // and cudaMalloc memory may hold any bit pattern, f16 NaN and Inf included.
    VCUDA_CHECK(ctx, cudaMemsetAsync(r->kv, 0, std::max<uint64_t>(r->kv_bytes, 256), dev->stream));
    VCUDA_CHECK(ctx, cudaMalloc(&r->work, r->work_bytes));
    auto* wf = static_cast<float*>(r->work);
    float** views[] = {&r->x, &r->xn, &r->q, &r->k, &r->v, &r->att, &r->tmp, &r->gate,
                       &r->up, &r->logits, &r->cs, &r->sn, &r->freq, &r->split_ws};
    for (size_t i = 0; i < std::size(views); ++i) *views[i] = wf + offs[i];
    r->xh = reinterpret_cast<__half*>(wf + work_floats);
    r->wh = r->xh + (xh_halves + 64) / 64 * 64;
    if (hp->rope_freq_factors) {
        VCUDA_CHECK(ctx, cudaMemcpyAsync(r->freq, hp->rope_freq_factors, static_cast<size_t>(half) * 4,
                                         cudaMemcpyHostToDevice, dev->stream));
        r->hp.rope_freq_factors = r->freq;  // now a device pointer
    }
    for (const Upload& u : ups) {
        auto* p = static_cast<uint8_t*>(r->weights) + u.offset;
        VCUDA_CHECK(ctx, cudaMemcpyAsync(p, u.src->data, u.bytes, cudaMemcpyHostToDevice, dev->stream));
        u.dst->p = p;
    }
    VCUDA_CHECK(ctx, cudaStreamSynchronize(dev->stream));
    *handle = r.release();
    return 0;
}

int llm_eval(void* ctx, int device, void* handle, int32_t n, int32_t pos0, const float* x_in, float* out,
             int32_t all_logits) {
    Device* dev = cuda::device(ctx, device);
    if (!dev) return 1;
    Resident& r = *static_cast<Resident*>(handle);
    const versus_llm_hparams& hp = r.hp;
    if (n < 1 || n > r.n_batch)
        return fail(ctx, "llm_eval: " + std::to_string(n) + " tokens, the handle takes 1 to " + std::to_string(r.n_batch));
    if (pos0 < 0 || pos0 + n > r.n_ctx)
        return fail(ctx, "llm_eval: positions " + std::to_string(pos0) + ".." + std::to_string(pos0 + n - 1) +
                             " exceed the context of " + std::to_string(r.n_ctx));
    const int E = hp.n_embd, half = hp.head_dim / 2;
    r.xh_src = nullptr;
    VCUDA_CHECK(ctx, cudaMemcpyAsync(r.x, x_in, static_cast<size_t>(n) * E * 4, cudaMemcpyHostToDevice, dev->stream));
    rope_table_kernel<<<blocks_for(n * half), 256, 0, dev->stream>>>(pos0, n, half, hp.head_dim, hp.rope_base,
                                                                     hp.rope_pos_scale, hp.rope_freq_factors, r.cs, r.sn);
    VCUDA_CHECK(ctx, cudaGetLastError());
    for (int l = 0; l < static_cast<int>(r.layers.size()); ++l) VLLM_TRY(layer_forward(ctx, *dev, r, l, n, pos0));
    if (!r.output) {
        VCUDA_CHECK(ctx, cudaMemcpyAsync(out, r.x, static_cast<size_t>(n) * E * 4, cudaMemcpyDeviceToHost, dev->stream));
    } else {
        const int first = all_logits ? 0 : n - 1, rows = all_logits ? n : 1;
        VLLM_TRY(rmsnorm(ctx, *dev, r, r.x + static_cast<size_t>(first) * E, r.out_norm, r.xn, rows));
        const size_t V = static_cast<size_t>(hp.n_vocab);
        for (int t = 0; t < rows; ++t)
            VCUDA_CHECK(ctx, llm::matvec(r.out.type, r.out.p, E, hp.n_vocab, r.xn + static_cast<size_t>(t) * E,
                                         r.logits + t * V, dev->stream));
        VCUDA_CHECK(ctx, cudaMemcpyAsync(out, r.logits, rows * V * 4, cudaMemcpyDeviceToHost, dev->stream));
    }
    VCUDA_CHECK(ctx, cudaStreamSynchronize(dev->stream));
    return 0;
}

int llm_memory(void* ctx, int device, void* handle, uint64_t* weights, uint64_t* kv, uint64_t* working) {
    const Resident& r = *static_cast<const Resident*>(handle);
    *weights = r.weight_bytes;
    *kv = r.kv_bytes;
    *working = r.work_bytes;
    return 0;
}

int llm_free(void* ctx, int device, void* handle) {
    Device* dev = cuda::device(ctx, device);
    if (dev) cudaStreamSynchronize(dev->stream);  // nothing of the handle's may be in flight
    release(static_cast<Resident*>(handle));
    return 0;
}

int llm_matmul(void* ctx, int device, const versus_llm_weight* w, int32_t n, const float* x, float* y) {
    Device* dev = cuda::device(ctx, device);
    if (!dev) return 1;
    if (n < 1) return fail(ctx, "llm_matmul: n_tokens >= 1");
    VLLM_TRY(check_weight(ctx, *w, "w", w->ne0, w->ne1, false));
    const size_t wbytes = llm::weight_row_bytes(w->type, w->ne0) * static_cast<size_t>(w->ne1);
    const size_t xn = static_cast<size_t>(n) * w->ne0, yn = static_cast<size_t>(n) * w->ne1;
    // One piece of the device's scratch: W, x, y, then the f16 copies of x and W the GEMM reads.
    const size_t off_x = (wbytes + 255) / 256 * 256, off_y = off_x + (xn * 4 + 255) / 256 * 256,
                 off_xh = off_y + (yn * 4 + 255) / 256 * 256, off_wh = off_xh + (xn * 2 + 255) / 256 * 256;
    const size_t total = off_wh + static_cast<size_t>(w->ne0 * w->ne1) * 2;
    auto* buf = static_cast<uint8_t*>(device_scratch(ctx, *dev, total));
    if (!buf) return 1;
    Resident r;
    r.xh = reinterpret_cast<__half*>(buf + off_xh);
    r.wh = reinterpret_cast<__half*>(buf + off_wh);
    const DevWeight dw{w->type, w->ne0, w->ne1, buf};
    auto* dx = reinterpret_cast<float*>(buf + off_x);
    auto* dy = reinterpret_cast<float*>(buf + off_y);
    int rc = 0;
    const cudaError_t e = cudaMemcpyAsync(buf, w->data, wbytes, cudaMemcpyHostToDevice, dev->stream);
    if (e != cudaSuccess) rc = fail(ctx, std::string("llm_matmul: upload: ") + cudaGetErrorString(e));
    if (!rc) {
        const cudaError_t ex = cudaMemcpyAsync(dx, x, xn * 4, cudaMemcpyHostToDevice, dev->stream);
        if (ex != cudaSuccess) rc = fail(ctx, std::string("llm_matmul: upload: ") + cudaGetErrorString(ex));
    }
    if (!rc) rc = matmul(ctx, *dev, r, dw, dx, n, dy);
    if (!rc) {
        const cudaError_t ey = cudaMemcpyAsync(y, dy, yn * 4, cudaMemcpyDeviceToHost, dev->stream);
        if (ey != cudaSuccess) rc = fail(ctx, std::string("llm_matmul: download: ") + cudaGetErrorString(ey));
    }
    const cudaError_t es = cudaStreamSynchronize(dev->stream);
    if (!rc && es != cudaSuccess) rc = fail(ctx, std::string("llm_matmul: ") + cudaGetErrorString(es));
    return rc;
}

}  // namespace

void fill_llm_ops(versus_backend_i* t) {
    t->attention = llm::attention_op;
    t->llm_supports = llm_supports;
    t->llm_load = llm_load;
    t->llm_eval = llm_eval;
    t->llm_memory = llm_memory;
    t->llm_free = llm_free;
    t->llm_matmul = llm_matmul;
}

}  // namespace versus::cuda
