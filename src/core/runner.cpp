#include "core/runner.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <map>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/metrics.hpp"
#include "base/stats.hpp"
#include "base/text.hpp"
#include "core/printers.hpp"
#include "power/power.hpp"

namespace versus::core {

using base::average_power_w;
using base::energy_at_power_j;
using base::energy_per_op_j;
using base::percent_of_peak;
using base::rate_per_s;
using base::summarize;
using base::Summary;
using base::UNSTABLE_MDAPE_PCT;

using Clock = std::chrono::steady_clock;

std::atomic<bool>& interrupt_flag() {
    static std::atomic<bool> flag{false};
    return flag;
}

namespace {
extern "C" void on_sigint(int) {
    interrupt_flag().store(true);
    std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}
}  // namespace

void install_interrupt_handler() { std::signal(SIGINT, on_sigint); }

// The meters read around each measurement: the host's (RAPL) for host rows, and per GPU an NVML
// sampler for rows on a device with a PCI bus id, opened on its first row. Null with a reason when none.
class EnergyProbe {
public:
    EnergyProbe() { meter_ = power::open_host_energy_meter(&reason_); }
    power::EnergyMeter* meter() { return meter_.get(); }
    const std::string& reason() const { return reason_; }

    // The GPU meter of the job's device; nullptr with *reason set (a GPU without NVML) or empty (not a GPU).
    power::GpuEnergyMeter* gpu(backend::Backend& b, int device, std::string* reason) {
        reason->clear();
        const std::string id = b.pci_bus_id(device);
        if (id.empty()) return nullptr;
        auto it = gpus_.find(id);
        if (it == gpus_.end()) {
            GpuSlot slot;
            slot.meter = power::open_gpu_energy_meter(id, static_cast<unsigned>(device), &slot.reason);
            it = gpus_.emplace(id, std::move(slot)).first;
        }
        if (!it->second.meter) *reason = "GPU energy: " + it->second.reason;
        return it->second.meter.get();
    }

private:
    struct GpuSlot {
        std::unique_ptr<power::GpuEnergyMeter> meter;
        std::string reason;
    };
    std::unique_ptr<power::EnergyMeter> meter_;
    std::string reason_;
    std::map<std::string, GpuSlot> gpus_;
};

std::vector<Job> plan_jobs(const Workload& w, backend::Backend& b, int device,
                           const std::vector<std::pair<std::string, std::string>>& values,
                           const std::string& threads) {
    const versus_device_info info = b.device_info(device);
    std::vector<std::pair<std::string, std::vector<ParamValue>>> axes;
    if (b.has_threads()) {
        ParamSpec t{"threads", "threads", ParamKind::INT, "worker threads", {}, "", "", 1, 4096};
        axes.emplace_back("threads", parse_sweep(t, threads.empty() ? std::to_string(info.compute_units) : threads));
    }
    for (const auto& spec : w.params()) {
        std::string text;
        for (const auto& [k, v] : values)
            if (k == spec.name) text = v;
        if (text.empty()) continue;  // a parameter with no value is left out of this sweep
        axes.emplace_back(spec.field, parse_sweep(spec, text));
    }
    std::vector<Job> jobs;
    for (auto& p : w.expand(expand_sweep(axes))) jobs.push_back(Job{&w, &b, device, info, std::move(p)});
    return jobs;
}

std::vector<std::string> jobs_over_budget(const std::vector<Job>& jobs) {
    std::vector<std::string> out;
    for (const auto& j : jobs) {
        const double need = j.workload->memory_bytes(j.params);
        if (need > static_cast<double>(j.info.mem_budget_bytes)) {
            const std::string parts = j.workload->memory_breakdown(j.params);
            out.push_back(fmt::format("{} {} on {} needs {}{}, {} available", j.workload->key(), j.params.key(),
                                      j.backend->name(), base::human_bytes(need), parts.empty() ? "" : " (" + parts + ")",
                                      base::human_bytes(static_cast<double>(j.info.mem_budget_bytes))));
        }
    }
    return out;
}

Runner::Runner(const Context& ctx, RunOptions opt, std::function<void(const Record&)> sink)
    : ctx_(ctx), opt_(opt), sink_(std::move(sink)), energy_(std::make_unique<EnergyProbe>()) {}

// The closing fields every record carries, in order, whatever happened to the row.
Record& close_record(Record& r, const char* status, const std::string& reason) {
    for (const char* f : {"power_w", "energy_j", "energy_reason"})
        if (!r.has(f)) r.set(f, Null{});
    r.set("status", std::string(status));
    r.set("reason", reason.empty() ? Value{Null{}} : Value{reason});
    if (!r.has("checksum")) r.set("checksum", Null{});
    return r;
}

Runner::~Runner() = default;

Record Runner::base_record(const Job& job) const {
    return record_head(ctx_, std::string(job.backend->name()), &job.info, *job.workload, job.params);
}

Record record_head(const Context& ctx, const std::string& backend, const versus_device_info* info,
                   const Workload& w, const Params& params) {
    Record r;
    r.set("schema_version", int64_t{SCHEMA_VERSION});
    r.set("run_id", ctx.run_id);
    r.set("time", ctx.time);
    r.set("versus_version", ctx.versus_version);
    r.set("build_type", ctx.build_type);
    r.set("host", ctx.host);
    r.set("os", ctx.os);
    r.set("cpu", ctx.cpu);
    r.set("gpu", ctx.gpu.empty() ? Value{Null{}} : Value{ctx.gpu});
    r.set("backend", backend);
    r.set("device", info ? Value{std::string(info->name)} : Value{Null{}});
    r.set("memory_kind", info ? Value{std::string(backend::memory_kind_name(info->memory_kind))} : Value{Null{}});
    r.set("workload", std::string(w.key()));
    r.set("key", params.key());
    const ParamValue* dtype = params.find("dtype");
    r.set("dtype", dtype ? Value{std::get<std::string>(*dtype)} : Value{Null{}});
    const ParamValue* threads = params.find("threads");
    r.set("threads", threads ? Value{std::get<int64_t>(*threads)} : Value{Null{}});
    for (const auto& item : params.items())
        std::visit([&](const auto& x) { r.set(item.first, x); }, item.second);
    for (const char* f : {"reps", "ops_per_sample", "samples_ns", "median_ns", "mdape_pct", "unstable", "flops",
                          "bytes", "gflops", "gbps", "peak_pct", "peak_method"})
        r.set(f, Null{});
    return r;
}

Record unavailable_record(const Context& ctx, const std::string& backend, const Workload& w,
                          const std::string& reason) {
    Record r = record_head(ctx, backend, nullptr, w, Params{});
    return close_record(r, "skipped", reason);
}


namespace {

// % of peak. A rate above the peak asks the backend again (the CPU backend then measures more rounds, so
// a peak taken while the machine was busy rises); a rate still above it is kept, and the row says the
// peak is in doubt. Returns that note, or "".
std::string set_peak(Record& r, backend::Backend& b, int device, versus_dtype dtype, double rate) {
    std::string method;
    double peak = b.peak_flops(device, dtype, &method);
    if (peak > 0 && rate > peak) peak = b.peak_flops(device, dtype, &method);
    if (peak <= 0) return {};
    const double pct = percent_of_peak(rate, peak);
    r.set("peak_pct", pct);
    if (pct <= 100) {
        r.set("peak_method", method);
        return {};
    }
    r.set("peak_method", method + "; in doubt: a row ran above it");
    return fmt::format("peak in doubt: {:.1f}% of {} GFLOP/s, measured twice (was the machine busy then?)", pct,
                       format_value(peak / 1e9));
}

}  // namespace

Record Runner::run_one(const Job& job) {
    Record r = base_record(job);
    const auto& w = *job.workload;
    auto finish = [&](const char* status, const std::string& reason) { return close_record(r, status, reason); };
    try {
        const double need = w.memory_bytes(job.params);
        if (need > static_cast<double>(job.info.mem_budget_bytes))
            return finish("skipped", fmt::format("needs {}, {} available", base::human_bytes(need),
                                                 base::human_bytes(static_cast<double>(job.info.mem_budget_bytes))));
        if (const ParamValue* t = job.params.find("threads")) job.backend->set_threads(static_cast<int>(std::get<int64_t>(*t)));
        Target target{*job.backend, job.device, job.info};
        auto inst = w.prepare(target, job.params);

        // Warm up for at least one op and ~10% of the budget (caches, clocks, page faults, JIT).
        const double warm_s = std::min(0.2, std::max(0.02, opt_.time_budget_s / 10));
        auto t0 = Clock::now();
        int warm_ops = 0;
        double one_op_s = 0;
        do {
            const auto a = Clock::now();
            inst->run();
            one_op_s = std::chrono::duration<double>(Clock::now() - a).count();
            ++warm_ops;
        } while (std::chrono::duration<double>(Clock::now() - t0).count() < warm_s && warm_ops < 1000 &&
                 !interrupt_flag().load());

        // Ops per sample: enough that one sample lasts ~1% of the budget, so that very short ops
        // are not timed one clock read at a time, and the sample count stays bounded.
        const double target_sample_s = std::max(2e-5, opt_.time_budget_s / 100);
        const int64_t batch = std::clamp<int64_t>(static_cast<int64_t>(target_sample_s / std::max(one_op_s, 1e-9)), 1,
                                                  1'000'000);
        Samples samples;
        // GPU rows take the GPU's meter (or none, with its reason), never the host's.
        std::string gpu_reason;
        power::GpuEnergyMeter* gpu = energy_->gpu(*job.backend, job.device, &gpu_reason);
        const bool on_gpu = gpu || !gpu_reason.empty();
        power::EnergyMeter* meter = on_gpu ? nullptr : energy_->meter();
        const double j0 = meter ? meter->read_joules() : 0;
        if (gpu) gpu->begin();
        struct CancelOnThrow {  // a failing op must not leave the sampling thread running
            power::GpuEnergyMeter* m;
            ~CancelOnThrow() {
                if (m) m->cancel();
            }
        } cancel_on_throw{gpu};
        // Device timing: each op between the device timer's marks, after its untimed preparation.
        const bool device_timer = inst->device_timed();
        const auto m0 = Clock::now();
        bool stopped = false;
        for (;;) {
            if (interrupt_flag().load()) {
                stopped = true;
                break;
            }
            if (device_timer) {
                for (int64_t i = 0; i < batch; ++i) {
                    inst->before_rep();
                    job.backend->timer_start(job.device);
                    inst->enqueue();
                    job.backend->timer_stop(job.device);
                }
                samples.push_back(std::llround(job.backend->timer_read(job.device)));
            } else {
                const auto a = Clock::now();
                for (int64_t i = 0; i < batch; ++i) inst->run();
                samples.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - a).count());
            }
            const int n = static_cast<int>(samples.size());
            if (opt_.reps > 0) {
                if (n >= opt_.reps) break;
                continue;
            }
            const double elapsed = std::chrono::duration<double>(Clock::now() - m0).count();
            if ((elapsed >= opt_.time_budget_s && n >= opt_.min_reps) || n >= opt_.max_samples) break;
        }
        const double elapsed = std::chrono::duration<double>(Clock::now() - m0).count();
        const double joules = meter ? meter->read_joules() - j0 : 0;
        const power::GpuWindow window = gpu ? gpu->end() : power::GpuWindow{};

        const int64_t ops = batch * static_cast<int64_t>(samples.size());
        std::vector<double> per_op(samples.size());
        for (size_t i = 0; i < samples.size(); ++i) per_op[i] = static_cast<double>(samples[i]) / static_cast<double>(batch);
        const Summary s = summarize(per_op);
        r.set("reps", static_cast<int64_t>(samples.size()));
        r.set("ops_per_sample", batch);
        r.set("samples_ns", samples);
        r.set("median_ns", s.median);
        r.set("mdape_pct", s.mdape_pct);
        r.set("unstable", s.unstable());
        r.set("timer", std::string(device_timer ? "device" : "host"));
        const double median_s = s.median * 1e-9;
        const double flops = w.flops(job.params), bytes = w.bytes(job.params);
        r.set("flops", flops > 0 ? Value{flops} : Value{Null{}});
        r.set("bytes", bytes > 0 ? Value{bytes} : Value{Null{}});
        r.set("gflops", flops > 0 && median_s > 0 ? Value{rate_per_s(flops, median_s) / 1e9} : Value{Null{}});
        r.set("gbps", bytes > 0 && median_s > 0 ? Value{rate_per_s(bytes, median_s) / 1e9} : Value{Null{}});
        std::string note;  // appended to an ok row's reason
        versus_dtype peak_dtype;
        if (flops > 0 && w.has_peak(job.params, &peak_dtype))
            note = set_peak(r, *job.backend, job.device, peak_dtype, rate_per_s(flops, median_s));
        for (const auto& [k, v] : w.metrics(job.params, median_s)) r.set(k, v);
        for (const auto& [k, v] : inst->metrics(median_s)) r.set(k, v);
        if (gpu && window.reason.empty() && ops > 0) {
            r.set("power_w", window.avg_power_w);
            // A device-timed window also holds untimed work (cache flushes, launch gaps): the op's
            // energy is then its share of the window's power over its own time, not joules / ops.
            r.set("energy_j", device_timer ? energy_at_power_j(window.avg_power_w, median_s)
                                           : energy_per_op_j(window.joules, static_cast<double>(ops)));
            r.set("energy_reason", Null{});
        } else if (meter && ops > 0 && elapsed > 0) {
            r.set("power_w", average_power_w(joules, elapsed));
            r.set("energy_j", energy_per_op_j(joules, static_cast<double>(ops)));
            r.set("energy_reason", Null{});
        } else {
            r.set("power_w", Null{});
            r.set("energy_j", Null{});
            r.set("energy_reason", gpu ? "GPU energy: " + window.reason : on_gpu ? gpu_reason : energy_->reason());
        }
        if (gpu) {
            auto or_null = [](double v) { return std::isfinite(v) ? Value{v} : Value{Null{}}; };
            r.set("gpu_throttled", window.throttled);
            const std::string names = power::gpu_throttle_names(window.event_reasons);
            r.set("gpu_throttle_reasons", names.empty() ? Value{Null{}} : Value{names});
            r.set("gpu_temp_max_c", or_null(window.max_temp_c));
            r.set("gpu_sm_clock_mhz", or_null(window.avg_sm_clock_mhz));
            if (window.throttled) note = base::join({note, "GPU throttled (" + names + ")"}, "; ");
        }
        if (stopped)
            return finish("interrupted", fmt::format("interrupted after {} samples", samples.size()));
        const Check c = inst->check();
        r.set("checksum", c.checksum.empty() ? Value{Null{}} : Value{c.checksum});
        if (!c.ok) return finish("error", "self-check failed: " + c.message);
        std::string why = s.unstable() ? fmt::format("unstable: MdAPE {:.1f}% > {:.0f}%", s.mdape_pct, UNSTABLE_MDAPE_PCT)
                                       : "";
        if (!note.empty()) why += (why.empty() ? "" : "; ") + note;
        return finish("ok", why);
    } catch (const Skip& e) {
        return finish("skipped", e.what());
    } catch (const std::exception& e) {
        return finish("error", e.what());
    }
}

RunSummary Runner::run(const std::vector<Job>& jobs) {
    RunSummary sum;
    for (size_t i = 0; i < jobs.size(); ++i) {
        if (interrupt_flag().load()) {
            // Mark the run in the results file itself: the next row says it never ran.
            Record r = base_record(jobs[i]);
            sink_(close_record(r, "interrupted", "interrupted before this row started"));
            sum.interrupted = true;
            break;
        }
        Record r = run_one(jobs[i]);
        const std::string status = r.str("status");
        if (status == "ok") ++sum.ok;
        if (status == "skipped") ++sum.skipped;
        if (status == "error") ++sum.errors;
        if (status == "interrupted") sum.interrupted = true;
        if (r.num("unstable") != 0) ++sum.unstable;
        if (opt_.progress) {
            std::string unit;
            double value = 0;
            std::string shown = status == "ok" && headline(r, &unit, &value)
                                    ? fmt::format("{} {} ± {:.1f}%", format_value(value), unit, r.num("mdape_pct"))
                                    : status + (r.str("reason").empty() ? "" : ": " + r.str("reason"));
            std::fprintf(stderr, "[%zu/%zu] %s %s %s: %s\n", i + 1, jobs.size(), r.str("backend").c_str(),
                         r.str("workload").c_str(), r.str("key").c_str(), shown.c_str());
        }
        sink_(r);
        if (sum.interrupted) break;
    }
    return sum;
}

}  // namespace versus::core
