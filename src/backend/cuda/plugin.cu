// plugin: the CUDA plugin's init (behind loader.cpp) and the device half of its table: devices (cudart, and NVML
// for the link and power limit), buffers, copies and STREAM on one non-blocking stream per device,
// spec peaks, and the device workload ops (event timers, L2 flush, graphs). GEMM is in gemm.cu, the
// kernels in kernels.cu, attention and the LLM ops in the LLM half (fill_llm_ops).
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "backend/cuda/cuda-common.cuh"
#include "base/metrics.hpp"
#include "system/nvml.hpp"

namespace versus::cuda {

const char* dtype_label(versus_dtype d) {
    switch (d) {
        case VERSUS_DTYPE_F32: return "f32";
        case VERSUS_DTYPE_F16: return "f16";
        case VERSUS_DTYPE_BF16: return "bf16";
        case VERSUS_DTYPE_I8: return "i8";
        case VERSUS_DTYPE_TF32: return "tf32";
        case VERSUS_DTYPE_FP8: return "fp8";
        case VERSUS_DTYPE_F64: return "f64";
    }
    return "unknown dtype";
}

namespace {

constexpr size_t WORKSPACE_BYTES = 32u << 20;  // cuBLASLt's recommendation for Hopper and newer

int cc(const Device& d) { return d.prop.major * 10 + d.prop.minor; }
std::string sm_name(const Device& d) { return "sm_" + std::to_string(d.prop.major) + std::to_string(d.prop.minor); }

// The stream, the BLAS handles and the workspace, made on first use.
int make_ready(void* ctx, Device& d) {
    VCUDA_CHECK(ctx, cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
    if (cublasCreate(&d.blas) != CUBLAS_STATUS_SUCCESS) return fail(ctx, "cublasCreate failed");
    cublasSetStream(d.blas, d.stream);
    if (cublasLtCreate(&d.lt) != CUBLAS_STATUS_SUCCESS) return fail(ctx, "cublasLtCreate failed");
    VCUDA_CHECK(ctx, cudaMalloc(&d.workspace, WORKSPACE_BYTES));
    d.workspace_bytes = WORKSPACE_BYTES;
    d.ready = true;
    return 0;
}

}  // namespace

namespace {

// Makes device d current; with `ready`, also creates its stream and handles.
Device* select_device(void* ctx, int d, bool ready) {
    Ctx* c = as_ctx(ctx);
    if (d < 0 || d >= static_cast<int>(c->devices.size())) {
        fail(ctx, "no CUDA device " + std::to_string(d) + " (" + std::to_string(c->devices.size()) + " present)");
        return nullptr;
    }
    Device& dev = c->devices[d];
    if (const cudaError_t e = cudaSetDevice(dev.ordinal); e != cudaSuccess) {
        fail(ctx, std::string("cudaSetDevice: ") + cudaGetErrorString(e));
        return nullptr;
    }
    if (ready && !dev.ready && make_ready(ctx, dev) != 0) return nullptr;
    return &dev;
}

}  // namespace

Device* device(void* ctx, int d) { return select_device(ctx, d, true); }

namespace {

const char* last_error(void* ctx) { return as_ctx(ctx)->error.c_str(); }

void destroy(void* ctx) {
    Ctx* c = as_ctx(ctx);
    for (auto& d : c->devices) {
        if (!d.ready) continue;
        cudaSetDevice(d.ordinal);
        cudaStreamSynchronize(d.stream);
        release_gemm_plans(d);
        for (auto& [a, b] : d.timer_events) {
            cudaEventDestroy(a);
            cudaEventDestroy(b);
        }
        if (d.graph) cudaGraphExecDestroy(d.graph);
        if (d.flush_buf) cudaFree(d.flush_buf);
        if (d.workspace) cudaFree(d.workspace);
        if (d.lt) cublasLtDestroy(d.lt);
        if (d.blas) cublasDestroy(d.blas);
        cudaStreamDestroy(d.stream);
    }
    delete c;
}

int device_count(void* ctx) { return static_cast<int>(as_ctx(ctx)->devices.size()); }

void copy_text(char* dst, size_t cap, const std::string& s) { std::snprintf(dst, cap, "%s", s.c_str()); }

// "13.0" from 13000.
std::string cuda_version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10); }

std::string pci_id_of(const Device& d) {
    char id[32] = {0};
    if (cudaDeviceGetPCIBusId(id, sizeof id, d.ordinal) != cudaSuccess) return {};
    return id;
}

// The host link and the enforced power limit, from NVML; a reason in `link` when it is absent.
void read_link(Device& d) {
    d.link_done = true;
    if (d.prop.integrated) return;  // shares the host's memory: no link to cross
    std::string why;
    const system::NvmlSession nvml(&why);
    const system::NvmlLib* lib = nvml.lib();
    system::NvmlLib::Device h = lib ? nvml.device(pci_id_of(d), static_cast<unsigned>(d.ordinal), &why) : nullptr;
    if (!h) {
        d.link = "PCIe (no NVML: generation and width unknown)";
        return;
    }
    unsigned gen = 0, width = 0, mw = 0;
    // The maximum the device and the slot agree on: the current values drop at idle to save power.
    if (lib->device_get_max_pcie_link_generation && lib->device_get_max_pcie_link_width &&
        lib->device_get_max_pcie_link_generation(h, &gen) == 0 && lib->device_get_max_pcie_link_width(h, &width) == 0) {
        d.link = "PCIe " + std::to_string(gen) + ".0 x" + std::to_string(width);
        d.link_gbps = base::pcie_gbps(static_cast<int>(gen), static_cast<int>(width));
    } else {
        d.link = "PCIe (NVML gives no link generation)";
    }
    if (lib->device_get_enforced_power_limit && lib->device_get_enforced_power_limit(h, &mw) == 0)
        d.power_limit_w = mw * 1e-3;
}

int device_info(void* ctx, int index, versus_device_info* out) {
    Device* d = select_device(ctx, index, false);  // describing a device needs no stream or BLAS handles
    if (!d) return 1;
    Ctx* c = as_ctx(ctx);
    *out = versus_device_info{};
    copy_text(out->name, sizeof out->name, d->prop.name);
    copy_text(out->arch, sizeof out->arch, sm_name(*d));
    int drv = 0, rt = 0, clock_khz = 0;
    cudaDriverGetVersion(&drv);
    cudaRuntimeGetVersion(&rt);
    copy_text(out->driver, sizeof out->driver,
              (c->nvml_driver.empty() ? std::string("driver") : c->nvml_driver) + " (CUDA " + cuda_version_text(drv) +
                  "), runtime " + cuda_version_text(rt));
    out->memory_kind = d->prop.integrated ? VERSUS_MEMORY_UNIFIED : VERSUS_MEMORY_DISCRETE;
    out->host_visible = 0;  // cudaMalloc memory is not a host pointer, even on integrated GPUs
    out->compute_units = d->prop.multiProcessorCount;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, d->ordinal) == cudaSuccess)
        out->clock_mhz = clock_khz / 1000.0;
    size_t free_b = 0, total_b = 0;
    VCUDA_CHECK(ctx, cudaMemGetInfo(&free_b, &total_b));
    out->mem_total_bytes = total_b;
    out->mem_free_bytes = free_b;
    // Leave room for the context's own allocations, cuBLAS workspaces and fragmentation.
    const uint64_t margin = std::max<uint64_t>(256ull << 20, total_b / 32);
    out->mem_budget_bytes = free_b > margin ? free_b - margin : 0;
    if (!d->link_done) read_link(*d);
    copy_text(out->link, sizeof out->link, d->link);
    out->link_gbps = d->link_gbps;
    out->power_limit_w = d->power_limit_w;
    return 0;
}

int unsupported(void* ctx, std::string why) {
    fail(ctx, std::move(why));
    return 0;
}

int supports(void* ctx, int index, versus_op op, versus_dtype dtype) {
    Ctx* c = as_ctx(ctx);
    if (index < 0 || index >= static_cast<int>(c->devices.size()))
        return unsupported(ctx, "no CUDA device " + std::to_string(index));
    const Device& d = c->devices[index];
    // The kernels are built for sm_80 and newer (PTX of the newest for the future): older GPUs cannot run them.
    const bool kernels = cc(d) >= 80;
    const std::string old = sm_name(d) + ": this build's kernels target sm_80 and newer";
    switch (op) {
        case VERSUS_OP_GEMM:
            switch (dtype) {
                case VERSUS_DTYPE_F32:
                case VERSUS_DTYPE_F64:
                case VERSUS_DTYPE_F16: return 1;
                case VERSUS_DTYPE_I8: return kernels ? 1 : unsupported(ctx, old);
                case VERSUS_DTYPE_TF32:
                case VERSUS_DTYPE_BF16:
                    return cc(d) >= 80 ? 1
                                       : unsupported(ctx, std::string(dtype_label(dtype)) + " tensor cores need sm_80 or newer; this is " + sm_name(d));
                case VERSUS_DTYPE_FP8:
                    return cc(d) >= 89 ? 1
                                       : unsupported(ctx, "fp8 (e4m3) tensor cores need sm_89 or newer (Ada, Hopper, Blackwell); this is " +
                                                              sm_name(d));
            }
            return unsupported(ctx, "no CUDA GEMM for this dtype");
        case VERSUS_OP_STREAM:
            if (dtype != VERSUS_DTYPE_F64) return unsupported(ctx, "STREAM runs on f64 arrays only");
            return kernels ? 1 : unsupported(ctx, old);
        case VERSUS_OP_EMPTY_TASK: return kernels ? 1 : unsupported(ctx, old);
        case VERSUS_OP_COPY_H2D:
        case VERSUS_OP_COPY_D2H:
        case VERSUS_OP_PINNED_HOST: return 1;
        case VERSUS_OP_ATTENTION:
            if (!c->has_attention) return unsupported(ctx, "no CUDA attention kernel in this build");
            return dtype == VERSUS_DTYPE_F16 ? 1 : unsupported(ctx, "CUDA attention reads an f16 KV cache only");
    }
    return unsupported(ctx, "unknown op");
}

int buffer_alloc(void* ctx, int index, uint64_t bytes, void** out) {
    if (!device(ctx, index)) return 1;
    VCUDA_CHECK(ctx, cudaMalloc(out, std::max<uint64_t>(bytes, 1)));
    return 0;
}

int buffer_free(void* ctx, int index, void* p) {
    if (!device(ctx, index)) return 1;
    VCUDA_CHECK(ctx, cudaFree(p));
    return 0;
}

int host_alloc(void* ctx, int index, uint64_t bytes, int pinned, void** out) {
    if (!pinned) {
        // Pageable memory as a program would have it: plain, 64-byte aligned heap memory.
        *out = std::aligned_alloc(64, (std::max<uint64_t>(bytes, 1) + 63) / 64 * 64);
        return *out ? 0 : fail(ctx, "out of host memory allocating " + std::to_string(bytes) + " bytes");
    }
    if (!device(ctx, index)) return 1;
    VCUDA_CHECK(ctx, cudaHostAlloc(out, std::max<uint64_t>(bytes, 1), cudaHostAllocPortable));
    return 0;
}

int host_free(void* ctx, int, void* p, int pinned) {
    if (!pinned) {
        std::free(p);
        return 0;
    }
    VCUDA_CHECK(ctx, cudaFreeHost(p));
    return 0;
}

// An ABI entry that is one runtime call on device `index`: 0, or 1 with "<what>: <cuda message>".
template <typename F>
int on_device(void* ctx, int index, const char* what, F call) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    const cudaError_t e = call(*d);
    return e == cudaSuccess ? 0 : fail(ctx, std::string(what) + ": " + cudaGetErrorString(e));
}

// copy_h2d and copy_d2h: asynchronous on the device's stream.
template <cudaMemcpyKind KIND>
int copy(void* ctx, int index, void* dst, const void* src, uint64_t bytes) {
    return on_device(ctx, index, "cudaMemcpyAsync",
                     [&](Device& d) { return cudaMemcpyAsync(dst, src, bytes, KIND, d.stream); });
}

int synchronize(void* ctx, int index) {
    return on_device(ctx, index, "cudaStreamSynchronize", [](Device& d) { return cudaStreamSynchronize(d.stream); });
}

int stream(void* ctx, int index, versus_stream_kind kind, void* a, const void* b, const void* c, double s, uint64_t n,
           uint32_t passes) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (kind < VERSUS_STREAM_COPY || kind > VERSUS_STREAM_TRIAD) return fail(ctx, "unknown stream kind");
    if ((kind == VERSUS_STREAM_ADD || kind == VERSUS_STREAM_TRIAD) && !c) return fail(ctx, "add and triad need c");
    VCUDA_CHECK(ctx, launch_stream(kind, static_cast<double*>(a), static_cast<const double*>(b),
                                   static_cast<const double*>(c), s, n, std::max<uint32_t>(passes, 1),
                                   d->prop.multiProcessorCount, d->stream));
    return 0;
}

int empty_task(void* ctx, int index) {
    return on_device(ctx, index, "empty kernel launch", [](Device& d) { return launch_empty(d.stream); });
}

// Dense per-SM, per-clock rates from the architecture whitepapers (FLOP, or OP for int8).
struct ArchRates {
    double f32, f64, tensor_f16;  // tensor_f16: f16/bf16 inputs at full rate
};

bool arch_rates(int major, int minor, ArchRates* r) {
    if (major == 8 && minor == 0) *r = {128, 64, 2048};                  // A100, A30
    else if (major == 8) *r = {256, 4, 1024};                            // GA10x, Orin, Ada
    else if (major == 9) *r = {256, 128, 4096};                          // Hopper
    else if (major == 10 || major == 11) *r = {256, 128, 8192};          // Blackwell data centre, Thor
    else if (major == 12) *r = {256, 4, 1024};                           // Blackwell RTX, GB10
    else return false;
    return true;
}

int peak_flops(void* ctx, int index, versus_dtype dtype, double* flops_per_s, const char** method) {
    Ctx* c = as_ctx(ctx);
    if (index < 0 || index >= static_cast<int>(c->devices.size())) return fail(ctx, "no such device");
    const Device& d = c->devices[index];
    ArchRates r{};
    if (!arch_rates(d.prop.major, d.prop.minor, &r)) return fail(ctx, "no spec rates for " + sm_name(d));
    int clock_khz = 0;
    if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, d.ordinal) != cudaSuccess || clock_khz <= 0)
        return fail(ctx, "the device reports no clock");
    // GeForce boards of the consumer architectures run f16/bf16/fp8 tensor math with f32 accumulation
    // (what the gemm op uses) at half the rate of their professional siblings.
    const bool consumer = d.prop.major != 9 && d.prop.major != 10 && !(d.prop.major == 8 && d.prop.minor == 0) &&
                          std::strstr(d.prop.name, "GeForce") != nullptr;
    const double acc32 = consumer ? r.tensor_f16 / 2 : r.tensor_f16;
    double per_clk = 0;
    std::string what;
    switch (dtype) {
        case VERSUS_DTYPE_F32: per_clk = r.f32, what = "f32 FMA"; break;
        case VERSUS_DTYPE_F64: per_clk = r.f64, what = "f64 FMA"; break;
        case VERSUS_DTYPE_F16:
        case VERSUS_DTYPE_BF16: per_clk = acc32, what = "f16/bf16 tensor, f32 accumulate"; break;
        case VERSUS_DTYPE_TF32: per_clk = acc32 / 2, what = "tf32 tensor"; break;
        case VERSUS_DTYPE_I8: per_clk = 2 * r.tensor_f16, what = "int8 tensor"; break;
        case VERSUS_DTYPE_FP8:
            if (cc(d) < 89) return fail(ctx, "no fp8 on " + sm_name(d));
            per_clk = 2 * acc32, what = "fp8 tensor, f32 accumulate";
            break;
    }
    if (per_clk <= 0) return fail(ctx, "no peak for this dtype");
    const int sms = d.prop.multiProcessorCount;
    *flops_per_s = sms * (clock_khz * 1e3) * per_clk;
    c->peak_method = "spec: " + std::to_string(sms) + " SMs x " + std::to_string(clock_khz / 1000) + " MHz x " +
                     std::to_string(static_cast<int>(per_clk)) + " ops/clk/SM (" + sm_name(d) + " dense " + what +
                     (consumer ? ", GeForce rate" : "") + ")";
    *method = c->peak_method.c_str();
    return 0;
}

// ---- device workload ops ----

int timer_start(void* ctx, int index) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (d->timer_open) return fail(ctx, "timer_start called twice without timer_stop");
    if (d->timer_used == d->timer_events.size()) {
        cudaEvent_t a = nullptr, b = nullptr;
        VCUDA_CHECK(ctx, cudaEventCreate(&a));
        if (const cudaError_t e = cudaEventCreate(&b); e != cudaSuccess) {
            cudaEventDestroy(a);
            return fail(ctx, std::string("cudaEventCreate: ") + cudaGetErrorString(e));
        }
        d->timer_events.emplace_back(a, b);
    }
    VCUDA_CHECK(ctx, cudaEventRecord(d->timer_events[d->timer_used].first, d->stream));
    d->timer_open = true;
    return 0;
}

int timer_stop(void* ctx, int index) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (!d->timer_open) return fail(ctx, "timer_stop without timer_start");
    VCUDA_CHECK(ctx, cudaEventRecord(d->timer_events[d->timer_used].second, d->stream));
    d->timer_open = false;
    ++d->timer_used;
    return 0;
}

int timer_read(void* ctx, int index, double* elapsed_ns) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (d->timer_open) return fail(ctx, "timer_read inside an open interval");
    const size_t n = d->timer_used;
    d->timer_used = 0;
    double ns = 0;
    if (n > 0) {
        VCUDA_CHECK(ctx, cudaEventSynchronize(d->timer_events[n - 1].second));
        for (size_t i = 0; i < n; ++i) {
            float ms = 0;
            VCUDA_CHECK(ctx, cudaEventElapsedTime(&ms, d->timer_events[i].first, d->timer_events[i].second));
            ns += ms * 1e6;
        }
    }
    *elapsed_ns = ns;
    return 0;
}

int cache_flush(void* ctx, int index) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (!d->flush_buf) {
        // Twice the L2, so that no line of the previous op survives the write.
        const size_t bytes = std::max<size_t>(2 * static_cast<size_t>(d->prop.l2CacheSize), 8u << 20);
        VCUDA_CHECK(ctx, cudaMalloc(&d->flush_buf, bytes));
        d->flush_bytes = bytes;
    }
    VCUDA_CHECK(ctx, cudaMemsetAsync(d->flush_buf, 0, d->flush_bytes, d->stream));
    return 0;
}

int empty_graph(void* ctx, int index, uint32_t n_tasks) {
    Device* d = device(ctx, index);
    if (!d) return 1;
    if (n_tasks == 0) return fail(ctx, "a graph needs at least one task");
    if (d->graph_tasks != n_tasks) {
        if (d->graph) cudaGraphExecDestroy(d->graph);
        d->graph = nullptr;
        d->graph_tasks = 0;
        cudaGraph_t g = nullptr;
        VCUDA_CHECK(ctx, cudaStreamBeginCapture(d->stream, cudaStreamCaptureModeThreadLocal));
        cudaError_t e = cudaSuccess;
        for (uint32_t i = 0; i < n_tasks && e == cudaSuccess; ++i) e = launch_empty(d->stream);
        const cudaError_t end = cudaStreamEndCapture(d->stream, &g);
        if (e != cudaSuccess || end != cudaSuccess) {
            if (g) cudaGraphDestroy(g);
            return fail(ctx, std::string("capturing the graph: ") + cudaGetErrorString(e != cudaSuccess ? e : end));
        }
        e = cudaGraphInstantiate(&d->graph, g, 0);
        cudaGraphDestroy(g);
        if (e != cudaSuccess) return fail(ctx, std::string("cudaGraphInstantiate: ") + cudaGetErrorString(e));
        d->graph_tasks = n_tasks;
    }
    VCUDA_CHECK(ctx, cudaGraphLaunch(d->graph, d->stream));
    return 0;
}

int pci_bus_id(void* ctx, int index, char* out, size_t out_len) {
    Ctx* c = as_ctx(ctx);
    if (index < 0 || index >= static_cast<int>(c->devices.size())) return fail(ctx, "no such device");
    const std::string id = pci_id_of(c->devices[index]);
    if (id.empty()) return fail(ctx, "cudaDeviceGetPCIBusId failed");
    std::snprintf(out, out_len, "%s", id.c_str());
    return 0;
}

// Why cudart sees no device, in words a user can act on.
std::string no_device_reason(cudaError_t e) {
    const std::string cuda = std::string(cudaGetErrorName(e)) + " (" + std::to_string(static_cast<int>(e)) + ")";
    if (e == cudaErrorInsufficientDriver) {
        void* h = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
        if (!h)
            return "no NVIDIA driver: libcuda.so.1 not found (" + cuda +
                   "; a container needs the NVIDIA runtime, e.g. docker --gpus all)";
        ::dlclose(h);
        int rt = 0;
        cudaRuntimeGetVersion(&rt);
        return "the NVIDIA driver is older than this build's CUDA runtime " + cuda_version_text(rt) + " (" + cuda +
               "); update the driver";
    }
    if (e == cudaErrorNoDevice) {
        const char* vis = std::getenv("CUDA_VISIBLE_DEVICES");
        return "the driver sees no CUDA device (" + cuda + (vis ? ", CUDA_VISIBLE_DEVICES=" + std::string(vis) : "") + ")";
    }
    return "cudaGetDeviceCount failed: " + std::string(cudaGetErrorString(e)) + " (" + cuda + ")";
}

}  // namespace
}  // namespace versus::cuda

// The plugin proper's entry, called by libversus-cuda.so (loader.cpp) once a driver is known to be there.
extern "C" __attribute__((visibility("default"))) int versus_cuda_impl_init(uint32_t abi_version,
                                                                            versus_backend_i* out, char* err,
                                                                            size_t err_len) {
    using namespace versus::cuda;
    if (abi_version != VERSUS_BACKEND_ABI) {
        std::snprintf(err, err_len, "plugin built for backend ABI %u, the binary asks for %u: rebuild both",
                      VERSUS_BACKEND_ABI, abi_version);
        return 1;
    }
    int n = 0;
    if (const cudaError_t e = cudaGetDeviceCount(&n); e != cudaSuccess || n == 0) {
        std::snprintf(err, err_len, "%s", no_device_reason(e == cudaSuccess ? cudaErrorNoDevice : e).c_str());
        return 1;
    }
    auto* ctx = new Ctx();
    for (int i = 0; i < n; ++i) {
        Device d;
        d.ordinal = i;
        if (const cudaError_t e = cudaGetDeviceProperties(&d.prop, i); e != cudaSuccess) {
            std::snprintf(err, err_len, "cudaGetDeviceProperties(%d): %s", i, cudaGetErrorString(e));
            delete ctx;
            return 1;
        }
        ctx->devices.push_back(std::move(d));
    }
    {
        std::string why;
        const versus::system::NvmlSession nvml(&why);
        char ver[96] = {0};
        if (nvml.lib() && nvml.lib()->system_get_driver_version &&
            nvml.lib()->system_get_driver_version(ver, sizeof ver) == 0)
            ctx->nvml_driver = ver;
    }
    *out = versus_backend_i{
        /* .abi_version  = */ VERSUS_BACKEND_ABI,
        /* .name         = */ "cuda",
        /* .ctx          = */ ctx,
        /* .last_error   = */ last_error,
        /* .destroy      = */ destroy,
        /* .device_count = */ device_count,
        /* .device_info  = */ device_info,
        /* .supports     = */ supports,
        /* .set_threads  = */ nullptr,
        /* .buffer_alloc = */ buffer_alloc,
        /* .buffer_free  = */ buffer_free,
        /* .host_alloc   = */ host_alloc,
        /* .host_free    = */ host_free,
        /* .copy_h2d     = */ copy<cudaMemcpyHostToDevice>,
        /* .copy_d2h     = */ copy<cudaMemcpyDeviceToHost>,
        /* .synchronize  = */ synchronize,
        /* .gemm         = */ gemm,
        /* .stream       = */ stream,
        /* .empty_task   = */ empty_task,
        /* .peak_flops   = */ peak_flops,
        /* .attention    = */ nullptr,
    };
    out->timer_start = timer_start;
    out->timer_stop = timer_stop;
    out->timer_read = timer_read;
    out->cache_flush = cache_flush;
    out->empty_graph = empty_graph;
    out->pci_bus_id = pci_bus_id;
    fill_llm_ops(out);
    ctx->has_attention = out->attention != nullptr;
    return 0;
}
