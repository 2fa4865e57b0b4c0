// train-resnet50: one SGD-with-momentum step of ResNet-50 v1.5 on a synthetic batch (forward, cross-entropy,
// backward, update): on the CPU through oneDNN's primitives (src/train/resnet.hpp), on a device through its own step
// (train-device.hpp: cuDNN on CUDA). One op = one step on the
// same batch. Rows: images/s, step time, the epoch time of the data set at that rate, the loss and memory;
// J/image where a power meter exists (the runner's energy_j is per step).
#include <cmath>
#include <memory>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "system/memory.hpp"
#include "train/resnet.hpp"
#include "workloads/train-device.hpp"
#include "workloads/workload.hpp"

namespace versus::workloads {
namespace {

train::ResnetConfig config_of(const Params& p) {
    return train::resnet50_config(p.str("dataset"), static_cast<int>(p.integer("width")));
}

class TrainResnetInstance : public Instance {
public:
    TrainResnetInstance(const Target& t, const Params& p, int threads)
        : config_(config_of(p)),
          net_(config_, static_cast<int>(p.integer("batch")), threads, static_cast<uint64_t>(p.integer("seed"))) {
        std::string method;
        peak_ = t.backend.peak_flops(t.device, VERSUS_DTYPE_F32, &method);
    }

    void run() override {
        const double loss = net_.step();
        if (++steps_ == 1) first_loss_ = loss;
        last_loss_ = loss;
    }

    Check check() override {
        Check c;
        // A fresh network guesses: the first loss is near ln(classes); later steps stay finite.
        const double expect = std::log(static_cast<double>(config_.classes));
        if (!std::isfinite(last_loss_) || !(std::fabs(first_loss_ - expect) < 0.5 * expect))
            c = {false, "", fmt::format("loss {} then {}: the first step should give about ln({}) = {:.3f}", first_loss_,
                                        last_loss_, config_.classes, expect)};
        c.checksum = fmt::format("{:.4f}", first_loss_);
        return c;
    }

    Metrics metrics(double median_s) override {
        const double ips = base::rate_per_s(net_.batch(), median_s);
        const train::ResnetMemory m = net_.memory();
        return {
            {"images_per_s", ips},
            {"step_ms", median_s * 1e3},
            {"epoch_s", ips > 0 ? static_cast<double>(config_.epoch_images) / ips : 0.0},
            {"mfu_pct", base::percent_of_peak(ips * train::resnet50_train_flops_per_image(config_), peak_)},
            {"peak_gflops", peak_ / 1e9},
            {"loss_first", first_loss_},
            {"loss_last", last_loss_},
            {"weight_bytes", m.weights},
            {"grad_bytes", m.grads},
            {"optimizer_bytes", m.momentum},
            {"activation_bytes", m.activations},
            {"rss_peak_bytes", system::rss_peak_bytes()},
        };
    }

private:
    train::ResnetConfig config_;
    train::Resnet net_;
    int steps_ = 0;
    double first_loss_ = 0, last_loss_ = 0, peak_ = 0;
};

class TrainResnet : public Workload {
public:
    std::string_view key() const override { return "train-resnet50"; }
    std::string_view description() const override {
        return "ResNet-50 v1.5 training step (SGD with momentum) on synthetic images: images/s, epoch time, memory";
    }
    std::vector<ParamSpec> params() const override {
        ParamSpec dataset{"dataset", "dataset", core::ParamKind::CHOICE,
                          "imagenet-1k (224 px, 1000 classes) or cifar-10 (32 px, 10 classes, 3x3 stem)",
                          {"imagenet-1k", "cifar-10"}, "cifar-10", "imagenet-1k"};
        ParamSpec batch{"batch", "batch", core::ParamKind::INT, "images per step", {}, "4", "32", 1, 1 << 16};
        batch.flags = "-B";
        ParamSpec width{"width", "width", core::ParamKind::INT, "channels of the first stage (64: ResNet-50)", {}, "64",
                        "64", 8, 1024};
        ParamSpec seed{"seed", "seed", core::ParamKind::INT, "seed of the weights and images", {}, "1", "1", 0, INT64_MAX};
        return {dataset, batch, width, seed};
    }
    double flops(const Params& p) const override {
        return static_cast<double>(p.integer("batch")) * train::resnet50_train_flops_per_image(config_of(p));
    }
    double memory_bytes(const Params& p) const override {
        try {
            return train::resnet_memory(config_of(p), static_cast<int>(p.integer("batch"))).total();
        } catch (const Skip&) {
            return 0;  // no oneDNN: prepare() says so
        }
    }
    std::string memory_breakdown(const Params& p) const override {
        const auto m = train::resnet_memory(config_of(p), static_cast<int>(p.integer("batch")));
        const double gib = 1024.0 * 1024 * 1024;
        return fmt::format("ResNet-50 {} batch {}: weights {:.2f}, grads {:.2f}, momentum {:.2f}, activations {:.1f} GiB",
                           p.str("dataset"), p.integer("batch"), m.weights / gib, m.grads / gib, m.momentum / gib,
                           m.activations / gib);
    }
    std::unique_ptr<Instance> prepare(const Target& t, const Params& p) const override {
        if (t.backend.name() != "cpu")
            return device_resnet_instance(t, config_of(p), static_cast<int>(p.integer("batch")),
                                          static_cast<uint64_t>(p.integer("seed")));
        const int threads = p.find("threads") ? static_cast<int>(p.integer("threads")) : 1;
        return std::make_unique<TrainResnetInstance>(t, p, threads);
    }
};

}  // namespace

std::unique_ptr<Workload> make_train_resnet50() { return std::make_unique<TrainResnet>(); }

}  // namespace versus::workloads
