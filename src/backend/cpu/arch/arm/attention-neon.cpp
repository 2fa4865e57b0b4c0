// Contract: the NEON rung of the attention ladder, for head_dim a multiple of 4: the shared rung
// (arch/attention-rung.hpp) over the AdvSIMD traits. Base ARMv8-A only (f16 widened by FCVTL, f32
// arithmetic), so the rung is listed unconditionally on aarch64.
#include "backend/cpu/arch/arm/simd-neon.hpp"
#include "backend/cpu/arch/attention-rung.hpp"

namespace versus::cpu::neon {

namespace {
constexpr AttentionKernels NEON = simd::AttentionRung<Neon>::kernels("neon");
}  // namespace

const AttentionKernels& attention_rung() { return NEON; }

}  // namespace versus::cpu::neon
