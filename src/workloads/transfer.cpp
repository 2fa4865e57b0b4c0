// transfer: moving data between host and device. Discrete devices: host->device and
// device->host copies from pageable and from pinned host memory, by size (small sizes give the
// latency, large ones the link bandwidth). Host and unified devices have no transfer: their rows
// say zero-copy and measure what takes its place, the device touching the host-written buffer
// in place, beside an explicit copy for code that copies anyway.
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "base/error.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

uint64_t size_of(const Params& p) { return static_cast<uint64_t>(p.integer("size_bytes")); }

class TransferInstance : public Instance {
public:
    TransferInstance(const Target& t, std::string direction, std::string mode, uint64_t bytes)
        : t_(t), h2d_(direction == "h2d"), mode_(std::move(mode)), bytes_(bytes) {
        if (mode_ == "zero-copy") {
            // One buffer both sides address; whole doubles so the device can touch it with a STREAM op.
            n_ = (bytes_ + 7) / 8;
            dev_ = t.backend.alloc(t.device, n_ * 8);
            std::vector<double> init(n_, 1.5);
            t.backend.copy_h2d(t.device, dev_.get(), init.data(), n_ * 8);
        } else {
            host_ = t.backend.host_alloc(t.device, bytes_, mode_ == "pinned");
            dev_ = t.backend.alloc(t.device, bytes_);
            auto* h = static_cast<uint8_t*>(host_.get());
            for (uint64_t i = 0; i < bytes_; ++i) h[i] = static_cast<uint8_t>(i * 131 + 7);
            t.backend.copy_h2d(t.device, dev_.get(), h, bytes_);  // d2h reads this back
        }
        t.backend.synchronize(t.device);
    }

    void run() override {
        if (mode_ == "zero-copy") {
            if (h2d_) {
                // The device reads (and rewrites unchanged) the data where the host left it.
                t_.backend.stream(t_.device, VERSUS_STREAM_SCALE, dev_.get(), dev_.get(), nullptr, 1.0, n_);
                t_.backend.synchronize(t_.device);
            } else {
                // The host reads what the device wrote, in place.
                // Eight partial sums, so the read is bound by memory, not by the latency of one add chain.
                const auto* d = static_cast<const double*>(dev_.get());
                double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                uint64_t i = 0;
                for (; i + 8 <= n_; i += 8)
                    for (int k = 0; k < 8; ++k) s[k] += d[i + k];
                for (; i < n_; ++i) s[0] += d[i];
                sink_ = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
            }
            return;
        }
        enqueue();
        t_.backend.synchronize(t_.device);
    }

    // Pinned copies are DMA the device does alone: timed on the device. A pageable copy is staged
    // through the CPU by the driver, which is part of its cost: timed on the host.
    bool device_timed() const override { return mode_ == "pinned" && t_.backend.has_timer(); }
    void enqueue() override {
        if (mode_ == "zero-copy") return run();
        if (h2d_)
            t_.backend.copy_h2d(t_.device, dev_.get(), host_.get(), bytes_);
        else
            t_.backend.copy_d2h(t_.device, host_.get(), dev_.get(), bytes_);
    }

    Check check() override {
        Check out;
        if (mode_ == "zero-copy") {
            std::vector<double> back(n_);
            t_.backend.copy_d2h(t_.device, back.data(), dev_.get(), n_ * 8);
            t_.backend.synchronize(t_.device);
            for (uint64_t i = 0; i < n_ && out.ok; ++i)
                if (back[i] != 1.5) out = {false, "", fmt::format("element {} changed to {}", i, back[i])};
            out.checksum = fmt::format("{}x1.5", n_);
            return out;
        }
        std::vector<uint8_t> back(bytes_);
        t_.backend.copy_d2h(t_.device, back.data(), dev_.get(), bytes_);
        t_.backend.synchronize(t_.device);
        uint64_t sum = 0;
        for (uint64_t i = 0; i < bytes_; ++i) {
            sum += back[i];
            if (back[i] != static_cast<uint8_t>(i * 131 + 7) && out.ok)
                out = {false, "", fmt::format("byte {} differs after the round trip", i)};
        }
        out.checksum = std::to_string(sum);
        return out;
    }

private:
    Target t_;
    bool h2d_;
    std::string mode_;
    uint64_t bytes_;
    uint64_t n_ = 0;
    backend::HostBuffer host_;
    backend::DeviceBuffer dev_;
    volatile double sink_ = 0;
};

class Transfer : public Workload {
public:
    std::string_view key() const override { return "transfer"; }
    std::string_view description() const override {
        return "host<->device copies (pageable, pinned) by size, or zero-copy on host/unified memory; GB/s, us";
    }
    std::vector<ParamSpec> params() const override {
        return {
            {"direction", "direction", core::ParamKind::CHOICE, "h2d: host to device, d2h: device to host",
             {"h2d", "d2h"}, "h2d,d2h", "h2d,d2h"},
            {"mode", "mode", core::ParamKind::CHOICE,
             "pageable/pinned host memory (discrete devices); zero-copy/copy (host and unified memory)",
             {"pageable", "pinned", "zero-copy", "copy"}, "", ""},
            {"size", "size_bytes", core::ParamKind::SIZE, "bytes per transfer", {}, "4K,1M,64M", "4-1G*4", 1,
             INT64_MAX},
        };
    }
    std::vector<std::pair<std::string, std::string>> suite(const versus_device_info& info, bool full) const override {
        const bool discrete = info.memory_kind == VERSUS_MEMORY_DISCRETE;
        return {{"direction", "h2d,d2h"},
                {"mode", discrete ? "pageable,pinned" : "zero-copy,copy"},
                {"size", full ? "4-1G*4" : "4K,1M,64M"}};
    }
    double bytes(const Params& p) const override { return static_cast<double>(size_of(p)); }
    double memory_bytes(const Params& p) const override { return 3.0 * static_cast<double>(size_of(p)); }
    Metrics metrics(const Params&, double median_s) const override { return {{"latency_us", median_s * 1e6}}; }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        const std::string& mode = p.str("mode");
        const bool discrete = t.info.memory_kind == VERSUS_MEMORY_DISCRETE;
        const auto kind = backend::memory_kind_name(t.info.memory_kind);
        if (mode == "zero-copy" && discrete)
            throw Skip("discrete device: data must cross the link; see the pageable and pinned rows");
        if ((mode == "pageable" || mode == "pinned") && !discrete)
            throw Skip(fmt::format("{} memory: no host<->device copy exists (zero-copy); see the zero-copy rows", kind));
        if (mode == "zero-copy" && !t.info.host_visible) throw Skip("device memory is not host-visible");
        std::string why;
        if (mode == "pinned" && !t.backend.supports(t.device, VERSUS_OP_PINNED_HOST, VERSUS_DTYPE_F32, &why))
            throw Skip(why);
        return std::make_unique<TransferInstance>(t, p.str("direction"), mode, size_of(p));
    }
};

}  // namespace

std::unique_ptr<Workload> make_transfer() { return std::make_unique<Transfer>(); }

}  // namespace versus::workloads
