// backend: the C++ face of a backend's C function table (backend-abi.h). It owns the table's
// context (and the plugin's dlopen handle), checks every call, and turns failures into
// BackendError with the backend's own message. Buffers are RAII.
#pragma once

#include <array>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "backend/backend-abi.h"

namespace versus::backend {

class BackendError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

std::string_view memory_kind_name(int kind);  // "host", "unified", "discrete"
std::string_view dtype_name(versus_dtype d);  // "f32", "bf16", ...
size_t dtype_size(versus_dtype d);            // bytes per input element
bool dtype_from_name(std::string_view name, versus_dtype* out);

class Backend;

// A device buffer; freed with its backend's buffer_free.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(Backend* b, int device, void* p, uint64_t bytes) : b_(b), device_(device), p_(p), bytes_(bytes) {}
    DeviceBuffer(DeviceBuffer&& o) noexcept { *this = std::move(o); }
    DeviceBuffer& operator=(DeviceBuffer&& o) noexcept;
    ~DeviceBuffer() { reset(); }
    void reset();
    void* get() const { return p_; }
    uint64_t bytes() const { return bytes_; }

private:
    Backend* b_ = nullptr;
    int device_ = 0;
    void* p_ = nullptr;
    uint64_t bytes_ = 0;
};

// Host memory obtained through the backend (pinned where asked and supported).
class HostBuffer {
public:
    HostBuffer() = default;
    HostBuffer(Backend* b, int device, void* p, uint64_t bytes, bool pinned)
        : b_(b), device_(device), p_(p), bytes_(bytes), pinned_(pinned) {}
    HostBuffer(HostBuffer&& o) noexcept { *this = std::move(o); }
    HostBuffer& operator=(HostBuffer&& o) noexcept;
    ~HostBuffer() { reset(); }
    void reset();
    void* get() const { return p_; }
    uint64_t bytes() const { return bytes_; }

private:
    Backend* b_ = nullptr;
    int device_ = 0;
    void* p_ = nullptr;
    uint64_t bytes_ = 0;
    bool pinned_ = false;
};

class Backend {
public:
    // Takes ownership of table.ctx (destroyed with table.destroy) and of dl_handle (dlclose).
    Backend(const versus_backend_i& table, void* dl_handle);
    ~Backend();
    Backend(const Backend&) = delete;
    Backend& operator=(const Backend&) = delete;

    std::string_view name() const { return t_.name; }
    int device_count();
    versus_device_info device_info(int device);
    // True if supported; otherwise false and *why (if given) holds the backend's reason.
    bool supports(int device, versus_op op, versus_dtype dtype, std::string* why = nullptr);
    bool has_threads() const { return t_.set_threads != nullptr; }
    void set_threads(int n);

    DeviceBuffer alloc(int device, uint64_t bytes);
    HostBuffer host_alloc(int device, uint64_t bytes, bool pinned);
    void copy_h2d(int device, void* dst, const void* src, uint64_t bytes);
    void copy_d2h(int device, void* dst, const void* src, uint64_t bytes);
    void synchronize(int device);
    void gemm(int device, versus_dtype dtype, int M, int N, int K, const void* A, const void* B, void* C);
    void stream(int device, versus_stream_kind kind, void* a, const void* b, const void* c, double s, uint64_t n,
                uint32_t passes = 1);
    void empty_task(int device);
    // Attention (backend-abi.h, versus_attention_shape): impl 0 naive (score matrix in `scratch`), 1 fused.
    // Throws BackendError when the backend has no attention op.
    void attention(int device, int impl, const versus_attention_shape& shape, const void* Q, const void* K,
                   const void* V, void* out, void* scratch);
    // Peak FLOP/s for dtype, or 0 with an empty method when the backend cannot tell.
    double peak_flops(int device, versus_dtype dtype, std::string* method);

    // Device workload ops (backend-abi.h); each is optional and has_*() says whether it is there.
    bool has_timer() const { return t_.timer_start && t_.timer_stop && t_.timer_read; }
    void timer_start(int device);
    void timer_stop(int device);
    // Waits for the device; nanoseconds inside the start/stop intervals since the last read.
    double timer_read(int device);
    bool has_cache_flush() const { return t_.cache_flush != nullptr; }
    void cache_flush(int device);
    bool has_empty_graph() const { return t_.empty_graph != nullptr; }
    void empty_graph(int device, uint32_t n_tasks);
    // "0000:65:00.0", or "" when the backend cannot tell.
    std::string pci_bus_id(int device);
    // What the op's measured time holds besides the op (backend-abi.h, op_note); "" when nothing.
    std::string op_note(int device, versus_op op, versus_dtype dtype);

    // LLM blocks resident on the device (backend-abi.h, llm_*). has_llm() is false when the backend has none.
    bool has_llm() const { return t_.llm_load && t_.llm_eval && t_.llm_free; }
    // True if weights of this ggml type can live on the device; otherwise false and *why holds the reason.
    bool llm_supports(int device, int32_t ggml_type, std::string* why = nullptr);
    void* llm_load(int device, const versus_llm_hparams& hp, const std::vector<versus_llm_layer>& layers,
                   const versus_llm_weight* out_norm, const versus_llm_weight* output, int n_ctx, int n_batch);
    void llm_eval(int device, void* handle, int n_tokens, int pos0, const float* x_in, float* out, bool all_logits);
    // {weights, kv, working} bytes a handle holds on the device; zeros when the backend cannot tell.
    std::array<uint64_t, 3> llm_memory(int device, void* handle);
    void llm_free(int device, void* handle) noexcept;
    // y (n_tokens, w.ne1) = x (n_tokens, w.ne0) · W^T on the device, host arrays (backend-abi.h, llm_matmul).
    void llm_matmul(int device, const versus_llm_weight& w, int n_tokens, const float* x, float* y);

    // Collectives between devices (backend-abi.h, coll_*); has_collectives() is false when the backend has none.
    bool has_collectives() const { return t_.coll_id && t_.coll_init && t_.coll_enqueue && t_.coll_test && t_.coll_free; }
    std::vector<uint8_t> coll_id();
    void* coll_init(const std::vector<uint8_t>& id, int n_ranks, int first_rank, const std::vector<int32_t>& devices);
    void coll_enqueue(void* comm, const std::vector<versus_coll_args>& per_device);
    // True when everything enqueued finished; throws BackendError on a communicator error.
    bool coll_test(void* comm);
    void coll_free(void* comm, bool abort) noexcept;

    // Peer-to-peer between devices (backend-abi.h, peer_*); has_peer() is false when the backend has none.
    bool has_peer() const { return t_.peer_access && t_.peer_copy; }
    // Whether device can reach peer directly; enable: 1 on, 0 off, -1 only ask.
    bool peer_access(int device, int peer, int enable);
    void peer_copy(int dst_device, void* dst, int src_device, const void* src, uint64_t bytes);
    // "NVLink 4.0 x18" / "PCIe" and GB/s per direction (0 unknown); "" when the backend cannot tell.
    std::string peer_link(int device, int peer, double* gbps);
    // Training steps resident on the device (backend-abi.h, train_*); has_train_*() is false when the backend
    // has none.
    bool has_train_gpt() const { return t_.train_gpt_create && t_.train_gpt_step && t_.train_free; }
    bool has_train_resnet() const { return t_.train_resnet_create && t_.train_resnet_step && t_.train_free; }
    void* train_gpt_create(int device, const versus_train_gpt_config& c, const float* params);
    // The mean loss before the update; grads (n_params floats) receives the gradients when not null.
    float train_gpt_step(int device, void* handle, const int32_t* tokens, const int32_t* targets, float* grads = nullptr);
    void train_gpt_params(int device, void* handle, float* params);
    void* train_resnet_create(int device, const versus_train_resnet_config& c);
    float train_resnet_step(int device, void* handle);
    uint64_t train_memory(int device, void* handle);
    void train_free(int device, void* handle) noexcept;

    // Used by the buffer classes.
    void free_buffer(int device, void* p) noexcept;
    void free_host(int device, void* p, bool pinned) noexcept;

private:
    void check(int rc, const char* what);

    versus_backend_i t_;
    void* dl_handle_;
};

// One entry of the backend list: a loaded backend, or the reason it is not available.
struct BackendSlot {
    std::string name;
    std::unique_ptr<Backend> backend;  // null when unavailable
    std::string reason;                // why unavailable
};

// The explicit backend list, in order: CUDA (plugin), Metal (macOS builds), CPU last.
std::vector<BackendSlot> load_backends();

}  // namespace versus::backend
