#include "predict/fit.hpp"

#include <algorithm>
#include <vector>

#include <fmt/format.h>

namespace versus::predict {

namespace {

constexpr double GiB = 1024.0 * 1024.0 * 1024.0, GB = 1e9;
// The CUDA context, cuBLAS workspaces and the framework's own allocations take about this much VRAM.
constexpr double DISCRETE_RESERVE = 0.5 * GiB;
// The operating system and other programs keep at least this much of a machine's RAM.
constexpr double SYSTEM_RESERVE = 4.0 * GiB;
// What macOS keeps for itself when a GPU process goes past the working-set recommendation (a 16 GB M1 Pro
// runs a 13.5 GB F16 7B model: docs/predictor.md).
constexpr double APPLE_SYSTEM_RESERVE = 2.0 * GiB;

}  // namespace

double device_budget_bytes(const Platform& p, const PredictOptions& opt, std::string* rule) {
    const double mem = p.memory_GB * GiB;
    if (p.memory_kind == MemoryKind::DISCRETE) {
        const double vram = p.gpu_mem_max_GB.value_or(p.memory_GB) * GiB;
        *rule = fmt::format("{:.0f} GiB VRAM less {:.1f} GiB for the driver context", vram / GiB, DISCRETE_RESERVE / GiB);
        return std::max(0.0, vram - DISCRETE_RESERVE);
    }
    if (p.memory_kind == MemoryKind::UNIFIED) {
        if (opt.apple_wired_limit_GB > 0) {
            *rule = fmt::format("GPU working-set limit raised to {:.0f} GiB (iogpu.wired_limit_mb)", opt.apple_wired_limit_GB);
            return std::min(opt.apple_wired_limit_GB * GiB, mem);
        }
        const double share = p.memory_GB <= 32 ? 2.0 / 3.0 : 0.75;
        *rule = fmt::format("macOS GPU working-set limit: {} of {:.0f} GiB RAM", p.memory_GB <= 32 ? "2/3" : "3/4",
                            p.memory_GB);
        return mem * share;
    }
    *rule = fmt::format("{:.0f} GiB RAM less {:.0f} GiB for the system", p.memory_GB, SYSTEM_RESERVE / GiB);
    return std::max(0.0, mem - SYSTEM_RESERVE);
}

double host_ram_bytes(const Platform& p, const PredictOptions& opt, std::string* rule) {
    if (p.memory_kind == MemoryKind::UNIFIED) {
        // The CPU side of the same RAM: what the GPU's limit leaves, less the system's share.
        std::string unused;
        const double left = p.memory_GB * GiB - device_budget_bytes(p, opt, &unused) - SYSTEM_RESERVE;
        *rule = "the rest of the unified RAM, run by the CPU cores";
        return std::max(0.0, left);
    }
    if (p.memory_kind != MemoryKind::DISCRETE) {
        *rule = "none: the model runs where it is";
        return 0;
    }
    if (opt.host_ram_GB > 0) {
        *rule = fmt::format("{:.0f} GiB host RAM (--host-ram) less {:.0f} GiB", opt.host_ram_GB, SYSTEM_RESERVE / GiB);
        return std::max(0.0, opt.host_ram_GB * GiB - SYSTEM_RESERVE);
    }
    // A machine built around the card usually has at least twice its VRAM, and 64 GiB is common.
    const double ram = std::max(64.0, 2.0 * p.gpu_mem_max_GB.value_or(p.memory_GB));
    *rule = fmt::format("{:.0f} GiB host RAM assumed (set --host-ram) less {:.0f} GiB", ram, SYSTEM_RESERVE / GiB);
    return ram * GiB - SYSTEM_RESERVE;
}

MemoryPlan plan_memory(const Platform& p, const LlmQuery& q, const PredictOptions& opt) {
    MemoryPlan m;
    const auto& c = q.model;
    const int64_t ctx = q.ctx();
    const llm::WeightSummary w = q.weights();
    m.n_layer = c.n_layer;
    m.weight_bytes = static_cast<double>(w.total_bytes);
    m.kv_bytes = static_cast<double>(llm::kv_cache_bytes(c, ctx));
    // llama.cpp reserves its compute buffer for the worst batch at context creation: without flash attention
    // that holds the f32 scores of a prefill batch against the whole context (512 MiB for an 8B model at
    // 8K), which is what runs out first on a card the weights just fit.
    const int64_t batch = PREFILL_BATCH;
    m.working_bytes = static_cast<double>(llm::working_bytes(c, batch, ctx)) +
                      4.0 * static_cast<double>(c.n_head) * static_cast<double>(batch) * static_cast<double>(ctx);
    m.budget_bytes = device_budget_bytes(p, opt, &m.budget_rule);
    m.host_bytes = host_ram_bytes(p, opt, &m.host_rule);
    const std::string where = p.device_kind == DeviceKind::CPU ? "RAM" : "the GPU";
    const auto gb = [](double b) { return b / GB; };
    const std::string need = fmt::format("{:.1f} GB (weights {:.1f} + KV {:.1f} + buffers {:.1f})", gb(m.need_bytes()),
                                         gb(m.weight_bytes), gb(m.kv_bytes), gb(m.working_bytes));

    // The accelerator holds the output matrix, the buffers and the blocks; on a discrete GPU the token
    // embedding stays in host memory (llama.cpp looks rows up there), elsewhere it shares the one RAM.
    const bool embd_on_host = p.memory_kind == MemoryKind::DISCRETE;
    const double kv_layer = m.kv_bytes / static_cast<double>(c.n_layer);
    double dev = static_cast<double>(w.output_bytes) + m.working_bytes + (embd_on_host ? 0.0 : static_cast<double>(w.embd_bytes));
    double host = embd_on_host ? static_cast<double>(w.embd_bytes) : 0.0;
    std::vector<double> layer(static_cast<size_t>(c.n_layer));
    double all = dev;
    double blocks = 0;
    const std::vector<uint64_t> block_bytes = q.layer_bytes();
    for (size_t l = 0; l < layer.size() && l < block_bytes.size(); ++l) {
        layer[l] = static_cast<double>(block_bytes[l]) + kv_layer;
        blocks += static_cast<double>(block_bytes[l]);
    }
    // What belongs to no block (the output norm) goes with the output matrix.
    dev += std::max(0.0, m.weight_bytes - blocks - static_cast<double>(w.embd_bytes + w.output_bytes));
    all = dev;
    for (double b : layer) all += b;
    // macOS lets a process go past the recommended working set (llama.cpp warns and carries on), up to about
    // all of RAM less what the system needs: it fits, with a warning.
    const bool over_apple = p.memory_kind == MemoryKind::UNIFIED && all > m.budget_bytes &&
                            all <= p.memory_GB * GiB - APPLE_SYSTEM_RESERVE && opt.apple_wired_limit_GB <= 0;
    if (all <= m.budget_bytes || over_apple) {
        m.device_bytes = all;
        m.host_used_bytes = host;
        m.layers_on_device = c.n_layer;
        m.fits_device = m.fits = host <= std::max(m.host_bytes, host);
        m.summary = fmt::format("all {} layers in {}: {} of {:.1f} GB", c.n_layer, where, need, gb(m.budget_bytes));
        if (over_apple)
            m.summary += " — over macOS's recommended GPU working set: llama.cpp warns, and it may fail or swap under "
                         "memory pressure (raise iogpu.wired_limit_mb)";
        return m;
    }
    if (p.device_kind == DeviceKind::CPU) {
        m.summary = fmt::format("does not fit: needs {}, {:.1f} GB available", need, gb(m.budget_bytes));
        return m;
    }
    // Partial offload: blocks go on from the last one down while they fit, the rest stay in host memory.
    int64_t on_dev = 0;
    for (int64_t l = c.n_layer - 1; l >= 0; --l) {
        const double b = layer[static_cast<size_t>(l)];
        if (on_dev == c.n_layer - 1 - l && dev + b <= m.budget_bytes) {
            dev += b;
            ++on_dev;
        } else {
            host += b;
        }
    }
    if (dev > m.budget_bytes) {  // not even the output matrix and buffers: all on the host
        host += dev;
        dev = 0;
        on_dev = 0;
    }
    m.device_bytes = dev;
    m.host_used_bytes = host;
    m.layers_on_device = on_dev;
    m.fits = host <= m.host_bytes;
    if (m.fits) {
        m.summary = fmt::format("{}/{} layers on the GPU, {} in host RAM ({:.1f} GB): needs {}, GPU {:.1f} GB", on_dev,
                                c.n_layer, c.n_layer - on_dev, gb(host), need, gb(m.budget_bytes));
    } else {
        m.summary = fmt::format("does not fit: needs {}, GPU {:.1f} GB + host {:.1f} GB", need, gb(m.budget_bytes),
                                gb(m.host_bytes));
    }
    return m;
}

}  // namespace versus::predict
