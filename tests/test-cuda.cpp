// test-cuda: the CUDA plugin. With a GPU: every op against the CPU backend (GEMM per dtype by
// normalised mean squared error, STREAM, copies, attention naive vs fused vs CPU), the device timer,
// cache flush and graphs, and runner rows timed on the device. Without one those tests are skipped
// with the plugin's reason. Always: the versus binary links no CUDA library, starts and says
// "cuda: not available (...)" without the plugin and with the plugin but no driver, and the plugin is
// built whenever VERSUS_CUDA is on; plus the host-side fp8 codec and PCIe figures the plugin uses.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "backend/backend.hpp"
#include "backend/cpu/kernels.hpp"
#include "core/context.hpp"
#include "base/metrics.hpp"
#include "core/runner.hpp"
#include "system/sysinfo.hpp"
#include "workloads/fill.hpp"
#include "workloads/fp8.hpp"
#include "workloads/workload.hpp"

#ifndef VERSUS_CUDA_PLUGIN
#define VERSUS_CUDA_PLUGIN ""  // built without the plugin
#define VERSUS_CUDA_PLUGIN_IMPL ""
#endif

namespace fs = std::filesystem;
using namespace versus;

namespace {

constexpr const char* NOT_BUILT = "the CUDA plugin is not built (VERSUS_CUDA=OFF or no nvcc at configure time)";

bool plugin_built() { return std::string(VERSUS_CUDA_PLUGIN).size() > 0; }

// The backend list with the build's plugin directory first; loaded once per test process.
std::vector<backend::BackendSlot>& slots() {
    static std::vector<backend::BackendSlot> s = [] {
        if (plugin_built()) ::setenv("VERSUS_PLUGIN_DIR", fs::path(VERSUS_CUDA_PLUGIN).parent_path().c_str(), 1);
        return backend::load_backends();
    }();
    return s;
}

backend::BackendSlot& slot(const std::string& name) {
    for (auto& s : slots())
        if (s.name == name) return s;
    throw std::runtime_error("no backend slot " + name);
}

backend::Backend& host_cpu() { return *slot("cpu").backend; }

// The CUDA backend, or nullptr with the reason to skip.
backend::Backend* gpu(std::string* why) {
    if (!plugin_built()) {
        *why = NOT_BUILT;
        return nullptr;
    }
    auto& s = slot("cuda");
    if (!s.backend) *why = "cuda: not available (" + s.reason + ")";
    return s.backend.get();
}

#define REQUIRE_GPU(var)                  \
    std::string skip_why_;                \
    backend::Backend* var = gpu(&skip_why_); \
    if (!var) GTEST_SKIP() << skip_why_

// Normalised mean squared error: sum (got - ref)^2 / sum ref^2.
double nmse(const std::vector<double>& got, const std::vector<double>& ref) {
    double num = 0, den = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
        num += (got[i] - ref[i]) * (got[i] - ref[i]);
        den += ref[i] * ref[i];
    }
    return den > 0 ? num / den : num;
}

template <typename T>
std::vector<T> download(backend::Backend& b, const backend::DeviceBuffer& buf, size_t n) {
    std::vector<T> v(n);
    b.copy_d2h(0, v.data(), buf.get(), n * sizeof(T));
    b.synchronize(0);
    return v;
}

backend::DeviceBuffer upload(backend::Backend& b, const void* p, size_t bytes) {
    auto buf = b.alloc(0, bytes);
    b.copy_h2d(0, buf.get(), p, bytes);
    b.synchronize(0);
    return buf;
}

struct Result {
    int code;
    std::string out;
};

Result sh(const std::string& cmd) {
    const auto dir = fs::temp_directory_path() / ("versus-cuda-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const auto out = dir / "out";
    const int status = std::system((cmd + " >" + out.string() + " 2>&1").c_str());
    std::ifstream in(out);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, std::string(std::istreambuf_iterator<char>(in), {})};
}

fs::path scratch_dir(const std::string& name) {
    const auto dir = fs::temp_directory_path() / ("versus-cuda-" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace

// ---- always run ----

TEST(CudaBuild, VersusBinaryLinksNoCudaLibrary) {
    const Result r = sh("readelf -d " + std::string(VERSUS_BINARY));
    if (r.code != 0) GTEST_SKIP() << "readelf not available: " << r.out;
    ASSERT_NE(r.out.find("NEEDED"), std::string::npos) << r.out;
    for (const char* lib : {"libcuda.", "libcudart", "libcublas", "libnvidia-ml", "libnccl"})
        EXPECT_EQ(r.out.find(lib), std::string::npos) << "versus links " << lib << ":\n" << r.out;
}

TEST(CudaBuild, PluginIsBuiltWhenEnabled) {
    if (!plugin_built()) GTEST_SKIP() << NOT_BUILT;
    // Both files next to the binary, where the build tree's versus looks for the plugin.
    for (const std::string f : {VERSUS_CUDA_PLUGIN, VERSUS_CUDA_PLUGIN_IMPL}) {
        ASSERT_TRUE(fs::exists(f)) << f;
        EXPECT_EQ(fs::path(f).parent_path(), fs::path(VERSUS_BINARY).parent_path()) << f;
    }
    const Result loader_syms = sh("nm -D --defined-only " + std::string(VERSUS_CUDA_PLUGIN));
    const Result impl_syms = sh("nm -D --defined-only " + std::string(VERSUS_CUDA_PLUGIN_IMPL));
    if (loader_syms.code == 0 && impl_syms.code == 0) {
        EXPECT_NE(loader_syms.out.find(" T versus_backend_init"), std::string::npos) << loader_syms.out;
        EXPECT_NE(impl_syms.out.find(" T versus_cuda_impl_init"), std::string::npos) << impl_syms.out;
    }
    // The loader needs no CUDA library; the plugin proper has cudart inside and loads cuBLAS.
    const Result loader = sh("readelf -d " + std::string(VERSUS_CUDA_PLUGIN));
    const Result impl = sh("readelf -d " + std::string(VERSUS_CUDA_PLUGIN_IMPL));
    if (loader.code == 0 && impl.code == 0) {
        for (const char* lib : {"libcuda", "libcublas"}) EXPECT_EQ(loader.out.find(lib), std::string::npos) << loader.out;
        EXPECT_EQ(impl.out.find("libcudart"), std::string::npos) << impl.out;
        EXPECT_NE(impl.out.find("libcublasLt"), std::string::npos) << impl.out;
    }
}

// The plugin proper, loaded on its own (the loader stops earlier where libcuda.so.1 is missing), says
// why it cannot start: cudart's own view of the missing driver or device.
TEST(CudaBuild, PluginProperExplainsAMissingDriver) {
    if (!plugin_built()) GTEST_SKIP() << NOT_BUILT;
    void* h = ::dlopen(VERSUS_CUDA_PLUGIN_IMPL, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << ::dlerror();
    auto init = reinterpret_cast<versus_backend_init_fn>(::dlsym(h, "versus_cuda_impl_init"));
    ASSERT_NE(init, nullptr);
    versus_backend_i t{};
    char err[512] = {0};
    EXPECT_NE(init(VERSUS_BACKEND_ABI + 1, &t, err, sizeof err), 0);  // a mismatched ABI is refused
    EXPECT_NE(std::string(err).find("ABI"), std::string::npos) << err;
    if (init(VERSUS_BACKEND_ABI, &t, err, sizeof err) == 0) {
        t.destroy(t.ctx);
        GTEST_SKIP() << "a CUDA device is present";
    }
    const std::string why = err;
    EXPECT_TRUE(why.find("driver") != std::string::npos || why.find("device") != std::string::npos) << why;
    EXPECT_NE(why.find("cudaError"), std::string::npos) << why;  // cudart's error, by name and number
}

TEST(CudaBuild, ProbeAndRunWithoutThePlugin) {
    // A copy of the binary alone in a directory, with an empty plugin directory: no plugin anywhere.
    const fs::path bin = scratch_dir("bin"), empty = scratch_dir("empty");
    fs::copy_file(VERSUS_BINARY, bin / "versus");
    const std::string env = "VERSUS_PLUGIN_DIR=" + empty.string() + " " + (bin / "versus").string();
    const Result probe = sh(env + " probe");
    EXPECT_EQ(probe.code, 0) << probe.out;
    EXPECT_NE(probe.out.find("cuda   not available (libversus-cuda.so not found"), std::string::npos) << probe.out;
    const fs::path out = scratch_dir("run-no-plugin") / "results.jsonl";
    const Result run = sh(env + " run -b cuda -q -o csv --out " + out.string());
    EXPECT_EQ(run.code, 0) << run.out;
    EXPECT_NE(run.out.find("cuda: not available"), std::string::npos) << run.out;
    const Result bench = sh(env + " bench latency -b cpu,cuda --time 0.02 -q -o csv");
    EXPECT_EQ(bench.code, 0) << bench.out;
    EXPECT_NE(bench.out.find("cuda: not available"), std::string::npos) << bench.out;
    EXPECT_NE(bench.out.find(",ok,"), std::string::npos) << bench.out;  // the CPU rows ran
}

TEST(CudaBuild, ProbeAndRunWithThePluginButNoGpu) {
    if (!plugin_built()) GTEST_SKIP() << NOT_BUILT;
    std::string why;
    if (gpu(&why)) GTEST_SKIP() << "a CUDA device is present: this test is for machines without one";
    // The build tree's binary finds the plugin next to itself; init fails and says why.
    const std::string bin = VERSUS_BINARY;
    const Result probe = sh("env -u VERSUS_PLUGIN_DIR " + bin + " probe");
    EXPECT_EQ(probe.code, 0) << probe.out;
    EXPECT_NE(probe.out.find("cuda   not available ("), std::string::npos) << probe.out;
    EXPECT_EQ(probe.out.find("libversus-cuda.so not found"), std::string::npos) << probe.out;
    // The reason names the driver or the device, whichever is missing.
    EXPECT_TRUE(why.find("driver") != std::string::npos || why.find("device") != std::string::npos) << why;
    const fs::path out = scratch_dir("run-no-gpu") / "results.jsonl";
    const Result run = sh("env -u VERSUS_PLUGIN_DIR " + bin + " run -b cuda -q -o csv --out " + out.string());
    EXPECT_EQ(run.code, 0) << run.out;
    EXPECT_NE(run.out.find("cuda: not available ("), std::string::npos) << run.out;
}

TEST(CudaHost, Fp8E4m3Codec) {
    using workloads::e4m3_to_f32;
    using workloads::f32_to_e4m3;
    EXPECT_EQ(e4m3_to_f32(0x00), 0.0f);
    EXPECT_EQ(e4m3_to_f32(0x38), 1.0f);          // exponent 7 = bias
    EXPECT_EQ(e4m3_to_f32(0x7e), 448.0f);        // largest finite
    EXPECT_EQ(e4m3_to_f32(0x01), 0x1.0p-9f);     // smallest subnormal
    EXPECT_TRUE(std::isnan(e4m3_to_f32(0x7f)));
    EXPECT_EQ(e4m3_to_f32(0xb8), -1.0f);
    // Every finite code round-trips; values between codes go to the nearer one, ties to even.
    for (int c = 0; c < 256; ++c) {
        if ((c & 0x7f) == 0x7f) continue;
        EXPECT_EQ(f32_to_e4m3(e4m3_to_f32(static_cast<uint8_t>(c))), c == 0x80 ? 0x80 : c) << c;
    }
    EXPECT_EQ(f32_to_e4m3(1.0625f), 0x38);  // halfway 1 .. 1.125: to the even code (1.0)
    EXPECT_EQ(f32_to_e4m3(1.1f), 0x39);
    EXPECT_EQ(f32_to_e4m3(1000.0f), 0x7e);  // saturates
    EXPECT_EQ(f32_to_e4m3(-1000.0f), 0xfe);
}

TEST(CudaHost, PcieLinkBandwidth) {
    EXPECT_NEAR(base::pcie_gbps(3, 16), 15.75, 0.01);
    EXPECT_NEAR(base::pcie_gbps(4, 16), 31.51, 0.01);
    EXPECT_NEAR(base::pcie_gbps(5, 16), 63.02, 0.01);
    EXPECT_NEAR(base::pcie_gbps(1, 1), 0.25, 1e-9);
    EXPECT_EQ(base::pcie_gbps(0, 16), 0.0);
    EXPECT_EQ(base::pcie_gbps(4, 0), 0.0);
}

// ---- with a GPU ----

TEST(Cuda, DescribesItsDevices) {
    REQUIRE_GPU(g);
    ASSERT_GE(g->device_count(), 1);
    const auto i = g->device_info(0);
    EXPECT_EQ(std::string(i.arch).rfind("sm_", 0), 0u) << i.arch;
    EXPECT_GT(i.compute_units, 0);
    EXPECT_GT(i.clock_mhz, 0);
    EXPECT_GT(i.mem_total_bytes, 0u);
    EXPECT_LE(i.mem_budget_bytes, i.mem_free_bytes);
    EXPECT_NE(std::string(i.driver).find("runtime"), std::string::npos) << i.driver;
    if (i.memory_kind == VERSUS_MEMORY_DISCRETE) {
        EXPECT_NE(std::string(i.link).find("PCIe"), std::string::npos) << i.link;
    }
    EXPECT_FALSE(g->pci_bus_id(0).empty());
    std::string method;
    EXPECT_GT(g->peak_flops(0, VERSUS_DTYPE_F32, &method), 1e12);
    EXPECT_NE(method.find("spec"), std::string::npos) << method;
}

// GEMM per dtype against the CPU backend where it has the dtype, else against fp64 of the inputs as
// the device sees them; the bound is on the normalised mean squared error.
class CudaGemm : public ::testing::TestWithParam<versus_dtype> {};

TEST_P(CudaGemm, MatchesTheCpu) {
    REQUIRE_GPU(g);
    const versus_dtype dt = GetParam();
    std::string why;
    if (!g->supports(0, VERSUS_OP_GEMM, dt, &why)) GTEST_SKIP() << why;
    const int M = 96, N = 80, K = 64;  // multiples of 16 for the int8 and fp8 tensor-core layouts
    const size_t in = backend::dtype_size(dt), out = dt == VERSUS_DTYPE_F64 ? 8 : 4;
    workloads::Rng rng(42);
    std::vector<uint8_t> a(size_t(M) * K * in), b(size_t(K) * N * in);
    std::vector<double> av(size_t(M) * K), bv(size_t(K) * N);
    auto fill = [&](std::vector<uint8_t>& raw, std::vector<double>& val) {
        for (size_t i = 0; i < val.size(); ++i) {
            const float f = static_cast<float>(rng.uniform());
            switch (dt) {
                case VERSUS_DTYPE_I8: {
                    const auto v = static_cast<int8_t>(rng.range(-127, 127));
                    raw[i] = static_cast<uint8_t>(v);
                    val[i] = v;
                    break;
                }
                case VERSUS_DTYPE_FP8: raw[i] = workloads::f32_to_e4m3(f), val[i] = workloads::e4m3_to_f32(raw[i]); break;
                case VERSUS_DTYPE_F16: {
                    const uint16_t h = cpu::f32_to_f16(f);
                    std::memcpy(&raw[i * 2], &h, 2);
                    val[i] = cpu::f16_to_f32(h);
                    break;
                }
                case VERSUS_DTYPE_BF16: {
                    const uint16_t h = cpu::f32_to_bf16(f);
                    std::memcpy(&raw[i * 2], &h, 2);
                    val[i] = cpu::bf16_to_f32(h);
                    break;
                }
                case VERSUS_DTYPE_F64: {
                    const double d = rng.uniform();
                    std::memcpy(&raw[i * 8], &d, 8);
                    val[i] = d;
                    break;
                }
                default: std::memcpy(&raw[i * 4], &f, 4), val[i] = f;  // f32, tf32
            }
        }
    };
    fill(a, av);
    fill(b, bv);
    auto widen = [&](const std::vector<uint8_t>& c) {
        std::vector<double> v(size_t(M) * N);
        for (size_t i = 0; i < v.size(); ++i) {
            if (dt == VERSUS_DTYPE_F64) std::memcpy(&v[i], &c[i * 8], 8);
            else if (dt == VERSUS_DTYPE_I8) v[i] = reinterpret_cast<const int32_t*>(c.data())[i];
            else v[i] = reinterpret_cast<const float*>(c.data())[i];
        }
        return v;
    };
    auto dA = upload(*g, a.data(), a.size()), dB = upload(*g, b.data(), b.size());
    auto dC = g->alloc(0, size_t(M) * N * out);
    g->gemm(0, dt, M, N, K, dA.get(), dB.get(), dC.get());
    const std::vector<double> got = widen(download<uint8_t>(*g, dC, size_t(M) * N * out));

    std::vector<double> ref(size_t(M) * N, 0);
    if (host_cpu().supports(0, VERSUS_OP_GEMM, dt)) {
        auto cA = upload(host_cpu(), a.data(), a.size()), cB = upload(host_cpu(), b.data(), b.size());
        auto cC = host_cpu().alloc(0, size_t(M) * N * out);
        host_cpu().gemm(0, dt, M, N, K, cA.get(), cB.get(), cC.get());
        ref = widen(download<uint8_t>(host_cpu(), cC, size_t(M) * N * out));
    } else {
        for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j)
                for (int k = 0; k < K; ++k) ref[size_t(i) * N + j] += av[size_t(i) * K + k] * bv[size_t(k) * N + j];
    }
    // Bounds: exact for int8; f32-accumulation error otherwise; tf32 rounds its inputs to 10 bits.
    const double bound = dt == VERSUS_DTYPE_I8     ? 0
                         : dt == VERSUS_DTYPE_F64  ? 1e-24
                         : dt == VERSUS_DTYPE_TF32 ? 1e-5
                                                   : 1e-9;
    EXPECT_LE(nmse(got, ref), bound) << backend::dtype_name(dt);
    // A second call (the cached plan) gives the same answer.
    g->gemm(0, dt, M, N, K, dA.get(), dB.get(), dC.get());
    EXPECT_EQ(widen(download<uint8_t>(*g, dC, size_t(M) * N * out)), got);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, CudaGemm,
                         ::testing::Values(VERSUS_DTYPE_F32, VERSUS_DTYPE_TF32, VERSUS_DTYPE_F16, VERSUS_DTYPE_BF16,
                                           VERSUS_DTYPE_I8, VERSUS_DTYPE_FP8, VERSUS_DTYPE_F64),
                         [](const auto& info) { return std::string(backend::dtype_name(info.param)); });

TEST(Cuda, StreamMatchesTheCpu) {
    REQUIRE_GPU(g);
    const uint64_t n = (1u << 20) + 13;  // not a multiple of any block size
    std::vector<double> b(n), c(n);
    workloads::Rng rng(5);
    for (uint64_t i = 0; i < n; ++i) b[i] = rng.uniform(), c[i] = rng.uniform();
    auto gb = upload(*g, b.data(), n * 8), gc = upload(*g, c.data(), n * 8);
    auto cb = upload(host_cpu(), b.data(), n * 8), cc = upload(host_cpu(), c.data(), n * 8);
    auto ga = g->alloc(0, n * 8), ca = host_cpu().alloc(0, n * 8);
    for (auto kind : {VERSUS_STREAM_COPY, VERSUS_STREAM_SCALE, VERSUS_STREAM_ADD, VERSUS_STREAM_TRIAD}) {
        g->stream(0, kind, ga.get(), gb.get(), gc.get(), 3.0, n, 3);
        host_cpu().stream(0, kind, ca.get(), cb.get(), cc.get(), 3.0, n, 1);
        EXPECT_EQ(download<double>(*g, ga, n), download<double>(host_cpu(), ca, n)) << kind;
    }
}

TEST(Cuda, CopiesRoundTrip) {
    REQUIRE_GPU(g);
    for (bool pinned : {false, true}) {
        for (uint64_t bytes : {uint64_t{1}, uint64_t{4093}, uint64_t{3} << 20}) {
            auto src = g->host_alloc(0, bytes, pinned), back = g->host_alloc(0, bytes, pinned);
            auto* s = static_cast<uint8_t*>(src.get());
            for (uint64_t i = 0; i < bytes; ++i) s[i] = static_cast<uint8_t>(i * 7 + 1);
            std::memset(back.get(), 0, bytes);
            auto dev = g->alloc(0, bytes);
            g->copy_h2d(0, dev.get(), src.get(), bytes);
            g->copy_d2h(0, back.get(), dev.get(), bytes);
            g->synchronize(0);
            EXPECT_EQ(std::memcmp(src.get(), back.get(), bytes), 0) << bytes << (pinned ? " pinned" : " pageable");
        }
    }
}

TEST(Cuda, DeviceTimerCacheFlushAndGraphs) {
    REQUIRE_GPU(g);
    ASSERT_TRUE(g->has_timer() && g->has_cache_flush() && g->has_empty_graph());
    const uint64_t n = 1 << 22;
    auto a = g->alloc(0, n * 8), b = g->alloc(0, n * 8);
    g->cache_flush(0);  // untimed
    g->timer_start(0);
    g->stream(0, VERSUS_STREAM_COPY, a.get(), b.get(), nullptr, 1.0, n, 4);
    g->timer_stop(0);
    g->timer_start(0);
    g->empty_graph(0, 10);
    g->timer_stop(0);
    const double ns = g->timer_read(0);
    EXPECT_GT(ns, 0);
    EXPECT_LT(ns, 1e9);
    EXPECT_EQ(g->timer_read(0), 0.0);  // read resets
    g->timer_start(0);
    EXPECT_THROW(g->timer_start(0), backend::BackendError);  // intervals do not nest
    g->timer_stop(0);
    g->timer_read(0);
    g->empty_graph(0, 10);  // replayed
    g->empty_graph(0, 3);   // re-captured with another count
    g->synchronize(0);
}

TEST(Cuda, AttentionNaiveFusedAndCpuAgree) {
    REQUIRE_GPU(g);
    std::string why;
    if (!g->supports(0, VERSUS_OP_ATTENTION, VERSUS_DTYPE_F16, &why)) GTEST_SKIP() << why;
    versus_attention_shape s{};
    s.n_head = 8, s.n_head_kv = 2, s.head_dim = 64, s.n_q = 5, s.n_kv = 37, s.q_pos0 = 32;
    s.scale = 1.0f / 8;
    s.k_row_stride = s.v_row_stride = uint64_t(s.n_head_kv) * s.head_dim + 16;  // padded rows
    workloads::Rng rng(9);
    std::vector<float> q(size_t(s.n_q) * s.n_head * s.head_dim);
    for (auto& x : q) x = static_cast<float>(rng.uniform());
    std::vector<uint16_t> k(s.n_kv * s.k_row_stride), v(s.n_kv * s.v_row_stride);
    for (auto& x : k) x = cpu::f32_to_f16(static_cast<float>(rng.uniform()));
    for (auto& x : v) x = cpu::f32_to_f16(static_cast<float>(rng.uniform()));
    const size_t out_n = q.size(), scratch = size_t(s.n_head) * s.n_q * s.n_kv * 4;
    auto run = [&](backend::Backend& b, int impl) {
        auto dq = upload(b, q.data(), q.size() * 4), dk = upload(b, k.data(), k.size() * 2),
             dv = upload(b, v.data(), v.size() * 2);
        auto dout = b.alloc(0, out_n * 4), dscratch = b.alloc(0, scratch);
        b.attention(0, impl, s, dq.get(), dk.get(), dv.get(), dout.get(), dscratch.get());
        const auto f = download<float>(b, dout, out_n);
        return std::vector<double>(f.begin(), f.end());
    };
    const auto ref = run(host_cpu(), 0);
    EXPECT_LE(nmse(run(*g, 0), ref), 1e-8);
    EXPECT_LE(nmse(run(*g, 1), ref), 1e-6);  // online softmax in f32, f16 tiles
}

TEST(Cuda, RunnerRowsAreDeviceTimedWithEnergyOrAReason) {
    REQUIRE_GPU(g);
    static const system::SystemInfo sys = system::probe_system();
    static const core::Context ctx = core::build_context(sys, slots());
    std::vector<core::Record> rows;
    core::RunOptions opt;
    opt.reps = 5;
    core::Runner runner(ctx, opt, [&](const core::Record& r) { rows.push_back(r); });
    std::vector<core::Job> jobs;
    for (const auto& [w, v] : std::vector<std::pair<std::string, std::vector<std::pair<std::string, std::string>>>>{
             {"gemm", {{"dtype", "f32,bf16,fp8"}, {"size", "256"}}},
             {"membw", {{"op", "triad"}, {"size", "64M"}}},
             {"transfer", {{"direction", "h2d"}, {"mode", "pageable,pinned"}, {"size", "1M"}}},
             {"latency", {{"op", "dispatch,roundtrip,graph"}}}}) {
        auto js = core::plan_jobs(*workloads::find_workload(w), *g, 0, v, "");
        jobs.insert(jobs.end(), js.begin(), js.end());
    }
    runner.run(jobs);
    ASSERT_EQ(rows.size(), jobs.size());
    for (const auto& r : rows) {
        const std::string what = r.str("workload") + " " + r.str("key");
        if (r.str("status") == "skipped") continue;  // e.g. fp8 before sm_89
        EXPECT_EQ(r.str("status"), "ok") << what << ": " << r.str("reason");
        EXPECT_GT(r.num("median_ns"), 0) << what;
        const bool host_timed = r.str("workload") == "latency" || r.str("mode") == "pageable";
        EXPECT_EQ(r.str("timer"), host_timed ? "host" : "device") << what;
        if (core::is_null(*r.find("energy_j"))) {
            EXPECT_FALSE(r.str("energy_reason").empty()) << what;
        } else {
            EXPECT_GT(r.num("power_w"), 0) << what;
            EXPECT_TRUE(r.has("gpu_throttled")) << what;
        }
    }
}
