// cpu-features: what the CPU this process runs on can execute, read from CPUID/XGETBV on x86
// and from the auxiliary vector (hwcaps) on Arm. Kernel dispatch and `versus probe` both read it.
#pragma once

#include <string>
#include <vector>

namespace versus::system {

struct CpuFeatures {
    std::string arch;  // "x86_64", "aarch64", ...
    // x86
    bool sse2 = false, sse3 = false, ssse3 = false, sse4_1 = false, sse4_2 = false;
    bool avx = false, f16c = false, fma = false, avx2 = false, avx_vnni = false;
    bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
    bool avx512_vnni = false, avx512_bf16 = false, avx512_fp16 = false;
    bool amx_tile = false, amx_int8 = false, amx_bf16 = false;
    bool hypervisor = false;  // CPUID.1:ECX[31], set by every mainstream hypervisor
    // Arm
    bool neon = false, asimd_dotprod = false, asimd_fp16 = false, i8mm = false, bf16 = false;
    bool sve = false, sme = false;

    // Names of the features present, in a fixed order, e.g. {"sse4.2","avx2","avx512f",...}.
    std::vector<std::string> names() const;
};

// Read once and cached; cheap to call.
const CpuFeatures& cpu_features();

}  // namespace versus::system
