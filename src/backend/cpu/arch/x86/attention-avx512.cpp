// Contract: the AVX-512 rung of the attention ladder (AVX512F + FMA + F16C), for head_dim a multiple of 16: the
// shared rung (arch/attention-rung.hpp) over the AVX-512 traits, whose exp scales by vscalefps. Built with
// -mavx512f -mfma -mf16c and listed by rungs.cpp only when cpu_features() has them; compiled a second time
// against SIMDe for the tests on CPUs without AVX-512 (see simd-avx512.hpp).
#include "backend/cpu/arch/x86/simd-avx512.hpp"
#include "backend/cpu/arch/attention-rung.hpp"

namespace versus::cpu::VERSUS_AVX512_NS {

namespace {
constexpr AttentionKernels AVX512 = simd::AttentionRung<Avx512>::kernels(VERSUS_AVX512_NAME("avx512"));
}  // namespace

const AttentionKernels& attention_rung() { return AVX512; }

}  // namespace versus::cpu::VERSUS_AVX512_NS
