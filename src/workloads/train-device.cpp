#include "workloads/train-device.hpp"

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "backend/cpu/thread-pool.hpp"
#include "base/error.hpp"
#include "base/metrics.hpp"
#include "train/device-config.hpp"

namespace versus::workloads {
namespace {

// What both steps share: the handle, the losses, the check of the first loss against ln(classes).
class DeviceStep : public Instance {
public:
    DeviceStep(const Target& t, versus_dtype peak_dtype, int classes) : b_(t.backend), dev_(t.device), classes_(classes) {
        std::string method;
        peak_ = t.backend.peak_flops(t.device, peak_dtype, &method);
    }
    ~DeviceStep() override { b_.train_free(dev_, handle_); }

    void run() override {
        const double loss = step();
        if (++steps_ == 1) first_loss_ = loss;
        last_loss_ = loss;
    }

    Check check() override {
        Check c;
        const double expect = std::log(static_cast<double>(classes_));
        if (!std::isfinite(last_loss_) || !(std::fabs(first_loss_ - expect) < 0.5 * expect))
            c = {false, "", fmt::format("loss {} then {}: the first step should give about ln({}) = {:.3f}", first_loss_,
                                        last_loss_, classes_, expect)};
        c.checksum = fmt::format("{:.4f}", first_loss_);
        return c;
    }

protected:
    virtual double step() = 0;
    // Rows both steps write, from the model FLOPs of one step.
    Metrics common(double median_s, double flops) const {
        return {{"step_ms", median_s * 1e3},
                {"mfu_pct", base::percent_of_peak(base::rate_per_s(flops, median_s), peak_)},
                {"peak_gflops", peak_ / 1e9},
                {"loss_first", first_loss_},
                {"loss_last", last_loss_},
                {"device_bytes", static_cast<double>(b_.train_memory(dev_, handle_))}};
    }

    backend::Backend& b_;
    int dev_;
    void* handle_ = nullptr;

private:
    int classes_;
    int steps_ = 0;
    double peak_ = 0, first_loss_ = 0, last_loss_ = 0;
};

class DeviceGpt : public DeviceStep {
public:
    DeviceGpt(const Target& t, const train::GptConfig& c, const train::GptOptions& o)
        : DeviceStep(t, o.precision == train::Precision::BF16 ? VERSUS_DTYPE_BF16 : VERSUS_DTYPE_F32, c.vocab), c_(c), o_(o),
          batch_(train::synthetic_batch(c.vocab, o.batch, o.seq, o.seed + 1)) {
        // The engine's initial weights, from a one-token CPU model (its activations are then negligible).
        train::GptOptions init = o;
        init.batch = init.seq = 1;
        cpu::ThreadPool pool(1);
        train::Gpt host(c, init, pool);
        train::DeviceGptConfig cfg;
        train::device_gpt_config(c, o, &cfg);
        handle_ = t.backend.train_gpt_create(t.device, cfg.abi, host.params());
    }
    Metrics metrics(double median_s) override {
        const double tokens = static_cast<double>(o_.batch) * o_.seq;
        Metrics m = common(median_s, tokens * train::gpt_train_flops_per_token(c_, o_.seq));
        m.emplace_back("tokens_per_s", base::rate_per_s(tokens, median_s));
        return m;
    }

private:
    double step() override { return b_.train_gpt_step(dev_, handle_, batch_.tokens.data(), batch_.targets.data()); }
    train::GptConfig c_;
    train::GptOptions o_;
    train::TokenBatch batch_;
};

class DeviceResnet : public DeviceStep {
public:
    DeviceResnet(const Target& t, const train::ResnetConfig& c, int batch, uint64_t seed)
        : DeviceStep(t, VERSUS_DTYPE_F32, c.classes), c_(c), batch_(batch) {
        handle_ = t.backend.train_resnet_create(t.device, train::device_resnet_config(c, batch, seed, {}));
    }
    Metrics metrics(double median_s) override {
        const double ips = base::rate_per_s(batch_, median_s);
        Metrics m = common(median_s, batch_ * train::resnet50_train_flops_per_image(c_));
        m.emplace_back("images_per_s", ips);
        m.emplace_back("epoch_s", ips > 0 ? static_cast<double>(c_.epoch_images) / ips : 0.0);
        return m;
    }

private:
    double step() override { return b_.train_resnet_step(dev_, handle_); }
    train::ResnetConfig c_;
    int batch_;
};

void require(const Target& t, bool has, versus_op op, versus_dtype dtype, const char* what) {
    if (!has) throw Skip(fmt::format("no {} training step in the {} backend", what, t.backend.name()));
    std::string why;
    if (!t.backend.supports(t.device, op, dtype, &why)) throw Skip(why);
}

}  // namespace

std::unique_ptr<Instance> device_gpt_instance(const Target& t, const train::GptConfig& c, const train::GptOptions& o) {
    require(t, t.backend.has_train_gpt(), VERSUS_OP_TRAIN_GPT,
            o.precision == train::Precision::BF16 ? VERSUS_DTYPE_BF16 : VERSUS_DTYPE_F32, "GPT");
    return std::make_unique<DeviceGpt>(t, c, o);
}

std::unique_ptr<Instance> device_resnet_instance(const Target& t, const train::ResnetConfig& c, int batch, uint64_t seed) {
    require(t, t.backend.has_train_resnet(), VERSUS_OP_TRAIN_RESNET, VERSUS_DTYPE_F32, "ResNet-50");
    return std::make_unique<DeviceResnet>(t, c, batch, seed);
}

}  // namespace versus::workloads
