// peaks: the CUDA plugin's peak rates (peaks.hpp). The known devices mirror data/specs/nvidia.csv; a test
// (tests/test-cuda-peaks.cpp) fails when a figure here and the database differ.
#include "backend/cuda/peaks.hpp"

#include <cstdio>

namespace versus::cuda {

namespace {

// Whitepaper figures (Volta, Turing, Ampere, Ada, Hopper, Blackwell): dense ops per clock per SM; minor -1
// stands for any minor version.
struct ArchRow {
    int major, minor;
    ArchRates rates;
};
constexpr ArchRow ARCHS[] = {
    {7, 0, {128, 64, 1024}},     // V100
    {7, 5, {128, 4, 1024}},      // Turing: T4, RTX 20
    {8, 0, {128, 128, 2048}},    // A100, A30: FP64 tensor cores
    {8, -1, {256, 4, 1024}},     // GA10x, Orin, Ada
    {9, -1, {256, 256, 4096}},   // Hopper: FP64 tensor cores
    {10, -1, {256, 128, 8192}},  // Blackwell data centre
    {11, -1, {256, 128, 8192}},  // Thor
    {12, -1, {256, 4, 1024}},    // Blackwell RTX, GB10
};

// Rows of data/specs/nvidia.csv whose fp16_tensor_TFLOPS is the f32-accumulate rate the gemm op runs at, by
// the name cudaGetDeviceProperties gives. SMs: gpu_cores / FP32 lanes per SM (B200: 148, NVIDIA's figure).
constexpr KnownDevice KNOWN[] = {
    {"NVIDIA H100 80GB HBM3", "h100-sxm", 132, 66.9, 989.4, 1978.9},
    {"NVIDIA H100 PCIe", "h100-pcie", 114, 51, 756.5, 1513},
    {"NVIDIA H200", "h200", 132, 66.9, 989.4, 1978.9},
    {"NVIDIA A100-SXM4-80GB", "a100-sxm-80", 108, 19.5, 312, 624},
    {"NVIDIA A100-SXM4-40GB", "a100-sxm-40", 108, 19.5, 312, 624},
    {"NVIDIA A100 80GB PCIe", "a100-pcie-80", 108, 19.5, 312, 624},
    {"NVIDIA A100-PCIE-40GB", "a100-pcie-40", 108, 19.5, 312, 624},
    {"NVIDIA B200", "b200", 148, 80, 2250, 4500},
    {"NVIDIA L4", "l4", 58, 30.29, 121, 242.5},
    {"NVIDIA L40", "l40", 142, 90.5, 181.05, 362},
    {"NVIDIA L40S", "l40s", 142, 91.6, 362.05, 733},
    {"NVIDIA A10", "a10", 72, 31.24, 125, 250},
    {"NVIDIA RTX A6000", "rtx-a6000", 84, 38.71, 154.8, 309.7},
    {"NVIDIA RTX 6000 Ada Generation", "rtx-6000-ada", 142, 91.1, 364.2, 728.5},
    {"NVIDIA GeForce RTX 4090", "rtx-4090", 128, 82.58, 165.2, 660.6},
    {"NVIDIA GeForce RTX 4080", "rtx-4080", 76, 48.74, 97.4, 390},
    {"NVIDIA GeForce RTX 3090", "rtx-3090", 82, 35.58, 71, 284},
    {"NVIDIA GeForce RTX 3080", "rtx-3080", 68, 29.77, 59.5, 238},
    {"Tesla T4", "t4", 40, 8.14, 65.13, 130.25},
    {"Tesla V100-SXM2-32GB", "v100-sxm-32", 80, 15.67, 125.3, 62.67},
};

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

std::string sm_name(const PeakDevice& d) { return "sm_" + std::to_string(d.major) + std::to_string(d.minor); }

// Consumer architectures run f16/bf16/fp8 tensor math with f32 accumulation at half rate on GeForce boards.
bool half_rate_acc32(const PeakDevice& d) {
    const int cc = d.major * 10 + d.minor;
    return d.geforce && (cc == 75 || (d.major == 8 && cc != 80) || d.major == 12);
}

// DGEMM runs on FP64 tensor cores on A100/A30, Hopper and Blackwell data-centre parts.
bool fp64_tensor_cores(const PeakDevice& d) {
    return (d.major == 8 && d.minor == 0) || (d.major >= 9 && d.major <= 11);
}

// Per clock per SM and the unit's name, for dtype; 0 when the device has no such path.
double per_clock(const PeakDevice& d, const ArchRates& r, versus_dtype dtype, std::string* what) {
    const double acc32 = half_rate_acc32(d) ? r.tensor_f16 / 2 : r.tensor_f16;
    switch (dtype) {
        case VERSUS_DTYPE_F32:
            *what = "f32 FMA";
            return r.f32;
        case VERSUS_DTYPE_F64:
            *what = fp64_tensor_cores(d) ? "f64 tensor" : "f64 FMA";
            return r.f64;
        case VERSUS_DTYPE_F16:
        case VERSUS_DTYPE_BF16:
            *what = "f16/bf16 tensor, f32 accumulate";
            return acc32;
        case VERSUS_DTYPE_TF32:
            *what = "tf32 tensor";
            return acc32 / 2;
        case VERSUS_DTYPE_I8:
            *what = "int8 tensor";
            return 2 * r.tensor_f16;
        case VERSUS_DTYPE_FP8:
            *what = "fp8 tensor, f32 accumulate";
            return 2 * acc32;
    }
    return 0;
}

}  // namespace

bool arch_rates(int major, int minor, ArchRates* r) {
    for (const ArchRow& a : ARCHS)
        if (a.major == major && (a.minor == minor || a.minor < 0)) {
            *r = a.rates;
            return true;
        }
    return false;
}

std::span<const KnownDevice> known_devices() { return KNOWN; }

const KnownDevice* find_known_device(std::string_view name) {
    for (const KnownDevice& k : KNOWN)
        if (k.cuda_name == name) return &k;
    return nullptr;
}

bool device_peak(const PeakDevice& d, const KnownDevice* spec, versus_dtype dtype, Peak* out, std::string* why) {
    ArchRates r{};
    if (!arch_rates(d.major, d.minor, &r)) {
        *why = "no per-clock rates for " + sm_name(d);
        return false;
    }
    if (dtype == VERSUS_DTYPE_FP8 && d.major * 10 + d.minor < 89) {
        *why = "no fp8 tensor cores on " + sm_name(d);
        return false;
    }
    std::string what;
    const double per_clk = per_clock(d, r, dtype, &what);
    if (per_clk <= 0) {
        *why = "no peak for this dtype";
        return false;
    }
    if (spec) {
        // The spec's figure of the dtype's unit, times the per-clock ratio of the dtype to that unit.
        double figure = 0, ratio = 1;
        const char* column = "";
        switch (dtype) {
            case VERSUS_DTYPE_F32:
                figure = spec->f32_tflops, column = "fp32_TFLOPS";
                break;
            case VERSUS_DTYPE_F64:
                figure = spec->f32_tflops, column = "fp32_TFLOPS", ratio = r.f64 / r.f32;
                break;
            case VERSUS_DTYPE_F16:
            case VERSUS_DTYPE_BF16:
                figure = spec->f16_tensor_tflops, column = "fp16_tensor_TFLOPS";
                break;
            case VERSUS_DTYPE_TF32:
                figure = spec->f16_tensor_tflops, column = "fp16_tensor_TFLOPS", ratio = 0.5;
                break;
            case VERSUS_DTYPE_FP8:
                figure = spec->f16_tensor_tflops, column = "fp16_tensor_TFLOPS", ratio = 2;
                break;
            case VERSUS_DTYPE_I8:
                figure = spec->int8_tops, column = "int8_TOPS";
                break;
        }
        const double sm_share = d.sms > 0 && d.sms != spec->sms ? static_cast<double>(d.sms) / spec->sms : 1.0;
        out->flops_per_s = figure * 1e12 * ratio * sm_share;
        out->method = "spec: " + std::string(spec->spec_id) + " " + column + " " + number(figure) +
                      (ratio != 1 ? " x " + number(ratio) : "") +
                      (sm_share != 1 ? " x " + std::to_string(d.sms) + "/" + std::to_string(spec->sms) + " SMs" : "") +
                      " (" + sm_name(d) + " dense " + what + "; data/specs/nvidia.csv)";
        return true;
    }
    if (d.sms <= 0 || d.clock_mhz <= 0) {
        *why = "the device reports no SM count or clock";
        return false;
    }
    out->flops_per_s = d.sms * d.clock_mhz * 1e6 * per_clk;
    out->method =
        "spec: " + std::to_string(d.sms) + " SMs x " + number(d.clock_mhz) + " MHz (maximum clock) x " +
        number(per_clk) + " ops/clk/SM (" + sm_name(d) + " dense " + what +
        (half_rate_acc32(d) && dtype != VERSUS_DTYPE_F32 && dtype != VERSUS_DTYPE_F64 && dtype != VERSUS_DTYPE_I8
             ? ", GeForce rate"
             : "") +
        ")";
    return true;
}

}  // namespace versus::cuda
