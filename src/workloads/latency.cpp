// latency: what one unit of work costs before any computing happens. `dispatch`: launch an
// empty task/kernel and wait for it. `roundtrip`: 4 bytes host->device, an empty task, 4 bytes
// back, wait: the floor under every step of an LLM decode loop that talks to the host.
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

class LatencyInstance : public Instance {
public:
    LatencyInstance(const Target& t, bool roundtrip) : t_(t), roundtrip_(roundtrip) {
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
    bool roundtrip_;
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
        return {{"op", "op", core::ParamKind::CHOICE, "dispatch or roundtrip", {"dispatch", "roundtrip"},
                 "dispatch,roundtrip", "dispatch,roundtrip"}};
    }
    double memory_bytes(const Params&) const override { return 16; }
    Metrics metrics(const Params&, double median_s) const override { return {{"latency_us", median_s * 1e6}}; }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        std::string why;
        if (!t.backend.supports(t.device, VERSUS_OP_EMPTY_TASK, VERSUS_DTYPE_F32, &why)) throw Skip(why);
        return std::make_unique<LatencyInstance>(t, p.str("op") == "roundtrip");
    }
};

}  // namespace

std::unique_ptr<Workload> make_latency() { return std::make_unique<Latency>(); }

}  // namespace versus::workloads
