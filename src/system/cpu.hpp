// cpu: what the processor is — vendor and model, topology (packages, cores, threads, the affinity mask,
// the cgroup quota, NUMA nodes), clock, ISA extensions and caches. Read from the cpuinfo and hwloc
// libraries when the build has them, else from /proc, /sys and sysctl.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace versus::system {

struct CacheInfo {
    int level = 0;            // 1, 2, 3, 4
    std::string type;         // "data", "instruction", "unified"
    uint64_t size_bytes = 0;  // one instance
    uint32_t line_bytes = 0;
    uint32_t ways = 0;               // associativity, 0 if unknown
    uint32_t shared_by_threads = 0;  // hardware threads sharing one instance, 0 if unknown
    uint32_t instances = 0;          // instances of this shape in the system, 0 if unknown
};

struct CpuInfo {
    std::string cpu_vendor;        // "AMD", "Intel", "Apple", "ARM", ...
    std::string cpu_model;         // "AMD EPYC 9R14"
    std::string cpu_model_source;  // "cpuinfo", "/proc/cpuinfo", "sysctl"
    int cpu_packages = 0;
    int cpu_cores = 0;              // physical cores
    int cpu_threads = 0;            // hardware threads (logical processors) in the system
    int cpu_threads_available = 0;  // in this process's affinity mask
    double cpu_quota = 0;           // cgroup CPU quota in CPUs (cpu.max / cfs_quota), 0 = none
    int numa_nodes = 0;
    std::string numa_source;        // "hwloc", "sysfs"
    double clock_mhz = 0;           // max when cpufreq says so, else the nominal/current value
    std::string clock_source;       // where clock_mhz came from and what it means
    double clock_nominal_mhz = 0;   // cpufreq base_frequency / ACPI CPPC nominal, 0 if unknown
    std::vector<std::string> isa;   // cpu_features().names()
    std::vector<CacheInfo> caches;  // by level, then instruction before data before unified
};

// The live CPU; each field that cannot be read stays empty/0 and its dotted key ("cpu.clock_mhz") is
// appended to `unknown`.
CpuInfo probe_cpu(std::vector<std::string>& unknown);

// The first processor's block of /proc/cpuinfo under `root` ("" where there is none, e.g. macOS).
std::string cpuinfo_first_block(const std::filesystem::path& root);

}  // namespace versus::system
