// Contract: the AVX2 rung of the attention ladder (AVX2 + FMA + F16C; Haswell, Zen 1 and later), for head_dim
// a multiple of 8: the shared rung (arch/attention-rung.hpp) over the AVX2 traits. Built with -mavx2 -mfma
// -mf16c and listed by rungs.cpp only when cpu_features() has all three.
#include "backend/cpu/arch/x86/simd-avx2.hpp"
#include "backend/cpu/arch/attention-rung.hpp"

namespace versus::cpu::avx2 {

namespace {
constexpr AttentionKernels AVX2 = simd::AttentionRung<Avx2>::kernels("avx2");
}  // namespace

const AttentionKernels& attention_rung() { return AVX2; }

}  // namespace versus::cpu::avx2
