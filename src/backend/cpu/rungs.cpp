// Contract: the one registry of the CPU ladders (rungs.hpp): the rungs of each family with the extensions
// each needs, the VERSUS_ISA cap, and the public ladder functions of kernels.hpp, quants.hpp and attention.hpp.
// Compiled for the baseline ISA; the rungs live in the arch files, built for their own ISA.
#include "backend/cpu/rungs.hpp"

#include <cstdlib>
#include <stdexcept>
#include <utility>
#include <vector>

#include "backend/cpu/attention.hpp"
#include "system/cpu-features.hpp"
#include "backend/cpu/kernels.hpp"
#include "backend/cpu/quants.hpp"

namespace versus::cpu {

// Rungs defined in the files of the ladders.
namespace ref {
const KernelSet& rung();
const AttentionKernels& attention_rung();
}  // namespace ref
namespace qref {
const QuantKernelSet& rung();
}
#if defined(VERSUS_KERNELS_X86)
namespace avx2 {
const KernelSet& rung();
const AttentionKernels& attention_rung();
}  // namespace avx2
namespace avx512 {
const KernelSet& rung();
const KernelSet& rung_vnni();
const KernelSet& rung_vnni_bf16();
const AttentionKernels& attention_rung();
}  // namespace avx512
namespace qavx2 {
const QuantKernelSet& rung();
}
namespace qavx512 {
const QuantKernelSet& rung();
const QuantKernelSet& rung_vnni();
const QuantKernelSet& rung_vbmi();
}  // namespace qavx512
#endif
#if defined(VERSUS_KERNELS_ARM)
namespace neon {
const KernelSet& rung();
const KernelSet& rung_dotprod();
const KernelSet& rung_dotprod_bf16();
const AttentionKernels& attention_rung();
}  // namespace neon
namespace qneon {
const QuantKernelSet& rung();
const QuantKernelSet& rung_dotprod();
}  // namespace qneon
#endif

namespace {

uint32_t detect() {
    [[maybe_unused]] const system::CpuFeatures& f = system::cpu_features();
    uint32_t bits = 0;
#if defined(VERSUS_KERNELS_X86)
    if (f.avx2 && f.fma && f.f16c) bits |= ISA_AVX2;
    if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq && f.fma && f.f16c) {
        bits |= ISA_AVX512;
        if (f.avx512_vnni) bits |= ISA_AVX512_VNNI;
        if (f.avx512_bf16) bits |= ISA_AVX512_BF16;
        // VBMI is not among cpu_features(); the OS state is the AVX-512 one checked above.
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512vbmi")) bits |= ISA_AVX512_VBMI;
    }
#endif
#if defined(VERSUS_KERNELS_ARM)
    bits |= ISA_NEON;
    if (f.asimd_dotprod) bits |= ISA_NEON_DOTPROD;
    if (f.bf16) bits |= ISA_NEON_BF16;
#endif
    return bits;
}

struct Cap {
    std::string name;
    uint32_t bits;
};

const Cap& cap() {
    static const Cap c = [] {
        const char* env = std::getenv("VERSUS_ISA");
        const std::string v = env && *env ? env : "native";
        return Cap{v, isa_cap_bits(v)};
    }();
    return c;
}

template <class Set>
using Candidates = std::vector<std::pair<uint32_t, const Set& (*)()>>;

// The scalar rung, then every candidate whose needs the (capped) CPU has, in order.
template <class Set>
std::vector<const Set*> ladder_of(const Candidates<Set>& candidates) {
    const uint32_t have = isa_bits();
    std::vector<const Set*> out;
    for (const auto& [needs, get] : candidates) {
        if ((needs & ~have) == 0) out.push_back(&get());
    }
    return out;
}

const std::vector<const KernelSet*>& kernel_ladder() {
    static const std::vector<const KernelSet*> rungs = ladder_of<KernelSet>({
        {0, ref::rung},
#if defined(VERSUS_KERNELS_X86)
        {ISA_AVX2, avx2::rung},
        {ISA_AVX512, avx512::rung},
        {ISA_AVX512 | ISA_AVX512_VNNI, avx512::rung_vnni},
        {ISA_AVX512 | ISA_AVX512_VNNI | ISA_AVX512_BF16, avx512::rung_vnni_bf16},
#endif
#if defined(VERSUS_KERNELS_ARM)
        {ISA_NEON, neon::rung},
        {ISA_NEON | ISA_NEON_DOTPROD, neon::rung_dotprod},
        {ISA_NEON | ISA_NEON_DOTPROD | ISA_NEON_BF16, neon::rung_dotprod_bf16},
#endif
    });
    return rungs;
}

const std::vector<const QuantKernelSet*>& quant_ladder() {
    static const std::vector<const QuantKernelSet*> rungs = ladder_of<QuantKernelSet>({
        {0, qref::rung},
#if defined(VERSUS_KERNELS_X86)
        {ISA_AVX2, qavx2::rung},
        {ISA_AVX512, qavx512::rung},
        {ISA_AVX512 | ISA_AVX512_VNNI, qavx512::rung_vnni},
        {ISA_AVX512 | ISA_AVX512_VNNI | ISA_AVX512_VBMI, qavx512::rung_vbmi},
#endif
#if defined(VERSUS_KERNELS_ARM)
        {ISA_NEON, qneon::rung},
        {ISA_NEON | ISA_NEON_DOTPROD, qneon::rung_dotprod},
#endif
    });
    return rungs;
}

const std::vector<const AttentionKernels*>& attention_ladder() {
    static const std::vector<const AttentionKernels*> rungs = ladder_of<AttentionKernels>({
        {0, ref::attention_rung},
#if defined(VERSUS_KERNELS_X86)
        {ISA_AVX2, avx2::attention_rung},
        {ISA_AVX512, avx512::attention_rung},
#endif
#if defined(VERSUS_KERNELS_ARM)
        {ISA_NEON, neon::attention_rung},
#endif
    });
    return rungs;
}

}  // namespace

uint32_t isa_cap_bits(const std::string& name) {
    if (name.empty() || name == "native") return ~0u;
    const std::pair<const char*, uint32_t> caps[] = {
        {"scalar", 0u},
        {"avx2", ISA_AVX2},
        {"avx512", ISA_AVX2 | ISA_AVX512},
        {"avx512-vnni", ISA_AVX2 | ISA_AVX512 | ISA_AVX512_VNNI},
        {"neon", ISA_NEON},
        {"neon-dotprod", ISA_NEON | ISA_NEON_DOTPROD},
    };
    for (const auto& [cap_name, bits] : caps) {
        if (name == cap_name) return bits;
    }
    throw std::invalid_argument("[isa] VERSUS_ISA=" + name +
                                " is not a rung cap. HINT: use scalar, avx2, avx512, avx512-vnni, neon, neon-dotprod "
                                "or native (or unset it)");
}

uint32_t isa_bits() {
    static const uint32_t bits = detect() & cap().bits;
    return bits;
}

const std::string& isa_cap() { return cap().name; }

const KernelSet& kernels_ref() { return ref::rung(); }
std::span<const KernelSet* const> kernels_available() { return kernel_ladder(); }
const KernelSet& kernels_best() { return *kernel_ladder().back(); }

const QuantKernelSet& quant_kernels_ref() { return qref::rung(); }
std::span<const QuantKernelSet* const> quant_kernels_available() { return quant_ladder(); }
const QuantKernelSet& quant_kernels_best() { return *quant_ladder().back(); }

const AttentionKernels& attention_kernels_ref() { return ref::attention_rung(); }
std::span<const AttentionKernels* const> attention_kernels_available() { return attention_ladder(); }
const AttentionKernels& attention_kernels_for(int head_dim) {
    const auto& rungs = attention_ladder();
    for (auto it = rungs.rbegin(); it != rungs.rend(); ++it) {
        if (head_dim > 0 && head_dim % (*it)->width == 0) return **it;
    }
    return *rungs.front();
}

}  // namespace versus::cpu
