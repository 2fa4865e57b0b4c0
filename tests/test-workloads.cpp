// The micro-benchmark workloads on the CPU backend: every op against a naive fp64 reference,
// and the runner's records (status, skip, memory refusal) for small configurations.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/cpu-peak.hpp"
#include "backend/cpu/kernels.hpp"
#include "core/context.hpp"
#include "core/printers.hpp"
#include "core/runner.hpp"
#include "system/sysinfo.hpp"
#include "workloads/fill.hpp"
#include "workloads/workload.hpp"

using namespace versus;

namespace {

backend::Backend& cpu_backend() {
    static auto slots = backend::load_backends();
    for (auto& s : slots)
        if (s.name == "cpu") return *s.backend;
    throw std::runtime_error("no cpu backend");
}

template <typename T>
backend::DeviceBuffer upload(const std::vector<T>& v) {
    auto buf = cpu_backend().alloc(0, v.size() * sizeof(T));
    cpu_backend().copy_h2d(0, buf.get(), v.data(), v.size() * sizeof(T));
    return buf;
}

}  // namespace

TEST(CpuBackend, DescribesTheHost) {
    auto info = cpu_backend().device_info(0);
    EXPECT_EQ(info.memory_kind, VERSUS_MEMORY_HOST);
    EXPECT_EQ(info.host_visible, 1);
    EXPECT_GT(info.mem_total_bytes, 0u);
    EXPECT_GT(info.mem_budget_bytes, 0u);
    EXPECT_GE(info.compute_units, 1);
    std::string why;
    EXPECT_FALSE(cpu_backend().supports(0, VERSUS_OP_GEMM, VERSUS_DTYPE_FP8, &why));
    EXPECT_FALSE(why.empty());
}

// C = A*B for every CPU GEMM dtype at an odd size, all entries against fp64.
class GemmVsReference : public ::testing::TestWithParam<versus_dtype> {};

TEST_P(GemmVsReference, AllEntries) {
    const versus_dtype dt = GetParam();
    const int M = 37, N = 53, K = 71;
    workloads::Rng rng(11);
    std::vector<double> a(M * K), b(K * N);
    std::vector<uint8_t> ab(a.size() * backend::dtype_size(dt)), bb(b.size() * backend::dtype_size(dt));
    auto encode = [&](std::vector<double>& ref, std::vector<uint8_t>& raw) {
        for (size_t i = 0; i < ref.size(); ++i) {
            switch (dt) {
                case VERSUS_DTYPE_I8: {
                    auto v = static_cast<int8_t>(rng.range(-127, 127));
                    ref[i] = v;
                    raw[i] = static_cast<uint8_t>(v);
                    break;
                }
                case VERSUS_DTYPE_BF16:
                case VERSUS_DTYPE_F16: {
                    const float f = static_cast<float>(rng.uniform());
                    uint16_t h = dt == VERSUS_DTYPE_BF16 ? cpu::f32_to_bf16(f) : cpu::f32_to_f16(f);
                    ref[i] = dt == VERSUS_DTYPE_BF16 ? cpu::bf16_to_f32(h) : cpu::f16_to_f32(h);
                    std::memcpy(&raw[i * 2], &h, 2);
                    break;
                }
                case VERSUS_DTYPE_F64: {
                    double d = rng.uniform();
                    ref[i] = d;
                    std::memcpy(&raw[i * 8], &d, 8);
                    break;
                }
                default: {
                    float f = static_cast<float>(rng.uniform());
                    ref[i] = f;
                    std::memcpy(&raw[i * 4], &f, 4);
                }
            }
        }
    };
    encode(a, ab);
    encode(b, bb);
    auto A = upload(ab), B = upload(bb);
    const size_t out = dt == VERSUS_DTYPE_F64 ? 8 : 4;
    auto C = cpu_backend().alloc(0, static_cast<uint64_t>(M) * N * out);
    cpu_backend().gemm(0, dt, M, N, K, A.get(), B.get(), C.get());
    cpu_backend().synchronize(0);
    std::vector<uint8_t> c(static_cast<size_t>(M) * N * out);
    cpu_backend().copy_d2h(0, c.data(), C.get(), c.size());
    for (int i = 0; i < M; ++i)
        for (int j = 0; j < N; ++j) {
            double ref = 0, mag = 0;
            for (int k = 0; k < K; ++k) {
                ref += a[i * K + k] * b[k * N + j];
                mag += std::fabs(a[i * K + k] * b[k * N + j]);
            }
            double got;
            const size_t idx = static_cast<size_t>(i) * N + j;
            if (dt == VERSUS_DTYPE_I8) {
                int32_t v;
                std::memcpy(&v, &c[idx * 4], 4);
                got = v;
                ASSERT_EQ(got, ref) << i << "," << j;
            } else if (dt == VERSUS_DTYPE_F64) {
                std::memcpy(&got, &c[idx * 8], 8);
                ASSERT_NEAR(got, ref, 1e-12 * mag + 1e-14) << i << "," << j;
            } else {
                float f;
                std::memcpy(&f, &c[idx * 4], 4);
                ASSERT_NEAR(f, ref, 1e-5 * mag + 1e-6) << i << "," << j;
            }
        }
}

INSTANTIATE_TEST_SUITE_P(AllDtypes, GemmVsReference,
                         ::testing::Values(VERSUS_DTYPE_F32, VERSUS_DTYPE_F64, VERSUS_DTYPE_BF16, VERSUS_DTYPE_F16,
                                           VERSUS_DTYPE_I8));

TEST(CpuBackend, StreamOpsWithPassesAndThreads) {
    for (int threads : {1, 2, 3}) {
        cpu_backend().set_threads(threads);
        const uint64_t n = 1003;  // odd, so slices have tails
        std::vector<double> b(n), c(n), a(n, -1);
        for (uint64_t i = 0; i < n; ++i) {
            b[i] = static_cast<double>(i) * 0.5;
            c[i] = 3.0 - static_cast<double>(i);
        }
        auto A = upload(a), B = upload(b), C = upload(c);
        const double s = 1.75;
        for (auto kind : {VERSUS_STREAM_COPY, VERSUS_STREAM_SCALE, VERSUS_STREAM_ADD, VERSUS_STREAM_TRIAD}) {
            for (uint32_t passes : {1u, 3u}) {
                cpu_backend().stream(0, kind, A.get(), B.get(), C.get(), s, n, passes);
                cpu_backend().synchronize(0);
                std::vector<double> got(n);
                cpu_backend().copy_d2h(0, got.data(), A.get(), n * 8);
                for (uint64_t i = 0; i < n; ++i) {
                    const double want = kind == VERSUS_STREAM_COPY    ? b[i]
                                        : kind == VERSUS_STREAM_SCALE ? s * b[i]
                                        : kind == VERSUS_STREAM_ADD   ? b[i] + c[i]
                                                                      : b[i] + s * c[i];
                    ASSERT_DOUBLE_EQ(got[i], want) << "kind " << kind << " passes " << passes << " i " << i;
                }
            }
        }
    }
    cpu_backend().set_threads(1);
}

namespace {

std::vector<core::Record> run_jobs(const std::string& workload, const std::vector<std::pair<std::string, std::string>>& v,
                                   const std::string& threads = "1") {
    static auto slots = backend::load_backends();
    static const system::SystemInfo sys = system::probe_system();
    static const core::Context ctx = core::build_context(sys, slots);
    const auto* w = workloads::find_workload(workload);
    EXPECT_NE(w, nullptr);
    auto jobs = core::plan_jobs(*w, cpu_backend(), 0, v, threads);
    std::vector<core::Record> out;
    core::RunOptions opt;
    opt.reps = 3;
    core::Runner runner(ctx, opt, [&](const core::Record& r) { out.push_back(r); });
    runner.run(jobs);
    return out;
}

}  // namespace

TEST(Runner, GemmRowsOkAndSkipped) {
    auto rows = run_jobs("gemm", {{"dtype", "f32,i8,fp8"}, {"size", "96"}});
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0].str("status"), "ok") << rows[0].str("reason");
    EXPECT_GT(rows[0].num("gflops"), 0);
    EXPECT_GT(rows[0].num("peak_pct"), 0);
    EXPECT_EQ(rows[0].integer("reps"), 3);
    EXPECT_EQ(rows[0].str("dtype"), "f32");
    EXPECT_EQ(rows[0].integer("threads"), 1);
    EXPECT_DOUBLE_EQ(rows[0].num("flops"), 2.0 * 96 * 96 * 96);
    EXPECT_EQ(rows[1].str("status"), "ok") << rows[1].str("reason");
    EXPECT_EQ(rows[2].str("status"), "skipped");
    EXPECT_FALSE(rows[2].str("reason").empty());
    // No power meter here or there: energy is null with a reason, never a made-up number.
    if (rows[0].find("energy_j") && core::is_null(*rows[0].find("energy_j"))) {
        EXPECT_FALSE(rows[0].str("energy_reason").empty());
    }
}

TEST(Runner, MembwTransferLatencyRowsSelfCheck) {
    for (const auto& [w, v] : std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>{
             {"membw", {{"op", "all"}, {"size", "64K"}}},
             {"transfer", {{"direction", "h2d,d2h"}, {"mode", "zero-copy,copy,pinned"}, {"size", "4K"}}},
             {"latency", {{"op", "dispatch,roundtrip"}}}}) {
        for (const auto& r : run_jobs(w, v, "2")) {
            if (r.str("mode") == "pinned") {
                EXPECT_EQ(r.str("status"), "skipped") << w;
                continue;
            }
            EXPECT_EQ(r.str("status"), "ok") << w << " " << r.str("key") << ": " << r.str("reason");
            EXPECT_GT(r.num("median_ns"), 0) << w;
        }
    }
}

TEST(Runner, TooLargeForMemoryIsSkippedBeforeAllocating) {
    const auto* w = workloads::find_workload("gemm");
    auto jobs = core::plan_jobs(*w, cpu_backend(), 0, {{"dtype", "f32"}, {"size", "65536"}}, "1");
    ASSERT_EQ(jobs.size(), 1u);
    jobs[0].info.mem_budget_bytes = 1 << 20;
    EXPECT_EQ(core::jobs_over_budget(jobs).size(), 1u);
    auto rows = run_jobs("gemm", {{"dtype", "f32"}, {"size", "65536"}});
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].str("status"), "skipped");
    EXPECT_NE(rows[0].str("reason").find("needs"), std::string::npos);
}

TEST(CpuPeak, EachThreadKeepsItsBestRound) {
    // A thread descheduled for half its window in one round does not halve the peak: its best round counts.
    cpu::FmaPeak p;
    p.add_round(std::vector<double>{50e9, 25e9});
    p.add_round(std::vector<double>{49e9, 50e9});
    EXPECT_DOUBLE_EQ(p.total(), 100e9);
    EXPECT_FALSE(p.settled());  // too few rounds to trust
    for (int i = 0; i < cpu::FmaPeak::MIN_ROUNDS; ++i) p.add_round(std::vector<double>{40e9, 40e9});
    EXPECT_TRUE(p.settled());
    // A faster round later (the machine got quieter) raises the peak and asks for more rounds.
    p.add_round(std::vector<double>{60e9, 50e9});
    EXPECT_DOUBLE_EQ(p.total(), 110e9);
    EXPECT_FALSE(p.settled());
}

TEST(CpuPeak, MeasuredPeakHoldsAcrossQueries) {
    std::string method;
    const double first = cpu_backend().peak_flops(0, VERSUS_DTYPE_F32, &method);
    EXPECT_GT(first, 0);
    EXPECT_NE(method.find("best of many rounds"), std::string::npos) << method;
    EXPECT_GE(cpu_backend().peak_flops(0, VERSUS_DTYPE_F32, &method), first);  // topped up, never lowered
}

extern "C" int versus_cpu_backend_init(uint32_t abi_version, versus_backend_i* out, char* err, size_t err_len);

TEST(Runner, RateAbovePeakIsMeasuredAgainThenMarkedInDoubt) {
    // A backend whose peak is far too low, as a one-shot FMA loop on a busy machine gives: the runner asks
    // again, then keeps the figure and says the peak is in doubt, in the record and in the table.
    versus_backend_i t{};
    char err[256] = {};
    ASSERT_EQ(versus_cpu_backend_init(VERSUS_BACKEND_ABI, &t, err, sizeof err), 0) << err;
    static int asked = 0;
    asked = 0;
    t.peak_flops = [](void*, int, versus_dtype, double* out, const char** method) {
        ++asked;
        *out = 1e6;
        *method = "test: 1 MFLOP/s";
        return 0;
    };
    backend::Backend low(t, nullptr);
    static auto slots = backend::load_backends();
    static const system::SystemInfo sys = system::probe_system();
    static const core::Context ctx = core::build_context(sys, slots);
    auto jobs = core::plan_jobs(*workloads::find_workload("gemm"), low, 0, {{"dtype", "f32"}, {"size", "64"}}, "1");
    std::vector<core::Record> rows;
    core::RunOptions opt;
    opt.reps = 3;
    core::Runner(ctx, opt, [&](const core::Record& r) { rows.push_back(r); }).run(jobs);
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].str("status"), "ok") << rows[0].str("reason");
    EXPECT_EQ(asked, 2);
    EXPECT_GT(rows[0].num("peak_pct"), 100);
    EXPECT_NE(rows[0].str("peak_method").find("in doubt"), std::string::npos) << rows[0].str("peak_method");
    EXPECT_NE(rows[0].str("reason").find("peak in doubt"), std::string::npos) << rows[0].str("reason");
    const std::string table = core::render(rows, core::Format::TABLE);
    EXPECT_NE(table.find(" ?"), std::string::npos) << table;
    EXPECT_NE(table.find("the peak is in doubt"), std::string::npos) << table;
}
