// peaks: a CUDA device's dense peak rate for each GEMM dtype, computed by a pure function of what the
// plugin knows about the device (architecture, SM count, maximum clock, name), so that it is tested on
// machines without a GPU. Host C++ only: the plugin and the tests compile it.
//
// One documented basis (docs/metrics.md, peak_pct):
// - a known device (a row of known_devices(), the spec database's dense figures: data/specs/nvidia.csv,
//   kept equal to it by a test) takes the spec's figure of the unit the dtype runs on, scaled by the
//   device's SMs over the spec's (a MIG slice has fewer); dtypes without a spec column take the
//   architecture's per-clock ratio to that figure (tf32 = f16 / 2, fp8 = 2 x f16, f64 = f32 x f64:f32
//   rate), i.e. the clock the vendor's figure implies;
// - any other device: SMs x the maximum boost clock x dense operations per clock per SM, an upper bound
//   (Hopper's datasheet tensor figures imply ~1830 MHz against a 1980 MHz maximum).
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "backend/backend-abi.h"

namespace versus::cuda {

// Dense operations per clock per SM (2 per multiply-add) of the units cuBLAS uses for a GEMM.
struct ArchRates {
    double f32 = 0;         // FP32 FMA lanes
    double f64 = 0;         // FP64 as DGEMM runs it: the FP64 tensor cores on sm_80/sm_90/sm_100, else FMA lanes
    double tensor_f16 = 0;  // f16/bf16 tensor cores with f32 accumulation at the full (data-centre) rate
};
// false for architectures without a row (before sm_70, or newer than this file).
bool arch_rates(int major, int minor, ArchRates* out);

// A device of the spec database, as the CUDA runtime names it.
struct KnownDevice {
    std::string_view cuda_name;  // cudaDeviceProp::name, exactly
    std::string_view spec_id;    // its row in data/specs/nvidia.csv
    int sms;                     // SMs of the full product
    double f32_tflops;           // fp32_TFLOPS
    double f16_tensor_tflops;    // fp16_tensor_TFLOPS: dense, f32 accumulate on GeForce
    double int8_tops;            // int8_TOPS: dense
};
std::span<const KnownDevice> known_devices();
// The row whose cuda_name is `name`, or nullptr.
const KnownDevice* find_known_device(std::string_view name);

// What the plugin knows of a device.
struct PeakDevice {
    int major = 0, minor = 0;
    int sms = 0;
    double clock_mhz = 0;  // maximum SM clock (cudaDevAttrClockRate)
    bool geforce = false;  // a GeForce board: f32-accumulate tensor math at half rate on consumer architectures
};

struct Peak {
    double flops_per_s = 0;  // FLOP/s, OP/s for int8
    std::string method;      // how it was obtained, for the record's peak_method
};

// The peak of `dtype` on `dev`, from `spec` when it is not nullptr (the known device `dev` is), else from
// the maximum clock. false with *why when there is no figure (an unknown architecture, fp8 before sm_89).
bool device_peak(const PeakDevice& dev, const KnownDevice* spec, versus_dtype dtype, Peak* out, std::string* why);

}  // namespace versus::cuda
