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
// GPU energy: NVML is only detected here (dlopen + nvmlInit_v2). A later issue adds an NVML
// sampling thread (nvmlDeviceGetTotalEnergyConsumption where the GPU has it, else integrated
// nvmlDeviceGetPowerUsage samples) that returns another EnergyMeter from a function next to
// open_host_energy_meter(), e.g. open_gpu_energy_meter(device, reason). The NVML loader in
// power.cpp is written to be reused by it.
#pragma once

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

}  // namespace versus::power
