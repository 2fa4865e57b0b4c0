// The CUDA plugin's peak rates (src/backend/cuda/peaks.hpp), a pure function tested without a GPU: the
// datasheet figures of known devices for every GEMM dtype, the FP64 tensor-core rate DGEMM runs at, the
// maximum-clock basis of unknown devices, MIG slices, and the table of known devices against the spec
// database it mirrors (data/specs/nvidia.csv).
#include <gtest/gtest.h>

#include <cmath>

#include "backend/cuda/peaks.hpp"
#include "predict/specs.hpp"

using namespace versus::cuda;

namespace {

PeakDevice hopper(int sms = 132, double clock_mhz = 1980) { return {9, 0, sms, clock_mhz, false}; }

double peak_tflops(const PeakDevice& d, const KnownDevice* spec, versus_dtype dt, std::string* method = nullptr) {
    Peak p;
    std::string why;
    EXPECT_TRUE(device_peak(d, spec, dt, &p, &why)) << why;
    if (method) *method = p.method;
    return p.flops_per_s / 1e12;
}

}  // namespace

// H200 and H100 SXM report the 1980 MHz maximum clock; their datasheet figures are the basis: bf16 989.4
// TFLOPS, not the 1070 that 132 SMs x 1980 MHz x 4096 would give.
TEST(CudaPeaks, KnownHopperUsesTheDatasheetFigures) {
    for (const char* name : {"NVIDIA H200", "NVIDIA H100 80GB HBM3"}) {
        const KnownDevice* spec = find_known_device(name);
        ASSERT_NE(spec, nullptr) << name;
        std::string method;
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_BF16, &method), 989.4, 1e-9) << name;
        EXPECT_NE(method.find("989.4"), std::string::npos) << method;
        EXPECT_NE(method.find("nvidia.csv"), std::string::npos) << method;
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_F16), 989.4, 1e-9);
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_TF32), 494.7, 1e-9);
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_FP8), 1978.8, 1e-9);
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_I8), 1978.9, 1e-9);
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_F32), 66.9, 1e-9);
        // DGEMM runs on the FP64 tensor cores: 66.9 TFLOPS, twice the 33.5 of the FMA lanes.
        EXPECT_NEAR(peak_tflops(hopper(), spec, VERSUS_DTYPE_F64, &method), 66.9, 1e-9);
        EXPECT_NE(method.find("f64 tensor"), std::string::npos) << method;
    }
}

TEST(CudaPeaks, Fp64TensorCoreRates) {
    ArchRates r;
    ASSERT_TRUE(arch_rates(9, 0, &r));
    EXPECT_EQ(r.f64, 256);  // per clock per SM: twice the FP64 FMA lanes
    ASSERT_TRUE(arch_rates(8, 0, &r));
    EXPECT_EQ(r.f64, 128);
    // A100 from its spec row: 19.5 TFLOPS FP64 tensor = its FP32 figure.
    const KnownDevice* a100 = find_known_device("NVIDIA A100-SXM4-80GB");
    ASSERT_NE(a100, nullptr);
    EXPECT_NEAR(peak_tflops({8, 0, 108, 1410, false}, a100, VERSUS_DTYPE_F64), 19.5, 1e-9);
    // Without a spec row, a 132-SM Hopper at 1980 MHz: 132 x 1.98 GHz x 256 = 66.9 TFLOPS.
    EXPECT_NEAR(peak_tflops(hopper(), nullptr, VERSUS_DTYPE_F64), 66.9, 0.01);
    // Consumer parts run f64 at 1/64 of f32.
    const KnownDevice* rtx = find_known_device("NVIDIA GeForce RTX 4090");
    ASSERT_NE(rtx, nullptr);
    EXPECT_NEAR(peak_tflops({8, 9, 128, 2520, true}, rtx, VERSUS_DTYPE_F64), 82.58 / 64, 1e-9);
}

TEST(CudaPeaks, UnknownDevicesUseTheMaximumClock) {
    // An unknown Hopper (e.g. H100 NVL): SMs x maximum clock x ops per clock, said in the method.
    std::string method;
    EXPECT_NEAR(peak_tflops(hopper(132, 1785), nullptr, VERSUS_DTYPE_BF16, &method), 132 * 1.785 * 4096 / 1e3, 1e-9);
    EXPECT_NE(method.find("maximum clock"), std::string::npos) << method;
    EXPECT_EQ(find_known_device("NVIDIA H100 NVL"), nullptr);
    // GeForce boards of consumer architectures accumulate f16 in f32 at half rate; int8 is full rate.
    const PeakDevice ada{8, 9, 128, 2520, true};
    EXPECT_NEAR(peak_tflops(ada, nullptr, VERSUS_DTYPE_F16), 128 * 2.52 * 512 / 1e3, 1e-9);
    EXPECT_NEAR(peak_tflops(ada, nullptr, VERSUS_DTYPE_I8), 128 * 2.52 * 2048 / 1e3, 1e-9);
    EXPECT_NEAR(peak_tflops(ada, nullptr, VERSUS_DTYPE_FP8), 128 * 2.52 * 1024 / 1e3, 1e-9);
    // The same architecture on a professional board: full rate.
    EXPECT_NEAR(peak_tflops({8, 9, 142, 2505, false}, nullptr, VERSUS_DTYPE_F16), 142 * 2.505 * 1024 / 1e3, 1e-9);
}

TEST(CudaPeaks, MigSlicesScaleBySms) {
    // A MIG slice of an H100 with 16 of its 132 SMs keeps the name and reports the slice's SMs.
    std::string method;
    EXPECT_NEAR(peak_tflops(hopper(16), find_known_device("NVIDIA H100 80GB HBM3"), VERSUS_DTYPE_BF16, &method),
                989.4 * 16 / 132, 1e-9);
    EXPECT_NE(method.find("16/132 SMs"), std::string::npos) << method;
}

TEST(CudaPeaks, WhatHasNoPeakSaysWhy) {
    Peak p;
    std::string why;
    EXPECT_FALSE(device_peak({8, 0, 108, 1410, false}, nullptr, VERSUS_DTYPE_FP8, &p, &why));
    EXPECT_NE(why.find("fp8"), std::string::npos) << why;
    EXPECT_FALSE(device_peak({6, 1, 28, 1700, true}, nullptr, VERSUS_DTYPE_F32, &p, &why));
    EXPECT_NE(why.find("sm_61"), std::string::npos) << why;
    EXPECT_FALSE(device_peak({9, 0, 0, 0, false}, nullptr, VERSUS_DTYPE_F32, &p, &why));
}

// Every known device carries the spec database's figures, and its SM count agrees with the database's CUDA
// cores where the database has them.
TEST(CudaPeaks, KnownDevicesMatchTheSpecDatabase) {
    for (const KnownDevice& k : known_devices()) {
        SCOPED_TRACE(std::string(k.spec_id));
        const versus::predict::Platform p = versus::predict::resolve_platform(k.spec_id);
        ASSERT_TRUE(p.fp32_TFLOPS && p.fp16_tensor_TFLOPS && p.int8_TOPS);
        EXPECT_DOUBLE_EQ(k.f32_tflops, *p.fp32_TFLOPS);
        EXPECT_DOUBLE_EQ(k.f16_tensor_tflops, *p.fp16_tensor_TFLOPS);
        EXPECT_DOUBLE_EQ(k.int8_tops, *p.int8_TOPS);
        if (p.gpu_cores) {
            // FP32 lanes per SM: 64 up to sm_80 (V100, T4, A100), 128 after.
            EXPECT_TRUE(*p.gpu_cores == k.sms * 64 || *p.gpu_cores == k.sms * 128) << *p.gpu_cores << " cores";
        }
        EXPECT_EQ(find_known_device(k.cuda_name), &k);
    }
}
