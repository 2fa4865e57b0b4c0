// gpu-meter: GPU energy over a measurement window from NVML samples taken on a thread. The arithmetic
// (GpuEnergyIntegrator) is separate from the sampling so that tests drive it with made-up samples.
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "system/nvml.hpp"
#include "power/power.hpp"

namespace versus::power {

using system::NvmlLib;
using system::NvmlSession;

GpuSampleSource::~GpuSampleSource() = default;

std::string gpu_throttle_names(uint64_t reasons) {
    static constexpr std::pair<uint64_t, const char*> NAMES[] = {
        {0x4, "sw power cap"},          {0x8, "hw slowdown"},          {0x20, "sw thermal slowdown"},
        {0x40, "hw thermal slowdown"}, {0x80, "hw power brake"},
    };
    std::string out;
    for (const auto& [bit, name] : NAMES)
        if (reasons & bit) out += (out.empty() ? "" : ", ") + std::string(name);
    return out;
}

void GpuEnergyIntegrator::add(const GpuSample& s) { samples_.push_back(s); }

GpuWindow GpuEnergyIntegrator::result() const {
    GpuWindow w;
    w.samples = static_cast<int>(samples_.size());
    double clock_sum = 0;
    int clocks = 0;
    for (const auto& s : samples_) {
        w.event_reasons |= s.event_reasons;
        if (std::isfinite(s.temp_c)) w.max_temp_c = std::isfinite(w.max_temp_c) ? std::max(w.max_temp_c, s.temp_c) : s.temp_c;
        if (std::isfinite(s.sm_clock_mhz)) {
            clock_sum += s.sm_clock_mhz;
            ++clocks;
        }
    }
    if (clocks) w.avg_sm_clock_mhz = clock_sum / clocks;
    w.throttled = (w.event_reasons & GPU_THROTTLE_MASK) != 0;
    if (samples_.size() < 2) {
        w.reason = "fewer than two GPU power samples (the window was shorter than the sampling period)";
        return w;
    }
    w.seconds = samples_.back().t_s - samples_.front().t_s;
    // The counter when it is there throughout and monotonic (a driver reload restarts it).
    bool counter = true;
    for (size_t i = 0; i < samples_.size() && counter; ++i)
        counter = std::isfinite(samples_[i].energy_j) && (i == 0 || samples_[i].energy_j >= samples_[i - 1].energy_j);
    if (counter) {
        w.joules = samples_.back().energy_j - samples_.front().energy_j;
        w.from_counter = true;
    } else {
        // Trapezoids between consecutive power readings; an interval with an unread end is left out.
        int intervals = 0;
        for (size_t i = 1; i < samples_.size(); ++i) {
            const GpuSample &a = samples_[i - 1], &b = samples_[i];
            if (!std::isfinite(a.power_w) || !std::isfinite(b.power_w)) continue;
            w.joules += 0.5 * (a.power_w + b.power_w) * (b.t_s - a.t_s);
            ++intervals;
        }
        if (intervals == 0) {
            w.reason = "no GPU power readings in the window";
            return w;
        }
    }
    w.avg_power_w = w.seconds > 0 ? w.joules / w.seconds : 0;
    return w;
}

struct GpuEnergyMeter::State {
    std::mutex m;
    std::condition_variable cv;
    bool stop = false;
    GpuEnergyIntegrator integ;
    std::exception_ptr error;
    std::thread thread;
};

GpuEnergyMeter::GpuEnergyMeter(std::unique_ptr<GpuSampleSource> source, std::chrono::milliseconds period)
    : source_(std::move(source)), period_(period) {}

GpuEnergyMeter::~GpuEnergyMeter() { cancel(); }

void GpuEnergyMeter::cancel() noexcept {
    if (!state_ || !state_->thread.joinable()) return;
    {
        std::lock_guard lock(state_->m);
        state_->stop = true;
    }
    state_->cv.notify_all();
    state_->thread.join();
}

void GpuEnergyMeter::begin() {
    cancel();
    state_ = std::make_unique<State>();
    state_->integ.add(source_->read());
    State* st = state_.get();
    state_->thread = std::thread([this, st] {
        std::unique_lock lock(st->m);
        while (!st->cv.wait_for(lock, period_, [st] { return st->stop; })) {
            lock.unlock();
            try {
                const GpuSample s = source_->read();
                lock.lock();
                st->integ.add(s);
            } catch (...) {
                lock.lock();
                st->error = std::current_exception();
                return;
            }
        }
    });
}

GpuWindow GpuEnergyMeter::end() {
    if (!state_ || !state_->thread.joinable()) throw std::logic_error("[power] GPU meter window not open");
    cancel();
    if (state_->error) std::rethrow_exception(state_->error);
    state_->integ.add(source_->read());
    return state_->integ.result();
}

namespace {

// One GPU through NVML. Sensors the GPU lacks are probed once and left NaN after.
class NvmlSource final : public GpuSampleSource {
public:
    NvmlSource(std::unique_ptr<NvmlSession> nvml, NvmlLib::Device dev, std::string label)
        : nvml_(std::move(nvml)), lib_(*nvml_->lib()), dev_(dev), label_(std::move(label)) {}

    std::string name() const override { return label_; }

    GpuSample read() override {
        GpuSample s;
        s.t_s = std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
        unsigned v = 0;
        unsigned long long e = 0;
        if (has_energy_ && lib_.device_get_total_energy_consumption(dev_, &e) == 0)
            s.energy_j = static_cast<double>(e) * 1e-3;
        else
            has_energy_ = false;
        if (has_power_ && lib_.device_get_power_usage(dev_, &v) == 0)
            s.power_w = v * 1e-3;
        else
            has_power_ = false;
        if (lib_.device_get_clock_info && lib_.device_get_clock_info(dev_, NvmlLib::CLOCK_SM, &v) == 0)
            s.sm_clock_mhz = v;
        if (lib_.device_get_temperature && lib_.device_get_temperature(dev_, NvmlLib::TEMPERATURE_GPU, &v) == 0)
            s.temp_c = v;
        if (lib_.device_get_clocks_event_reasons && lib_.device_get_clocks_event_reasons(dev_, &e) == 0)
            s.event_reasons = e;
        if (!has_energy_ && !has_power_)
            throw std::runtime_error(fmt::format("[power] {} stopped reporting power and energy", label_));
        return s;
    }

    bool has_energy_ = true, has_power_ = true;

private:
    std::unique_ptr<NvmlSession> nvml_;
    const NvmlLib& lib_;
    NvmlLib::Device dev_;
    std::string label_;
};

}  // namespace

std::unique_ptr<GpuEnergyMeter> open_gpu_energy_meter(const std::string& pci_bus_id, unsigned index,
                                                      std::string* reason_if_none) {
    std::string why;
    auto nvml = std::make_unique<NvmlSession>(&why);
    if (!nvml->lib()) {
        if (reason_if_none) *reason_if_none = why;
        return nullptr;
    }
    const NvmlLib& lib = *nvml->lib();
    NvmlLib::Device dev = nvml->device(pci_bus_id, index, &why);
    if (!dev) {
        if (reason_if_none) *reason_if_none = why;
        return nullptr;
    }
    const std::string label = "nvml:" + (pci_bus_id.empty() ? std::to_string(index) : pci_bus_id);
    auto source = std::make_unique<NvmlSource>(std::move(nvml), dev, label);
    source->has_energy_ = lib.device_get_total_energy_consumption != nullptr;
    source->has_power_ = lib.device_get_power_usage != nullptr;
    try {
        const GpuSample s = source->read();  // probes both sensors once
        if (!std::isfinite(s.energy_j) && !std::isfinite(s.power_w)) throw std::runtime_error("no power sensor");
    } catch (const std::exception&) {
        if (reason_if_none)
            *reason_if_none = fmt::format("{} reports neither power nor energy (the board has no power sensor)", label);
        return nullptr;
    }
    return std::make_unique<GpuEnergyMeter>(std::move(source));
}

}  // namespace versus::power
