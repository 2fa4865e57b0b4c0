// Contract: fill CpuFeatures from the hardware, never from compile-time macros, so one binary
// picks the right kernels on every CPU it runs on.
#include "system/cpu-features.hpp"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace versus::system {

namespace {

#if defined(__x86_64__) || defined(__i386__)
unsigned long long xgetbv0() {
    unsigned eax = 0, edx = 0;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return (static_cast<unsigned long long>(edx) << 32) | eax;
}

void detect_x86(CpuFeatures& f) {
    f.arch = "x86_64";
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return;
    f.sse2 = d & (1u << 26);
    f.sse3 = c & (1u << 0);
    f.ssse3 = c & (1u << 9);
    f.fma = c & (1u << 12);
    f.sse4_1 = c & (1u << 19);
    f.sse4_2 = c & (1u << 20);
    const bool osxsave = c & (1u << 27);
    f.avx = c & (1u << 28);
    f.f16c = c & (1u << 29);
    f.hypervisor = c & (1u << 31);
    // The OS must save the wide registers, or the instructions fault even if CPUID lists them.
    const unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    const bool os_avx = (xcr0 & 0x6) == 0x6;
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;
    const bool os_amx = (xcr0 & 0x60000) == 0x60000;
    f.avx = f.avx && os_avx;
    f.fma = f.fma && os_avx;
    f.f16c = f.f16c && os_avx;
    unsigned max_leaf = __get_cpuid_max(0, nullptr);
    if (max_leaf >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        f.avx2 = os_avx && (b & (1u << 5));
        f.avx512f = os_avx512 && (b & (1u << 16));
        f.avx512dq = os_avx512 && (b & (1u << 17));
        f.avx512bw = os_avx512 && (b & (1u << 30));
        f.avx512vl = os_avx512 && (b & (1u << 31));
        f.avx512_vnni = os_avx512 && (c & (1u << 11));
        f.avx512_fp16 = os_avx512 && (d & (1u << 23));
        f.amx_bf16 = os_amx && (d & (1u << 22));
        f.amx_tile = os_amx && (d & (1u << 24));
        f.amx_int8 = os_amx && (d & (1u << 25));
        __cpuid_count(7, 1, a, b, c, d);
        f.avx_vnni = os_avx && (a & (1u << 4));
        f.avx512_bf16 = os_avx512 && (a & (1u << 5));
    }
}
#endif

#if defined(__aarch64__)
void detect_arm(CpuFeatures& f) {
    f.arch = "aarch64";
    f.neon = true;  // Advanced SIMD is mandatory in AArch64
#if defined(__linux__)
    const unsigned long hw = getauxval(AT_HWCAP);
    const unsigned long hw2 = getauxval(AT_HWCAP2);
    f.asimd_fp16 = hw & HWCAP_ASIMDHP;
    f.asimd_dotprod = hw & HWCAP_ASIMDDP;
    f.sve = hw & HWCAP_SVE;
#ifdef HWCAP2_I8MM
    f.i8mm = hw2 & HWCAP2_I8MM;
#endif
#ifdef HWCAP2_BF16
    f.bf16 = hw2 & HWCAP2_BF16;
#endif
#ifdef HWCAP2_SME
    f.sme = hw2 & HWCAP2_SME;
#endif
    (void)hw2;
#elif defined(__APPLE__)
    auto has = [](const char* name) {
        int v = 0;
        size_t len = sizeof(v);
        return sysctlbyname(name, &v, &len, nullptr, 0) == 0 && v != 0;
    };
    f.asimd_fp16 = has("hw.optional.arm.FEAT_FP16");
    f.asimd_dotprod = has("hw.optional.arm.FEAT_DotProd");
    f.i8mm = has("hw.optional.arm.FEAT_I8MM");
    f.bf16 = has("hw.optional.arm.FEAT_BF16");
    f.sme = has("hw.optional.arm.FEAT_SME");
#endif
}
#endif

CpuFeatures detect() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    detect_x86(f);
#elif defined(__aarch64__)
    detect_arm(f);
#else
    f.arch = "unknown";
#endif
    return f;
}

}  // namespace

std::vector<std::string> CpuFeatures::names() const {
    std::vector<std::string> out;
    auto add = [&](bool on, const char* name) {
        if (on) out.emplace_back(name);
    };
    add(sse2, "sse2");
    add(sse3, "sse3");
    add(ssse3, "ssse3");
    add(sse4_1, "sse4.1");
    add(sse4_2, "sse4.2");
    add(avx, "avx");
    add(f16c, "f16c");
    add(fma, "fma");
    add(avx2, "avx2");
    add(avx_vnni, "avx-vnni");
    add(avx512f, "avx512f");
    add(avx512bw, "avx512bw");
    add(avx512vl, "avx512vl");
    add(avx512dq, "avx512dq");
    add(avx512_vnni, "avx512-vnni");
    add(avx512_bf16, "avx512-bf16");
    add(avx512_fp16, "avx512-fp16");
    add(amx_tile, "amx-tile");
    add(amx_int8, "amx-int8");
    add(amx_bf16, "amx-bf16");
    add(neon, "neon");
    add(asimd_dotprod, "dotprod");
    add(asimd_fp16, "fp16");
    add(i8mm, "i8mm");
    add(bf16, "bf16");
    add(sve, "sve");
    add(sme, "sme");
    return out;
}

const CpuFeatures& cpu_features() {
    static const CpuFeatures f = detect();
    return f;
}

}  // namespace versus::system
