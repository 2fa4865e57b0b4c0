// power: which energy/power meters this machine exposes, and a cumulative host-energy reading the
// runner takes around a measurement (energy_j = read_joules() after - before).
//
// Contract:
// - detect_meters() never throws and lists every meter kind it knows — RAPL (powercap), hwmon
//   power/energy sensors, NVML, macOS IOReport — with available=false and a concrete reason for
//   each one that is absent, so `versus probe` can say why energy is missing.
// - open_host_energy_meter() returns the sum of the RAPL package domains, or nullptr with the
//   reason. The meter owns its counters' wrap handling (see EnergyMeter).
// - Every function that reads sysfs takes `root` ("/" = the live system) so tests can point it at
//   a fake tree.
//
// - open_gpu_energy_meter() samples one NVIDIA GPU through NVML (nvml.hpp) on a thread during a
//   measurement window: power, SM clock, temperature and clock-event ("throttle") reasons every
//   ~25 ms, energy from nvmlDeviceGetTotalEnergyConsumption where the GPU has the counter, else
//   from the power samples integrated over time (GpuEnergyIntegrator, testable without NVML).
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace versus::power {

struct MeterInfo {
    std::string name;    // "rapl:intel-rapl:0", "hwmon:amdgpu/power1_average", "nvml", "ioreport"
    std::string domain;  // "package-0", "dram", "core", "gpu (2 devices)", "PPT" ...
    bool available = false;
    std::string reason;  // why not, when unavailable; a note (e.g. "root only") when available
};

std::vector<MeterInfo> detect_meters(const std::filesystem::path& root = "/");

class EnergyMeter {
public:
    virtual ~EnergyMeter();
    virtual std::string name() const = 0;
    // Joules since the meter was opened (0 at open). Counters wrap at max_energy_range_uj and the
    // meter unwraps them, which works as long as it is read at least once per wrap period (RAPL:
    // minutes at full load; the runner reads before and after each measurement, and the NVML
    // sampling thread to come can poll for long runs). Not thread-safe: one reader per meter.
    // Throws std::runtime_error ("[power] ...") when a counter that opened fine cannot be read.
    virtual double read_joules() = 0;
};

// RAPL package domains summed (psys and sub-domains left out: they would count twice).
// nullptr with *reason_if_none set when there is none or it cannot be read.
std::unique_ptr<EnergyMeter> open_host_energy_meter(std::string* reason_if_none,
                                                    const std::filesystem::path& root = "/");

// ---- GPU (NVML) ----

// One reading of a GPU's sensors; NaN where the sensor could not be read.
struct GpuSample {
    double t_s = 0;               // steady-clock seconds
    double power_w = NAN;         // board power (NVML averages it over its own window)
    double energy_j = NAN;        // cumulative energy counter, NaN where the GPU has none
    double sm_clock_mhz = NAN;
    double temp_c = NAN;
    uint64_t event_reasons = 0;   // NVML clock-event ("throttle") reason bits
};

// Clock-event reasons that mean the GPU ran slower than it could: power cap, thermal and hardware
// slowdowns and the power brake. Idle, application clocks, sync boost and display clocks do not count.
inline constexpr uint64_t GPU_THROTTLE_MASK = 0x4 | 0x8 | 0x20 | 0x40 | 0x80;
// "sw power cap, hw thermal slowdown" for the set throttle bits of `reasons`; "" when none.
std::string gpu_throttle_names(uint64_t reasons);

// What a measurement window saw.
struct GpuWindow {
    int samples = 0;
    double seconds = 0;           // first to last sample
    double joules = 0;
    bool from_counter = false;    // joules from the energy counter (else integrated power)
    double avg_power_w = 0;       // joules / seconds
    double max_temp_c = NAN;
    double avg_sm_clock_mhz = NAN;
    uint64_t event_reasons = 0;   // every reason seen in the window (OR)
    bool throttled = false;       // any GPU_THROTTLE_MASK reason seen
    std::string reason;           // why joules is unknown (fewer than two samples); "" when known
};

// Turns a window's samples into energy and statistics: the energy counter's difference when every
// sample has it, it never goes back and it advanced at least twice (it updates every 20-100 ms), else the
// trapezoidal integral of power over time.
class GpuEnergyIntegrator {
public:
    void add(const GpuSample& s);
    GpuWindow result() const;

private:
    std::vector<GpuSample> samples_;
};

// Where samples come from: NVML on a real machine, a fake in tests. read() throws std::runtime_error
// ("[power] ...") when the device cannot be read at all.
class GpuSampleSource {
public:
    virtual ~GpuSampleSource();
    virtual std::string name() const = 0;
    virtual GpuSample read() = 0;
};

// Samples a source on a thread between begin() and end(). Not thread-safe: one owner.
class GpuEnergyMeter {
public:
    explicit GpuEnergyMeter(std::unique_ptr<GpuSampleSource> source,
                            std::chrono::milliseconds period = std::chrono::milliseconds(25));
    ~GpuEnergyMeter();
    GpuEnergyMeter(const GpuEnergyMeter&) = delete;
    GpuEnergyMeter& operator=(const GpuEnergyMeter&) = delete;

    std::string name() const { return source_->name(); }
    // Takes a first sample and starts the thread (dropping a window left open).
    void begin();
    // Takes a last sample, stops the thread and returns the window. A sampling error ends the
    // window early; the error is rethrown here.
    GpuWindow end();
    // Stops the thread and drops the window, if one is open (a measurement that failed).
    void cancel() noexcept;

private:
    struct State;
    std::unique_ptr<GpuSampleSource> source_;
    std::chrono::milliseconds period_;
    std::unique_ptr<State> state_;
};

// The GPU with this PCI bus id ("0000:65:00.0"; when empty, NVML index `index`), sampled through
// NVML; nullptr with *reason_if_none where NVML or the device is missing or has no power sensor.
std::unique_ptr<GpuEnergyMeter> open_gpu_energy_meter(const std::string& pci_bus_id, unsigned index,
                                                      std::string* reason_if_none);

}  // namespace versus::power
