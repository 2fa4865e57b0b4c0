// layers: the training engine's layers, each a forward and a backward pass over row-major arrays, for T =
// float (the engine) and double (the finite-difference tests). Rows are tokens: N = batch x seq. A backward
// pass *adds* into the gradient of its input (dx +=), because the residual stream sums the gradients of its
// branches, and *sets* the gradients of its own parameters (each is used once per step; the tied embedding
// is the exception and says so). Reductions over rows (bias and norm-weight gradients, the loss) go through
// fixed chunks summed in order, so a step's numbers do not depend on the thread count or on scheduling.
#pragma once

#include <cstddef>
#include <cstdint>

#include "backend/cpu/thread-pool.hpp"
#include "train/gpt-config.hpp"

namespace versus::train {

using cpu::ThreadPool;

// ---- embedding --------------------------------------------------------------------------------------------
// out (N, d) = wte[tokens[n]] + wpe[n % seq] (wpe may be null: RoPE models). tokens (N) in [0, vocab).
template <typename T>
void embedding_forward(ThreadPool& pool, T* out, const int32_t* tokens, const T* wte, const T* wpe, int N, int seq,
                       int d);
// dwte[tokens[n]] += dout[n] (adds: a tied head has written its gradient there first); dwpe[t] = sum over the
// batch of dout[b, t] (sets), when dwpe is not null.
template <typename T>
void embedding_backward(ThreadPool& pool, T* dwte, T* dwpe, const T* dout, const int32_t* tokens, int N, int seq, int d);

// ---- normalisation ----------------------------------------------------------------------------------------
// LayerNorm: out (N, d) = (x - mean) * rstd * w + b, saving mean (N) and rstd (N). RMSNorm (b and mean null):
// out = x * rstd * w, rstd = 1 / sqrt(mean(x^2) + eps).
template <typename T>
void norm_forward(ThreadPool& pool, Norm kind, T* out, T* mean, T* rstd, const T* x, const T* w, const T* b, int N,
                  int d, float eps);
// dx (N, d) += ..., dw (d) = ..., db (d) = ... (db null for RMSNorm). scratch: norm_scratch(d) elements.
template <typename T>
void norm_backward(ThreadPool& pool, Norm kind, T* dx, T* dw, T* db, const T* dout, const T* x, const T* w,
                   const T* mean, const T* rstd, int N, int d, T* scratch);
size_t norm_scratch(int d);

// ---- linear -----------------------------------------------------------------------------------------------
// y (N, out) = x (N, in) · W (out, in)^T + b (out; null: none).
template <typename T>
void linear_forward(ThreadPool& pool, T* y, const T* x, const T* W, const T* b, int N, int in, int out);
// dx (N, in) = dy (N, out) · W (out, in) + dx_beta · dx (dx null: not needed); dW (out, in) = dy^T · x +
// dW_beta · dW; db (out) = column sums of dy (null: none). scratch: linear_scratch(out) elements.
template <typename T>
void linear_backward(ThreadPool& pool, T* dx, T* dW, T* db, const T* dy, const T* x, const T* W, int N, int in,
                     int out, T dx_beta, T dW_beta, T* scratch);
size_t linear_scratch(int out);

// ---- activations ------------------------------------------------------------------------------------------
// GELU, tanh form (GPT-2): out (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
template <typename T>
void gelu_forward(ThreadPool& pool, T* out, const T* x, int64_t n);
// dx (n) = dout * gelu'(x) (sets).
template <typename T>
void gelu_backward(ThreadPool& pool, T* dx, const T* x, const T* dout, int64_t n);
// SwiGLU: h (N, 2f) holds [gate | up] per row; out (N, f) = silu(gate) * up.
template <typename T>
void swiglu_forward(ThreadPool& pool, T* out, const T* h, int N, int f);
// dh (N, 2f) = gradients of gate and up (sets).
template <typename T>
void swiglu_backward(ThreadPool& pool, T* dh, const T* h, const T* dout, int N, int f);

// ---- rotary position embedding ----------------------------------------------------------------------------
// qkv (B, seq, 3, H, hd): q and k of every head rotated in place by position, pairs (2i, 2i+1) at angle
// pos * base^(-2i/hd) (llama's layout). Backward applies the inverse rotation to dq and dk of dqkv.
template <typename T>
void rope_forward(ThreadPool& pool, T* qkv, int B, int seq, int H, int hd, float base);
template <typename T>
void rope_backward(ThreadPool& pool, T* dqkv, int B, int seq, int H, int hd, float base);

// ---- causal self-attention --------------------------------------------------------------------------------
// qkv (B, seq, 3, H, hd) -> out (B, seq, H, hd), scale 1/sqrt(hd). `stats` is what the backward pass keeps:
//   FUSED  (B, H, seq) log-sum-exp of each query's scores; the scores are recomputed tile by tile in the
//          backward pass, as FlashAttention does, so nothing of size seq x seq is stored;
//   NAIVE  (B, H, seq, seq) the softmax probabilities.
// scratch: attention_scratch(...) elements (per-thread score tiles and packed operands). `tiles`: the fused path's
// query and key tile sizes (the defaults: 128 x 128, whose two score tiles per thread, 128 KB, stay in L2 — 10-20%
// faster than 128 x 256 at seq 256 on an Ice Lake core; tests use small ones to cross tile edges on small shapes),
// and the vector width of its tile kernel in bytes (train/tile-gemm.hpp; 0: this CPU's best; tests set 32 to run
// the AVX2-width kernel on an AVX-512 machine too).
struct AttentionTiles {
    int q = 128, k = 128;
    int vector_bytes = 0;
};
template <typename T>
void attention_forward(ThreadPool& pool, AttentionImpl impl, T* out, T* stats, const T* qkv, int B, int seq, int H,
                       int hd, T* scratch, AttentionTiles tiles = {});
// dqkv (B, seq, 3, H, hd) = gradients of q, k and v (sets), from dout (B, seq, H, hd) and the forward's out.
template <typename T>
void attention_backward(ThreadPool& pool, AttentionImpl impl, T* dqkv, const T* dout, const T* out, const T* stats,
                        const T* qkv, int B, int seq, int H, int hd, T* scratch, AttentionTiles tiles = {});
size_t attention_stats(AttentionImpl impl, int B, int seq, int H);
size_t attention_scratch(AttentionImpl impl, int seq, int hd, int threads, AttentionTiles tiles = {});

// ---- loss -------------------------------------------------------------------------------------------------
// Softmax cross-entropy over logits (N, V), fused with its gradient: logits become dlogits = (softmax -
// onehot(target)) * dscale in place; losses (N) = -log softmax[target]. A negative target is ignored (loss and
// gradient 0). Returns the sum of the losses.
template <typename T>
double cross_entropy(ThreadPool& pool, T* logits, T* losses, const int32_t* targets, int N, int V, T dscale);

// ---- elementwise ------------------------------------------------------------------------------------------
// out (n) = a + b (out may alias a or b).
template <typename T>
void add(ThreadPool& pool, T* out, const T* a, const T* b, int64_t n);

// ---- optimizer --------------------------------------------------------------------------------------------
struct AdamWConfig {
    double lr = 3e-4, beta1 = 0.9, beta2 = 0.95, eps = 1e-8, weight_decay = 0.1;
    double clip = 1.0;  // global gradient-norm limit; <= 0: no clipping
};
// sqrt(sum g^2) over n elements, accumulated in double.
template <typename T>
double grad_norm(ThreadPool& pool, const T* g, int64_t n);
// One AdamW update of step `step` (1-based) with gradients multiplied by grad_scale (the clipping factor);
// decoupled weight decay when `decay`.
template <typename T>
void adamw_update(ThreadPool& pool, T* p, const T* g, T* m, T* v, int64_t n, const AdamWConfig& c, int step,
                  double grad_scale, bool decay);
// The clipping factor: min(1, clip / norm).
double clip_scale(const AdamWConfig& c, double norm);

}  // namespace versus::train
