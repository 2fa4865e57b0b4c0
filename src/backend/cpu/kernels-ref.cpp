// Contract: the scalar reference rung, the bottom of the ladder. Plain C++ for the baseline ISA, written
// to be obviously right rather than fast; it still splits rows over the pool and keeps the inner loop
// contiguous (i-k-j order) so that tests and `versus` runs at realistic sizes finish.
#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels.hpp"

namespace versus::cpu {

namespace ref {

namespace {

// C(M,N) = A(M,K) · B(K,N) with A and B already widened to f32 (or any type `to_f32` maps).
template <class In, class Widen>
void gemm_float(int M, int N, int K, const In* A, const In* B, float* C, ThreadPool& pool, Widen widen) {
    if (M <= 0 || N <= 0) return;
    // B(K,N) widened once, not once per row of A.
    std::vector<float> b(size_t(K) * N);
    pool.parallel_for(K, 16, [&](int64_t k0, int64_t k1) {
        for (size_t i = size_t(k0) * N; i < size_t(k1) * N; ++i) b[i] = widen(B[i]);
    });
    pool.parallel_for(M, 4, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i) {
            float* c = C + size_t(i) * N;
            std::fill(c, c + N, 0.0f);
            for (int k = 0; k < K; ++k) {
                const float a = widen(A[size_t(i) * K + k]);
                const float* bk = b.data() + size_t(k) * N;
                for (int j = 0; j < N; ++j) c[j] += a * bk[j];
            }
        }
    });
}

float bf16_widen(bf16_t x) {
    uint32_t u = uint32_t(x) << 16;
    float f;
    std::memcpy(&f, &u, 4);
    return f;
}

void gemm_bf16(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool) {
    gemm_float(M, N, K, A, B, C, pool, bf16_widen);
}

void gemm_f16(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool) {
    gemm_float(M, N, K, A, B, C, pool, f16_to_f32);
}

void gemm_i8(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool) {
    if (M <= 0 || N <= 0) return;
    pool.parallel_for(M, 4, [&](int64_t i0, int64_t i1) {
        // Unsigned accumulation wraps instead of overflowing (UB); the result is exact whenever the
        // true dot product fits in int32, which [-127,127] inputs guarantee for K <= 133144.
        std::vector<uint32_t> acc(N);
        for (int64_t i = i0; i < i1; ++i) {
            std::fill(acc.begin(), acc.end(), 0u);
            for (int k = 0; k < K; ++k) {
                const uint32_t a = uint32_t(int32_t(A[size_t(i) * K + k]));
                const int8_t* bk = B + size_t(k) * N;
                for (int j = 0; j < N; ++j) acc[j] += a * uint32_t(int32_t(bk[j]));
            }
            for (int j = 0; j < N; ++j) C[size_t(i) * N + j] = int32_t(acc[j]);
        }
    });
}

void stream(StreamOp op, double* a, const double* b, const double* c, double s, size_t n, ThreadPool& pool) {
    // The scalar rung always stores through the cache.
    pool.run([&](int t, int nt) {
        // A fixed contiguous slice per thread, so pages stay with the thread that first touched them.
        const size_t chunk = ((n + size_t(nt) - 1) / size_t(nt) + 7) & ~size_t{7};
        const size_t lo = std::min(n, chunk * size_t(t)), hi = std::min(n, lo + chunk);
        switch (op) {
            case StreamOp::COPY:
                for (size_t i = lo; i < hi; ++i) a[i] = b[i];
                break;
            case StreamOp::SCALE:
                for (size_t i = lo; i < hi; ++i) a[i] = s * b[i];
                break;
            case StreamOp::ADD:
                for (size_t i = lo; i < hi; ++i) a[i] = b[i] + c[i];
                break;
            case StreamOp::TRIAD:
                for (size_t i = lo; i < hi; ++i) a[i] = b[i] + s * c[i];
                break;
        }
    });
}

double fma_loop(int64_t iters) {
    // Eight independent multiply-add chains; x -> x*m + d converges to 1 so nothing overflows or
    // goes subnormal however long it runs.
    float x[8] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f};
    const float m = 0.999f, d = 0.001f;
    for (int64_t it = 0; it < iters; ++it) {
        for (float& v : x) v = v * m + d;
    }
    float sum = 0;
    for (float v : x) sum += v;
    volatile float sink = sum;  // the chains feed a result, so none can be dropped
    (void)sink;
    return double(iters) * 8 * 2;
}

constexpr KernelSet REF = {
    /* .isa       = */ "scalar",
    /* .gemm_bf16 = */ gemm_bf16,
    /* .gemm_f16  = */ gemm_f16,
    /* .gemm_i8   = */ gemm_i8,
    /* .stream    = */ stream,
    /* .fma_loop  = */ fma_loop,
};

}  // namespace

const KernelSet& rung() { return REF; }

}  // namespace ref

}  // namespace versus::cpu
