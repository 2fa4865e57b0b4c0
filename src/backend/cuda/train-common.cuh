// train-common: what the training files of the CUDA plugin share (train-*.cu): device buffers owned by a training
// handle, row-major GEMMs through cuBLASLt with transposes and f32 or bf16 operands, and the launchers of the
// training kernels (train-kernels.cu, train-attention.cu). Everything runs on the device's stream.
#pragma once

#include <cuda_bf16.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "backend/cuda/cuda-common.hpp"

namespace versus::cuda::train {

// Device allocations of one handle, freed together; bytes() for train_memory.
class Arena {
public:
    ~Arena() {
        for (void* p : ptrs_) cudaFree(p);
    }
    // Returns nullptr after cudaMalloc fails (*err set).
    template <typename T>
    T* alloc(size_t n, cudaError_t* err) {
        void* p = nullptr;
        const size_t b = std::max<size_t>(n, 1) * sizeof(T);
        *err = cudaMalloc(&p, b);
        if (*err != cudaSuccess) return nullptr;
        ptrs_.push_back(p);
        bytes_ += b;
        return static_cast<T*>(p);
    }
    uint64_t bytes() const { return bytes_; }

private:
    std::vector<void*> ptrs_;
    uint64_t bytes_ = 0;
};

// C(M,N) = alpha op(A) op(B) + beta C, row-major as the CPU engine's gemm() (train/matmul.hpp): op(A) is (M,K),
// A (M,K) with row stride lda or (K,M) when ta; op(B) is (K,N), B (K,N) or (N,K) when tb. Inputs f32 or bf16
// (`bf16`), C f32, f32 accumulation (no TF32: the f32 step computes as the CPU does). Plans are cached by shape.
class Matmul {
public:
    explicit Matmul(Device& dev) : dev_(dev) {}
    ~Matmul();
    // 0, or non-zero with *err set.
    int run(bool ta, bool tb, int M, int N, int K, float alpha, const void* A, int lda, const void* B, int ldb, float beta,
            float* C, int ldc, bool bf16, std::string* err);

private:
    struct Plan {
        cublasLtMatmulDesc_t desc = nullptr;
        cublasLtMatrixLayout_t a = nullptr, b = nullptr, c = nullptr;
        cublasLtMatmulAlgo_t algo{};
    };
    Device& dev_;
    std::map<std::tuple<bool, bool, int, int, int, int, int, int, bool>, Plan> plans_;
};

// ---- launchers (train-kernels.cu); T = float unless said ----
cudaError_t embedding_forward(float* out, const int32_t* tokens, const float* wte, const float* wpe, int N, int seq, int d,
                              cudaStream_t st);
// dwte[token] += dout, dwpe[n % seq] += dout (dwpe may be null): atomic adds into zeroed gradients.
cudaError_t embedding_backward(float* dwte, float* dwpe, const float* dout, const int32_t* tokens, int N, int seq, int d,
                               cudaStream_t st);
// LayerNorm (b, mean non-null) or RMSNorm; one warp per row.
cudaError_t norm_forward(float* out, float* mean, float* rstd, const float* x, const float* w, const float* b, int N, int d,
                         float eps, cudaStream_t st);
// dx += ..., dw += ..., db += ... (atomic adds into zeroed gradients; db null for RMSNorm).
cudaError_t norm_backward(float* dx, float* dw, float* db, const float* dout, const float* x, const float* w,
                          const float* mean, const float* rstd, int N, int d, cudaStream_t st);
cudaError_t gelu_forward(float* out, const float* x, int64_t n, cudaStream_t st);
cudaError_t gelu_backward(float* dx, const float* x, const float* dout, int64_t n, cudaStream_t st);
cudaError_t swiglu_forward(float* out, const float* h, int N, int f, cudaStream_t st);
cudaError_t swiglu_backward(float* dh, const float* h, const float* dout, int N, int f, cudaStream_t st);
// sign +1 rotates q and k of qkv (N = B x seq rows of 3 x H x hd), -1 applies the inverse (backward).
cudaError_t rope(float* qkv, int N, int seq, int H, int hd, float base, float sign, cudaStream_t st);
cudaError_t add(float* out, const float* a, const float* b, int64_t n, cudaStream_t st);
// y (N, out) rows = b (out).
cudaError_t fill_rows(float* y, const float* b, int N, int out, cudaStream_t st);
// db (out) += column sums of dy (N, out).
cudaError_t column_sums(float* db, const float* dy, int N, int out, cudaStream_t st);
// Softmax cross-entropy fused with its gradient (logits become dlogits = (softmax - onehot) * dscale; a negative
// target gives 0); *loss_sum (device double) += the rows' losses. One block per row.
cudaError_t cross_entropy(float* logits, const int32_t* targets, int N, int V, float dscale, double* loss_sum,
                          cudaStream_t st);
// x rounded to bf16 in place (f32 storage), and a bf16 copy.
cudaError_t round_bf16(float* x, int64_t n, cudaStream_t st);
cudaError_t to_bf16(__nv_bfloat16* dst, const float* src, int64_t n, cudaStream_t st);
// *sum (device double) += sum g^2.
cudaError_t sum_squares(const float* g, int64_t n, double* sum, cudaStream_t st);
// AdamW on n elements; the clipping factor min(1, clip / sqrt(*norm_sq)) read on the device.
cudaError_t adamw(float* p, const float* g, float* m, float* v, int64_t n, float lr, float beta1, float beta2, float eps,
                  float wd, float c1, float c2, float clip, const double* norm_sq, cudaStream_t st);

// ---- attention (train-attention.cu) ----
// qkv (B, seq, 3, H, hd) -> out (B, seq, H, hd); fused keeps lse (B, H, seq), naive the probabilities (B, H, seq,
// seq). The fused kernels need hd in {8, 16, 32, 64, 128}; *err says so otherwise.
struct AttentionShape {
    int B, seq, H, hd;
};
int attention_forward(bool fused, float* out, float* stats, const float* qkv, const AttentionShape& s, cublasHandle_t blas,
                      cudaStream_t st, std::string* err);
// dqkv (sets). scratch: attention_scratch() floats.
int attention_backward(bool fused, float* dqkv, const float* dout, const float* out, const float* stats, const float* qkv,
                       const AttentionShape& s, float* scratch, cublasHandle_t blas, cudaStream_t st, std::string* err);
size_t attention_scratch(bool fused, const AttentionShape& s);
// Empty when the path takes head size hd, else why not.
std::string attention_unsupported(bool fused, int hd);

}  // namespace versus::cuda::train
