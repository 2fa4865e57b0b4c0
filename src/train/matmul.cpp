#include "train/matmul.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>

#include "train/op-clock.hpp"
#include "train/simd.hpp"

#if defined(VERSUS_BLAS_ACCELERATE)
#include <Accelerate/Accelerate.h>
#else
#include <cblas.h>
#endif

namespace versus::train {

namespace {

void blas(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
          float beta, float* C, int ldc) {
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}
void blas(bool ta, bool tb, int M, int N, int K, double alpha, const double* A, int lda, const double* B, int ldb,
          double beta, double* C, int ldc) {
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda,
                B, ldb, beta, C, ldc);
}

// Below this many multiply-adds one call on one thread beats waking other threads.
constexpr double SPLIT_MIN_MACS = 1 << 18;

inline float round_one(float x) {
    const uint32_t u = std::bit_cast<uint32_t>(x);
    const uint32_t r = (u + 0x7fffu + ((u >> 16) & 1u)) & 0xffff0000u;
    return std::bit_cast<float>((u & 0x7fffffffu) > 0x7f800000u ? u : r);  // NaN stays NaN
}

}  // namespace

template <typename T>
void gemm_serial(bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B, int ldb, T beta,
                 T* C, int ldc) {
    if (M <= 0 || N <= 0) return;
    blas(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

namespace {
std::vector<GemmCall>* trace = nullptr;

template <typename T>
void record(bool, bool, int, int, int, T, const T*, int, const T*, int, T, T*, int) {}
void record(bool ta, bool tb, int M, int N, int K, float alpha, const float* A, int lda, const float* B, int ldb,
            float beta, float* C, int ldc) {
    if (trace) trace->push_back({ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc});
}

template <typename T>
void gemm_split(cpu::ThreadPool& pool, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
                int ldb, T beta, T* C, int ldc) {
    // Slices a multiple of 16 wide, so that every slice but the last keeps the BLAS kernel's full tiles.
    const int threads = pool.size();
    const bool by_rows = M >= N;
    const int dim = by_rows ? M : N;
    const int64_t grain = std::max<int64_t>(16, (dim + threads - 1) / threads + 15) / 16 * 16;
    pool.parallel_for(dim, grain, [&](int64_t b, int64_t e) {
        const int n = static_cast<int>(e - b), o = static_cast<int>(b);
        if (by_rows)
            gemm_serial(ta, tb, n, N, K, alpha, ta ? A + o : A + static_cast<int64_t>(o) * lda, lda, B, ldb, beta,
                        C + static_cast<int64_t>(o) * ldc, ldc);
        else
            gemm_serial(ta, tb, M, n, K, alpha, A, lda, tb ? B + static_cast<int64_t>(o) * ldb : B + o, ldb, beta, C + o,
                        ldc);
    });
}
}  // namespace

double gemm_seconds() { return op_seconds(Op::GEMM); }

namespace {
constexpr GemmPath DEFAULT_PATH = GemmPath::SPLIT;  // docs/training.md: the faster step of the two
GemmPath auto_path = DEFAULT_PATH;
}  // namespace

void set_gemm_auto_path(GemmPath path) { auto_path = path == GemmPath::AUTO ? DEFAULT_PATH : path; }
void gemm_trace(std::vector<GemmCall>* out) { trace = out; }

template <typename T>
void gemm(cpu::ThreadPool& pool, bool ta, bool tb, int M, int N, int K, T alpha, const T* A, int lda, const T* B,
          int ldb, T beta, T* C, int ldc, GemmPath path) {
    OpClock clock(Op::GEMM);
    record(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    const int threads = pool.size();
    if (path == GemmPath::AUTO) {
        if (threads == 1 || static_cast<double>(M) * N * K < SPLIT_MIN_MACS) {
            gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            return;
        }
        path = auto_path;
    }
    if (path == GemmPath::SPLIT) {
        gemm_split(pool, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return;
    }
    // The pool's workers are idle here (after a region they spin for about a quarter of a millisecond on this
    // project's VM, then sleep). OpenBLAS's workers are not, after it: they spin on sched_yield for
    // OPENBLAS_THREAD_TIMEOUT (2^28 cycles unless set) beside the pool's next regions.
    set_blas_threads(threads);
    gemm_serial(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    set_blas_threads(1);
}

template void gemm<float>(cpu::ThreadPool&, bool, bool, int, int, int, float, const float*, int, const float*, int,
                          float, float*, int, GemmPath);
template void gemm<double>(cpu::ThreadPool&, bool, bool, int, int, int, double, const double*, int, const double*, int,
                           double, double*, int, GemmPath);
template void gemm_serial<float>(bool, bool, int, int, int, float, const float*, int, const float*, int, float, float*,
                                 int);
template void gemm_serial<double>(bool, bool, int, int, int, double, const double*, int, const double*, int, double,
                                  double*, int);

void set_blas_threads(int n) {
#if defined(VERSUS_BLAS_OPENBLAS)
    if (openblas_get_num_threads() != n) openblas_set_num_threads(n);
#else
    (void)n;
#endif
}

namespace {
VERSUS_TRAIN_SIMD void round_range(const float* x, float* out, int64_t n) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) out[i] = round_one(x[i]);
}
}  // namespace

void round_bf16_copy(cpu::ThreadPool& pool, const float* x, float* out, int64_t n) {
    OpClock clock(Op::ROUND);
    pool.parallel_for(n, 1 << 14, [=](int64_t b, int64_t e) { round_range(x + b, out + b, e - b); });
}

void round_bf16(cpu::ThreadPool& pool, float* x, int64_t n) { round_bf16_copy(pool, x, x, n); }

}  // namespace versus::train
