#include "backend/backend.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <utility>
#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

extern "C" int versus_cpu_backend_init(uint32_t abi_version, versus_backend_i* out, char* err, size_t err_len);

namespace versus::backend {

std::string_view memory_kind_name(int kind) {
    switch (kind) {
        case VERSUS_MEMORY_HOST: return "host";
        case VERSUS_MEMORY_UNIFIED: return "unified";
        case VERSUS_MEMORY_DISCRETE: return "discrete";
    }
    return "unknown";
}

namespace {
struct DtypeName {
    versus_dtype dtype;
    const char* name;
    size_t size;
};
constexpr DtypeName DTYPES[] = {
    {VERSUS_DTYPE_F32, "f32", 4}, {VERSUS_DTYPE_F16, "f16", 2}, {VERSUS_DTYPE_BF16, "bf16", 2},
    {VERSUS_DTYPE_I8, "i8", 1},   {VERSUS_DTYPE_TF32, "tf32", 4}, {VERSUS_DTYPE_FP8, "fp8", 1},
    {VERSUS_DTYPE_F64, "f64", 8},
};
}  // namespace

std::string_view dtype_name(versus_dtype d) {
    for (const auto& e : DTYPES)
        if (e.dtype == d) return e.name;
    return "unknown";
}

size_t dtype_size(versus_dtype d) {
    for (const auto& e : DTYPES)
        if (e.dtype == d) return e.size;
    return 0;
}

bool dtype_from_name(std::string_view name, versus_dtype* out) {
    for (const auto& e : DTYPES)
        if (name == e.name) {
            *out = e.dtype;
            return true;
        }
    return false;
}

DeviceBuffer& DeviceBuffer::operator=(DeviceBuffer&& o) noexcept {
    if (this != &o) {
        reset();
        b_ = std::exchange(o.b_, nullptr);
        device_ = o.device_;
        p_ = std::exchange(o.p_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
    }
    return *this;
}

void DeviceBuffer::reset() {
    if (b_ && p_) b_->free_buffer(device_, p_);
    b_ = nullptr;
    p_ = nullptr;
    bytes_ = 0;
}

HostBuffer& HostBuffer::operator=(HostBuffer&& o) noexcept {
    if (this != &o) {
        reset();
        b_ = std::exchange(o.b_, nullptr);
        device_ = o.device_;
        p_ = std::exchange(o.p_, nullptr);
        bytes_ = std::exchange(o.bytes_, 0);
        pinned_ = o.pinned_;
    }
    return *this;
}

void HostBuffer::reset() {
    if (b_ && p_) b_->free_host(device_, p_, pinned_);
    b_ = nullptr;
    p_ = nullptr;
    bytes_ = 0;
}

Backend::Backend(const versus_backend_i& table, void* dl_handle) : t_(table), dl_handle_(dl_handle) {}

Backend::~Backend() {
    if (t_.destroy) t_.destroy(t_.ctx);
    if (dl_handle_) dlclose(dl_handle_);
}

void Backend::check(int rc, const char* what) {
    if (rc != 0) throw BackendError(fmt::format("[{}] {} failed: {}", t_.name, what, t_.last_error(t_.ctx)));
}

int Backend::device_count() { return t_.device_count(t_.ctx); }

versus_device_info Backend::device_info(int device) {
    versus_device_info info{};
    check(t_.device_info(t_.ctx, device, &info), "device_info");
    return info;
}

bool Backend::supports(int device, versus_op op, versus_dtype dtype, std::string* why) {
    if (t_.supports(t_.ctx, device, op, dtype)) return true;
    if (why) *why = t_.last_error(t_.ctx);
    return false;
}

void Backend::set_threads(int n) {
    if (t_.set_threads) check(t_.set_threads(t_.ctx, n), "set_threads");
}

DeviceBuffer Backend::alloc(int device, uint64_t bytes) {
    void* p = nullptr;
    check(t_.buffer_alloc(t_.ctx, device, bytes, &p), "buffer_alloc");
    return DeviceBuffer(this, device, p, bytes);
}

HostBuffer Backend::host_alloc(int device, uint64_t bytes, bool pinned) {
    void* p = nullptr;
    check(t_.host_alloc(t_.ctx, device, bytes, pinned ? 1 : 0, &p), "host_alloc");
    return HostBuffer(this, device, p, bytes, pinned);
}

void Backend::free_buffer(int device, void* p) noexcept { t_.buffer_free(t_.ctx, device, p); }
void Backend::free_host(int device, void* p, bool pinned) noexcept { t_.host_free(t_.ctx, device, p, pinned ? 1 : 0); }

void Backend::copy_h2d(int device, void* dst, const void* src, uint64_t bytes) {
    check(t_.copy_h2d(t_.ctx, device, dst, src, bytes), "copy_h2d");
}
void Backend::copy_d2h(int device, void* dst, const void* src, uint64_t bytes) {
    check(t_.copy_d2h(t_.ctx, device, dst, src, bytes), "copy_d2h");
}
void Backend::synchronize(int device) { check(t_.synchronize(t_.ctx, device), "synchronize"); }

void Backend::gemm(int device, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C) {
    check(t_.gemm(t_.ctx, device, dtype, M, N, K, A, B, C), "gemm");
}

void Backend::stream(int device, versus_stream_kind kind, void* a, const void* b, const void* c, double s,
                     uint64_t n, uint32_t passes) {
    check(t_.stream(t_.ctx, device, kind, a, b, c, s, n, passes), "stream");
}

void Backend::empty_task(int device) { check(t_.empty_task(t_.ctx, device), "empty_task"); }

void Backend::attention(int device, int impl, const versus_attention_shape& shape, const void* Q, const void* K,
                        const void* V, void* out, void* scratch) {
    if (!t_.attention)
        throw BackendError(fmt::format("[{}] the backend has no attention op. HINT: use one that has, e.g. -b cpu",
                                       t_.name));
    check(t_.attention(t_.ctx, device, impl, &shape, Q, K, V, out, scratch), "attention");
}

double Backend::peak_flops(int device, versus_dtype dtype, std::string* method) {
    if (!t_.peak_flops) return 0;
    double v = 0;
    const char* m = nullptr;
    if (t_.peak_flops(t_.ctx, device, dtype, &v, &m) != 0) return 0;
    if (method) *method = m ? m : "";
    return v;
}

void Backend::timer_start(int device) { check(t_.timer_start(t_.ctx, device), "timer_start"); }
void Backend::timer_stop(int device) { check(t_.timer_stop(t_.ctx, device), "timer_stop"); }
double Backend::timer_read(int device) {
    double ns = 0;
    check(t_.timer_read(t_.ctx, device, &ns), "timer_read");
    return ns;
}
void Backend::cache_flush(int device) { check(t_.cache_flush(t_.ctx, device), "cache_flush"); }
void Backend::empty_graph(int device, uint32_t n_tasks) {
    check(t_.empty_graph(t_.ctx, device, n_tasks), "empty_graph");
}
std::string Backend::op_note(int device, versus_op op, versus_dtype dtype) {
    const char* note = t_.op_note ? t_.op_note(t_.ctx, device, op, dtype) : nullptr;
    return note ? note : "";
}
std::string Backend::pci_bus_id(int device) {
    char id[64] = {0};
    if (!t_.pci_bus_id || t_.pci_bus_id(t_.ctx, device, id, sizeof id) != 0) return {};
    return id;
}

bool Backend::llm_supports(int device, int32_t ggml_type, std::string* why) {
    if (!has_llm() || !t_.llm_supports) {
        if (why) *why = fmt::format("the {} backend keeps no LLM layers on its devices", t_.name);
        return false;
    }
    if (t_.llm_supports(t_.ctx, device, ggml_type)) return true;
    if (why) *why = t_.last_error(t_.ctx);
    return false;
}

void* Backend::llm_load(int device, const versus_llm_hparams& hp, const std::vector<versus_llm_layer>& layers,
                        const versus_llm_weight* out_norm, const versus_llm_weight* output, int n_ctx, int n_batch) {
    if (!has_llm())
        throw BackendError(fmt::format("[{}] the backend keeps no LLM layers on its devices. HINT: use -b cpu", t_.name));
    void* h = nullptr;
    check(t_.llm_load(t_.ctx, device, &hp, static_cast<int32_t>(layers.size()), layers.data(), out_norm, output, n_ctx,
                      n_batch, &h),
          "llm_load");
    return h;
}

void Backend::llm_eval(int device, void* handle, int n_tokens, int pos0, const float* x_in, float* out,
                       bool all_logits) {
    check(t_.llm_eval(t_.ctx, device, handle, n_tokens, pos0, x_in, out, all_logits ? 1 : 0), "llm_eval");
}

std::array<uint64_t, 3> Backend::llm_memory(int device, void* handle) {
    std::array<uint64_t, 3> b{};
    if (t_.llm_memory && t_.llm_memory(t_.ctx, device, handle, &b[0], &b[1], &b[2]) != 0) b = {};
    return b;
}

void Backend::llm_matmul(int device, const versus_llm_weight& w, int n_tokens, const float* x, float* y) {
    if (!t_.llm_matmul) throw BackendError(fmt::format("[{}] the backend has no llm_matmul op", t_.name));
    check(t_.llm_matmul(t_.ctx, device, &w, n_tokens, x, y), "llm_matmul");
}

std::vector<uint8_t> Backend::coll_id() {
    std::vector<uint8_t> id(VERSUS_COLL_ID_BYTES);
    check(t_.coll_id(t_.ctx, id.data()), "coll_id");
    return id;
}

void* Backend::coll_init(const std::vector<uint8_t>& id, int n_ranks, int first_rank, const std::vector<int32_t>& devices) {
    void* comm = nullptr;
    check(t_.coll_init(t_.ctx, id.data(), n_ranks, first_rank, static_cast<int32_t>(devices.size()), devices.data(), &comm),
          "coll_init");
    return comm;
}

void Backend::coll_enqueue(void* comm, const std::vector<versus_coll_args>& per_device) {
    check(t_.coll_enqueue(t_.ctx, comm, per_device.data()), "coll_enqueue");
}

bool Backend::coll_test(void* comm) {
    int done = 0;
    check(t_.coll_test(t_.ctx, comm, &done), "coll_test");
    return done != 0;
}

void Backend::coll_free(void* comm, bool abort) noexcept {
    if (comm && t_.coll_free) t_.coll_free(t_.ctx, comm, abort ? 1 : 0);
}

bool Backend::peer_access(int device, int peer, int enable) {
    int possible = 0;
    check(t_.peer_access(t_.ctx, device, peer, enable, &possible), "peer_access");
    return possible != 0;
}

void Backend::peer_copy(int dst_device, void* dst, int src_device, const void* src, uint64_t bytes) {
    check(t_.peer_copy(t_.ctx, dst_device, dst, src_device, src, bytes), "peer_copy");
}

std::string Backend::peer_link(int device, int peer, double* gbps) {
    char out[128] = {0};
    *gbps = 0;
    if (!t_.peer_link || t_.peer_link(t_.ctx, device, peer, out, sizeof out, gbps) != 0) return {};
    return out;
}

void Backend::llm_free(int device, void* handle) noexcept {
    if (handle && t_.llm_free) t_.llm_free(t_.ctx, device, handle);
}

void* Backend::train_gpt_create(int device, const versus_train_gpt_config& c, const float* params) {
    if (!has_train_gpt()) throw BackendError(fmt::format("[{}] the backend has no training engine", t_.name));
    void* h = nullptr;
    check(t_.train_gpt_create(t_.ctx, device, &c, params, &h), "train_gpt_create");
    return h;
}

float Backend::train_gpt_step(int device, void* handle, const int32_t* tokens, const int32_t* targets, float* grads) {
    float loss = 0;
    check(t_.train_gpt_step(t_.ctx, device, handle, tokens, targets, &loss, grads), "train_gpt_step");
    return loss;
}

void Backend::train_gpt_params(int device, void* handle, float* params) {
    if (!t_.train_gpt_params) throw BackendError(fmt::format("[{}] the backend has no train_gpt_params op", t_.name));
    check(t_.train_gpt_params(t_.ctx, device, handle, params), "train_gpt_params");
}

void* Backend::train_resnet_create(int device, const versus_train_resnet_config& c) {
    if (!has_train_resnet()) throw BackendError(fmt::format("[{}] the backend has no ResNet-50 training", t_.name));
    void* h = nullptr;
    check(t_.train_resnet_create(t_.ctx, device, &c, &h), "train_resnet_create");
    return h;
}

float Backend::train_resnet_step(int device, void* handle) {
    float loss = 0;
    check(t_.train_resnet_step(t_.ctx, device, handle, &loss), "train_resnet_step");
    return loss;
}

uint64_t Backend::train_memory(int device, void* handle) {
    uint64_t bytes = 0;
    if (t_.train_memory) check(t_.train_memory(t_.ctx, device, handle, &bytes), "train_memory");
    return bytes;
}

void Backend::train_free(int device, void* handle) noexcept {
    if (handle && t_.train_free) t_.train_free(t_.ctx, device, handle);
}

namespace {

std::string exe_dir() {
    char buf[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0) return ".";
    buf[n] = 0;
    return std::filesystem::path(buf).parent_path().string();
}

// Plugins sit next to the binary (build tree) or in ../lib/versus (installed); VERSUS_PLUGIN_DIR wins.
BackendSlot load_plugin(const std::string& name) {
    BackendSlot slot{name, nullptr, {}};
    const std::string file = "libversus-" + name + ".so";
    std::vector<std::string> dirs;
    if (const char* d = std::getenv("VERSUS_PLUGIN_DIR")) dirs.emplace_back(d);
    const std::string here = exe_dir();
    dirs.push_back(here);
    dirs.push_back(here + "/../lib/versus");
    std::string tried;
    for (const auto& dir : dirs) {
        const std::string path = dir + "/" + file;
        if (!std::filesystem::exists(path)) continue;
        void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            slot.reason = fmt::format("plugin {} failed to load: {}", path, dlerror());
            return slot;
        }
        auto init = reinterpret_cast<versus_backend_init_fn>(dlsym(h, VERSUS_BACKEND_INIT_SYMBOL));
        if (!init) {
            slot.reason = fmt::format("plugin {} has no {} symbol", path, VERSUS_BACKEND_INIT_SYMBOL);
            dlclose(h);
            return slot;
        }
        versus_backend_i table{};
        char err[512] = {0};
        if (init(VERSUS_BACKEND_ABI, &table, err, sizeof(err)) != 0) {
            slot.reason = err[0] ? err : "plugin initialisation failed";
            dlclose(h);
            return slot;
        }
        slot.backend = std::make_unique<Backend>(table, h);
        return slot;
    }
    slot.reason = fmt::format("{} not found (built without the toolkit?)", file);
    return slot;
}

}  // namespace

std::vector<BackendSlot> load_backends() {
    std::vector<BackendSlot> out;
#if defined(__linux__) || defined(_WIN32)
    out.push_back(load_plugin("cuda"));
#endif
#if defined(__APPLE__)
    out.push_back(BackendSlot{"metal", nullptr, "the Metal backend is not built yet"});
#endif
    BackendSlot cpu{"cpu", nullptr, {}};
    versus_backend_i table{};
    char err[512] = {0};
    if (versus_cpu_backend_init(VERSUS_BACKEND_ABI, &table, err, sizeof(err)) == 0)
        cpu.backend = std::make_unique<Backend>(table, nullptr);
    else
        cpu.reason = err;
    out.push_back(std::move(cpu));
    return out;
}

}  // namespace versus::backend
