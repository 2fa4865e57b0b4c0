// rungs: the one registry of the CPU ladders (kernels.hpp, quants.hpp, attention.hpp): which vector rungs exist
// for each family, which instruction-set extensions each executes, and which this CPU may run.
//
// A rung needs a set of extensions (IsaBits); the ladder of a family is its scalar rung, then every rung whose
// needs this CPU has, in the order listed (fastest last). The environment variable VERSUS_ISA caps what counts
// as present, to time or test a lower rung on a machine that has a higher one:
//   VERSUS_ISA=scalar | avx2 | avx512 | avx512-vnni | neon | neon-dotprod   (unset or "native": no cap)
// e.g. VERSUS_ISA=avx2 runs an AVX-512 machine as an AVX2 one. An unknown value throws std::invalid_argument
// on first use. Adding a rung is one line in rungs.cpp (and its traits type and micro-kernels).
#pragma once

#include <cstdint>
#include <string>

namespace versus::cpu {

enum IsaBits : uint32_t {
    ISA_AVX2 = 1u << 0,         // AVX2 + FMA + F16C
    ISA_AVX512 = 1u << 1,       // AVX-512 F/BW/VL/DQ (with FMA, F16C)
    ISA_AVX512_VNNI = 1u << 2,  // vpdpbusd, vpdpwssd
    ISA_AVX512_VBMI = 1u << 3,  // vpermb, vpermt2b, vpmultishiftqb
    ISA_AVX512_BF16 = 1u << 4,  // vdpbf16ps
    ISA_NEON = 1u << 8,         // AdvSIMD (every AArch64 CPU)
    ISA_NEON_DOTPROD = 1u << 9, // sdot
    ISA_NEON_BF16 = 1u << 10,   // bfdot
};

// The extensions this CPU has (cpu_features()), as IsaBits, under the VERSUS_ISA cap. Read once.
uint32_t isa_bits();
// The VERSUS_ISA value in force ("native" when unset), for context lines.
const std::string& isa_cap();
// The IsaBits a VERSUS_ISA value allows ("" and "native": all). Throws std::invalid_argument for an unknown one.
uint32_t isa_cap_bits(const std::string& name);

}  // namespace versus::cpu
