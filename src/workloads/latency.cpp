// latency: what one unit of work costs before any computing happens. `dispatch`: launch an
// empty task/kernel and wait for it. `roundtrip`: 4 bytes host->device, an empty task, 4 bytes
// back, wait: the floor under every step of an LLM decode loop that talks to the host. `graph`
// (backends with graphs, i.e. CUDA): GRAPH_TASKS empty kernels captured once and launched as one
// graph, then a wait; reported per task, the launch cost a captured decode step pays per kernel.
// Timed on the host: the host's wait is the quantity.
#include <cstring>

#include <fmt/format.h>

#include "base/error.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

constexpr uint32_t GRAPH_TASKS = 100;

enum class LatencyOp { DISPATCH, ROUNDTRIP, GRAPH };

class LatencyInstance : public Instance {
public:
    LatencyInstance(const Target& t, LatencyOp op) : t_(t), roundtrip_(op == LatencyOp::ROUNDTRIP), graph_(op == LatencyOp::GRAPH) {
        if (roundtrip_) {
            host_ = t.backend.host_alloc(t.device, 8, false);
            dev_ = t.backend.alloc(t.device, 8);
        }
    }

    void run() override {
        if (roundtrip_) {
            ++counter_;
            std::memcpy(host_.get(), &counter_, 4);
            t_.backend.copy_h2d(t_.device, dev_.get(), host_.get(), 4);
            t_.backend.empty_task(t_.device);
            t_.backend.copy_d2h(t_.device, static_cast<uint8_t*>(host_.get()) + 4, dev_.get(), 4);
        } else if (graph_) {
            t_.backend.empty_graph(t_.device, GRAPH_TASKS);
        } else {
            t_.backend.empty_task(t_.device);
        }
        t_.backend.synchronize(t_.device);
    }

    Check check() override {
        if (!roundtrip_) return {true, "", ""};
        uint32_t back = 0;
        std::memcpy(&back, static_cast<uint8_t*>(host_.get()) + 4, 4);
        if (back != counter_) return {false, "", fmt::format("round trip returned {} instead of {}", back, counter_)};
        return {true, "ok", ""};
    }

private:
    Target t_;
    bool roundtrip_, graph_;
    uint32_t counter_ = 0;
    backend::HostBuffer host_;
    backend::DeviceBuffer dev_;
};

class Latency : public Workload {
public:
    std::string_view key() const override { return "latency"; }
    std::string_view description() const override {
        return "dispatch + synchronise of an empty task, and a 4-byte host<->device round trip; us";
    }
    std::vector<ParamSpec> params() const override {
        return {{"op", "op", core::ParamKind::CHOICE,
                 fmt::format("dispatch, roundtrip, or graph ({} empty kernels as one graph)", GRAPH_TASKS),
                 {"dispatch", "roundtrip", "graph"}, "dispatch,roundtrip", "dispatch,roundtrip"}};
    }
    // Graphs are a device feature: the host device's suite leaves them out instead of listing a skip.
    std::vector<std::pair<std::string, std::string>> suite(const versus_device_info& info, bool) const override {
        return {{"op", info.memory_kind == VERSUS_MEMORY_HOST ? "dispatch,roundtrip" : "dispatch,roundtrip,graph"}};
    }
    double memory_bytes(const Params&) const override { return 16; }
    Metrics metrics(const Params& p, double median_s) const override {
        if (p.str("op") == "graph")
            return {{"latency_us", median_s * 1e6 / GRAPH_TASKS}, {"tasks", static_cast<double>(GRAPH_TASKS)}};
        return {{"latency_us", median_s * 1e6}};
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        std::string why;
        if (!t.backend.supports(t.device, VERSUS_OP_EMPTY_TASK, VERSUS_DTYPE_F32, &why)) throw Skip(why);
        const std::string& op = p.str("op");
        if (op == "graph" && !t.backend.has_empty_graph())
            throw Skip(fmt::format("the {} backend has no task graphs", t.backend.name()));
        return std::make_unique<LatencyInstance>(t, op == "graph"       ? LatencyOp::GRAPH
                                                    : op == "roundtrip" ? LatencyOp::ROUNDTRIP
                                                                        : LatencyOp::DISPATCH);
    }
};

}  // namespace

std::unique_ptr<Workload> make_latency() { return std::make_unique<Latency>(); }

}  // namespace versus::workloads
