// membw: STREAM's copy, scale, add and triad over a working-set sweep, so each cache level and
// DRAM show as a plateau. Bytes are counted as STREAM counts them (see docs/metrics.md).
#include <algorithm>
#include <cmath>
#include <vector>

#include <fmt/format.h>

#include "base/error.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

constexpr double SCALAR = 3.0;

struct OpInfo {
    const char* name;
    versus_stream_kind kind;
    int arrays;  // arrays touched: 2 (copy, scale) or 3 (add, triad)
};
constexpr OpInfo OPS[] = {
    {"copy", VERSUS_STREAM_COPY, 2},
    {"scale", VERSUS_STREAM_SCALE, 2},
    {"add", VERSUS_STREAM_ADD, 3},
    {"triad", VERSUS_STREAM_TRIAD, 3},
};

const OpInfo& op_of(const Params& p) {
    for (const auto& o : OPS)
        if (p.str("op") == o.name) return o;
    return OPS[3];
}

// Elements per array for a working set of `size` bytes over all arrays of the op.
uint64_t elems(const Params& p) {
    return std::max<uint64_t>(8, static_cast<uint64_t>(p.integer("size_bytes")) / (8 * op_of(p).arrays) / 8 * 8);
}

// Passes per timed dispatch, so that one dispatch moves at least ~64 MiB and cache-sized sets
// are not dominated by the dispatch cost.
uint32_t passes(const Params& p) {
    const double set = static_cast<double>(elems(p)) * 8 * op_of(p).arrays;
    return static_cast<uint32_t>(std::clamp(std::ceil(64.0 * (1 << 20) / set), 1.0, 65536.0));
}

class MembwInstance : public Instance {
public:
    MembwInstance(const Target& t, const OpInfo& op, uint64_t n, uint32_t passes)
        : t_(t), op_(op), n_(n), passes_(passes) {
        a_ = t.backend.alloc(t.device, n * 8);
        b_ = t.backend.alloc(t.device, n * 8);
        if (op.arrays == 3) c_ = t.backend.alloc(t.device, n * 8);
        // STREAM's initial values; a is overwritten by every op.
        std::vector<double> init(n);
        std::fill(init.begin(), init.end(), 1.0);
        t.backend.copy_h2d(t.device, a_.get(), init.data(), n * 8);
        std::fill(init.begin(), init.end(), 2.0);
        t.backend.copy_h2d(t.device, b_.get(), init.data(), n * 8);
        if (c_.get()) {
            std::fill(init.begin(), init.end(), 0.5);
            t.backend.copy_h2d(t.device, c_.get(), init.data(), n * 8);
        }
        t.backend.synchronize(t.device);
    }

    void run() override {
        enqueue();
        t_.backend.synchronize(t_.device);
    }
    bool device_timed() const override { return t_.backend.has_timer(); }
    void enqueue() override {
        t_.backend.stream(t_.device, op_.kind, a_.get(), b_.get(), c_.get(), SCALAR, n_, passes_);
    }
    // A one-pass row (at least 64 MiB) is there to measure device memory: a large last-level cache
    // (tens of MiB on GPUs) would otherwise serve part of it from the previous repetition. Multi-pass
    // rows are the cache-resident sizes, where a warm cache is what they measure.
    void before_rep() override {
        if (passes_ == 1 && t_.backend.has_cache_flush()) t_.backend.cache_flush(t_.device);
    }

    Check check() override {
        // b and c never change, so every element of a has one exact expected value.
        double expect = 0;
        switch (op_.kind) {
            case VERSUS_STREAM_COPY: expect = 2.0; break;
            case VERSUS_STREAM_SCALE: expect = SCALAR * 2.0; break;
            case VERSUS_STREAM_ADD: expect = 2.0 + 0.5; break;
            case VERSUS_STREAM_TRIAD: expect = 2.0 + SCALAR * 0.5; break;
        }
        std::vector<double> a(n_);
        t_.backend.copy_d2h(t_.device, a.data(), a_.get(), n_ * 8);
        t_.backend.synchronize(t_.device);
        Check out;
        double sum = 0;
        for (uint64_t i = 0; i < n_; ++i) {
            sum += a[i];
            if (a[i] != expect && out.ok) {
                out.ok = false;
                out.message = fmt::format("a[{}] = {} after {}, expected {}", i, a[i], op_.name, expect);
            }
        }
        out.checksum = fmt::format("{:.6e}", sum);
        return out;
    }

private:
    Target t_;
    const OpInfo& op_;
    uint64_t n_;
    uint32_t passes_;
    backend::DeviceBuffer a_, b_, c_;
};

class Membw : public Workload {
public:
    std::string_view key() const override { return "membw"; }
    std::string_view description() const override {
        return "STREAM copy/scale/add/triad over a working-set sweep (caches to DRAM); GB/s";
    }
    std::vector<ParamSpec> params() const override {
        return {
            {"op", "op", core::ParamKind::CHOICE, "STREAM kernel", {"copy", "scale", "add", "triad"}, "copy,triad",
             "copy,scale,add,triad"},
            {"size", "size_bytes", core::ParamKind::SIZE, "working set over all arrays of the op", {},
             "16K,256K,4M,256M", "4K-1G*2", 64, INT64_MAX},
        };
    }
    double bytes(const Params& p) const override {
        return static_cast<double>(elems(p)) * 8 * op_of(p).arrays * passes(p);
    }
    double memory_bytes(const Params& p) const override {
        return static_cast<double>(elems(p)) * 8 * (op_of(p).arrays + 1);  // + host staging for init/check
    }
    Metrics metrics(const Params& p, double) const override { return {{"passes", passes(p)}}; }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        std::string why;
        if (!t.backend.supports(t.device, VERSUS_OP_STREAM, VERSUS_DTYPE_F64, &why)) throw Skip(why);
        return std::make_unique<MembwInstance>(t, op_of(p), elems(p), passes(p));
    }
};

}  // namespace

std::unique_ptr<Workload> make_membw() { return std::make_unique<Membw>(); }

}  // namespace versus::workloads
