// matmul: the training engine's GEMMs. Every product goes through CBLAS (OpenBLAS sgemm/dgemm; Accelerate
// on macOS) with BLAS itself single-threaded, split over the engine's thread pool: the rest of a step runs on
// that pool, and two sets of spinning workers (BLAS's and the pool's) on the same cores would take turns
// stalling each other between regions.
#pragma once

#include <vector>

#include "backend/cpu/thread-pool.hpp"

namespace versus::train {

// C(M,N) = alpha · op(A) · op(B) + beta · C, row-major. op(A) is (M,K): A is (M,K) with row stride lda, or
// (K,M) when ta. op(B) is (K,N): B is (K,N) with row stride ldb, or (N,K) when tb. The larger of M and N is
// cut into one slice per thread; T is float or double.
template <typename T>
void gemm(cpu::ThreadPool& pool, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
          int ldb, T beta, T* C, int ldc);

// The same product on the calling thread only (inside a parallel region).
template <typename T>
void gemm_serial(bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb, T beta,
                 T* C, int ldc);

// Wall seconds spent in gemm() (the pool-split products, not gemm_serial) since the process started, and the
// f32 calls it received while tracing is on, operands included: what a step's GEMMs cost alone
// (bench/train-bench.cpp replays them on the step's own buffers).
double gemm_seconds();
struct GemmCall {
    bool ta, tb;
    int M, N, K;
    float alpha, beta;
    const float *A, *B;
    float* C;
    int lda, ldb, ldc;
};
void gemm_trace(std::vector<GemmCall>* out);  // null: off

// BLAS's own thread count (1 while the engine runs: it splits the work itself).
void set_blas_threads(int n);

// Rounds every element to the nearest bfloat16 (ties to even), kept in f32 storage: the operands of a bf16
// GEMM, multiplied by sgemm with f32 accumulation (docs/training.md, "Precision").
void round_bf16(cpu::ThreadPool& pool, float* x, int64_t n);
void round_bf16_copy(cpu::ThreadPool& pool, const float* x, float* out, int64_t n);

}  // namespace versus::train
