// matmul: the training engine's GEMMs, through CBLAS (OpenBLAS sgemm/dgemm; Accelerate on macOS). A large
// product is cut into one single-threaded BLAS call per thread of the engine's pool, or runs on BLAS's own
// threads (GemmPath). BLAS's threads are faster on the products alone (they share the packed panels of one
// operand), but after each product they spin beside the pool's next regions, and a whole step came out faster
// split (docs/training.md). BLAS is single-threaded everywhere else, so the products inside parallel regions
// (attention tiles: gemm_serial) never start BLAS threads.
#pragma once

#include <vector>

#include "backend/cpu/thread-pool.hpp"

namespace versus::train {

// How gemm() spreads a product over pool.size() cores. AUTO: one call on the calling thread when small, else
// SPLIT (or what set_gemm_auto_path() chose). SPLIT: the larger of M and N
// cut into one slice per pool thread, each a single-threaded BLAS call. BLAS_THREADS: one BLAS call on
// pool.size() of BLAS's own threads, set back to 1 after it. Must be called outside the pool's regions.
enum class GemmPath { AUTO, SPLIT, BLAS_THREADS };

// C(M,N) = alpha · op(A) · op(B) + beta · C, row-major. op(A) is (M,K): A is (M,K) with row stride lda, or
// (K,M) when ta. op(B) is (K,N): B is (K,N) with row stride ldb, or (N,K) when tb. T is float or double.
template <typename T>
void gemm(cpu::ThreadPool& pool, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
          int ldb, T beta, T* C, int ldc, GemmPath path = GemmPath::AUTO);
// The way AUTO spreads a large product from now on (SPLIT or BLAS_THREADS; AUTO restores the default), so that a
// benchmark can time the whole step both ways.
void set_gemm_auto_path(GemmPath path);

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

// BLAS's own thread count (1 while the engine runs, but inside gemm()'s BLAS_THREADS path).
void set_blas_threads(int n);

// Rounds every element to the nearest bfloat16 (ties to even), kept in f32 storage: the operands of a bf16
// GEMM, multiplied by sgemm with f32 accumulation (docs/training.md, "Precision").
void round_bf16(cpu::ThreadPool& pool, float* x, int64_t n);
void round_bf16_copy(cpu::ThreadPool& pool, const float* x, float* out, int64_t n);

}  // namespace versus::train
