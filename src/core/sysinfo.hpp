// sysinfo: what machine this process runs on — host, OS, CPU (topology, clock, ISA, caches),
// memory (with the cgroup limit), container / VM markers and which GPUs are visible from inside.
// `versus probe` prints it, the runner's context block and result records read it, and the runner's
// "does it fit" checks call memory_available_bytes().
//
// Contract:
// - probe_system() never throws for a missing or unreadable source: the value stays empty/0 and its
//   dotted key ("cpu.clock_mhz") is listed in SystemInfo::unknown; to_json() writes null for it.
// - It reads files and calls libraries only (cpuinfo, hwloc with a reduced topology, sysctl on
//   macOS); it never starts a process. Budget: well under 200 ms, ~5 ms on a small Linux VM.
// - Functions that take `root` read every path below that directory, so tests can feed a fake
//   /proc and /sys; "/" is the live system.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace versus::core {

struct CacheInfo {
    int level = 0;            // 1, 2, 3, 4
    std::string type;         // "data", "instruction", "unified"
    uint64_t size_bytes = 0;  // one instance
    uint32_t line_bytes = 0;
    uint32_t ways = 0;               // associativity, 0 if unknown
    uint32_t shared_by_threads = 0;  // hardware threads sharing one instance, 0 if unknown
    uint32_t instances = 0;          // instances of this shape in the system, 0 if unknown
};

// The memory controller of the cgroup this process is in (v2 memory.max or v1 limit_in_bytes).
struct CgroupMemory {
    std::string version;               // "v2", "v1", or "" when no memory controller was found
    std::string path;                  // the cgroup directory that set the limit (or the process's own)
    uint64_t limit_bytes = 0;          // tightest limit on the way up to the mount root; 0 = no limit
    uint64_t usage_bytes = 0;          // charged to that cgroup (includes page cache)
    uint64_t inactive_file_bytes = 0;  // reclaimable page cache inside usage
    // limit - (usage - inactive_file), clamped at 0; UINT64_MAX when there is no limit.
    uint64_t headroom_bytes() const;
};

// Container and VM are independent: a Docker container inside a KVM guest reports both.
// A marker is a short human-readable piece of evidence, e.g. "/.dockerenv", "kvm-clock clocksource".
struct Virtualization {
    bool container = false;
    std::string container_kind;  // "docker", "podman", "lxc", "kubernetes", "systemd-nspawn", ... "" = unknown
    std::vector<std::string> container_markers;
    bool vm = false;
    std::string vm_kind;  // "kvm", "qemu", "vmware", "hyper-v", "xen", "virtualbox", "wsl2", ... "" = unknown
    std::vector<std::string> vm_markers;
};

struct GpuVisibility {
    std::vector<std::string> device_nodes;  // "/dev/nvidia0", "/dev/dri/renderD128 (amdgpu)", "/dev/kfd"
    std::vector<std::string> env;           // "CUDA_VISIBLE_DEVICES=0" for each such variable that is set
    std::string nvidia_driver;              // from /proc/driver/nvidia/version, "" if none
    std::string statement;                  // one line for humans, always set
};

struct SystemInfo {
    std::string hostname;
    std::string os_name;         // "Debian GNU/Linux", "macOS"
    std::string os_version;      // "12 (bookworm)", "14.5"
    std::string os_pretty;       // "Debian GNU/Linux 12 (bookworm)"
    std::string kernel;          // "Linux 6.1.0-18-amd64", "Darwin 23.5.0"
    std::string kernel_version;  // uname -v
    std::string arch;            // uname -m: "x86_64", "aarch64", "arm64"
    std::string platform;        // DMI vendor + product ("QEMU Standard PC"), macOS hw.model; "" if unknown

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
    std::vector<std::string> isa;   // versus::cpu::cpu_features().names()
    std::vector<CacheInfo> caches;  // by level, then instruction before data before unified

    uint64_t mem_total_bytes = 0;
    uint64_t mem_available_bytes = 0;  // MemAvailable (Linux) / free+inactive+purgeable (macOS)
    CgroupMemory cgroup;

    Virtualization virt;
    GpuVisibility gpu;

    double probe_ms = 0;               // wall time of probe_system() itself
    std::vector<std::string> unknown;  // dotted keys of the fields that could not be read
};

SystemInfo probe_system();

// min(MemAvailable, cgroup headroom) in bytes, re-read on every call (cheap: two or three small
// file reads; the cgroup directory is resolved once and cached). 0 if nothing could be read.
uint64_t memory_available_bytes();
// The process's peak resident set so far, in bytes.
double rss_peak_bytes();

// Parts of the probe that read only files under `root`, exposed for tests and for callers that
// want one piece without the whole probe.
CgroupMemory read_cgroup_memory(const std::filesystem::path& root = "/");
// live = also consult this process's environment and the CPUID hypervisor bit (false in tests
// with a fake root, so the test machine does not leak into the result).
Virtualization detect_virtualization(const std::filesystem::path& root = "/", bool live = true);
GpuVisibility detect_gpu_visibility(const std::filesystem::path& root = "/", bool live = true);

nlohmann::ordered_json to_json(const SystemInfo& info);
// Compact "key : value" block, keys aligned, one line per topic, ending in a newline.
std::string to_table(const SystemInfo& info);

}  // namespace versus::core
