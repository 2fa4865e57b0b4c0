// kernels: the CPU backend's hand-written compute kernels (what no library covers), as a ladder:
// a scalar reference, then AVX2, AVX-512 and NEON versions chosen at run time from cpu_features().
// All matrices are row-major and dense. Kernels split their work over the given pool.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "thread-pool.hpp"

namespace versus::cpu {

using bf16_t = uint16_t;  // bfloat16 bits
using f16_t = uint16_t;   // IEEE binary16 bits

// Round-to-nearest-even conversions (NaN stays NaN).
bf16_t f32_to_bf16(float x);
float bf16_to_f32(bf16_t x);
f16_t f32_to_f16(float x);
float f16_to_f32(f16_t x);

enum class StreamOp { COPY, SCALE, ADD, TRIAD };

// One rung of the ladder. Every function pointer is set (the scalar rung fills gaps).
struct KernelSet {
    std::string_view isa;  // "scalar", "avx2", "avx512", "avx512-vnni-bf16", "neon", "neon-dotprod", ...

    // C(M,N) f32 = A(M,K) · B(K,N), inputs bfloat16, accumulation in f32.
    void (*gemm_bf16)(int M, int N, int K, const bf16_t* A, const bf16_t* B, float* C, ThreadPool& pool);
    // C(M,N) f32 = A(M,K) · B(K,N), inputs binary16, accumulation in f32.
    void (*gemm_f16)(int M, int N, int K, const f16_t* A, const f16_t* B, float* C, ThreadPool& pool);
    // C(M,N) i32 = A(M,K) · B(K,N), inputs int8 in [-127, 127], exact int32 accumulation.
    void (*gemm_i8)(int M, int N, int K, const int8_t* A, const int8_t* B, int32_t* C, ThreadPool& pool);

    // STREAM kernels over n doubles: COPY a=b; SCALE a=s*b; ADD a=b+c; TRIAD a=b+s*c.
    void (*stream)(StreamOp op, double* a, const double* b, const double* c, double s, size_t n, ThreadPool& pool);

    // Runs `iters` iterations of independent FMA chains on the calling thread and returns the
    // FLOPs it executed (2 per lane per FMA); the caller times it.
    double (*fma_loop)(int64_t iters);
};

// The scalar reference rung (always available).
const KernelSet& kernels_ref();
// Every rung this CPU can execute, scalar first, fastest last.
std::span<const KernelSet* const> kernels_available();
// The fastest rung this CPU can execute.
const KernelSet& kernels_best();

}  // namespace versus::cpu
