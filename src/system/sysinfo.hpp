// sysinfo: what machine this process runs on — host, OS, CPU (topology, clock, ISA, caches),
// memory (with the cgroup limit), container / VM markers and which GPUs are visible from inside.
// `versus probe` prints it, the runner's context block and result records read it. Each concern has
// its own file (cpu, memory, cgroups, virtualization, gpu-visibility, files); this one assembles them.
//
// Contract:
// - probe_system() never throws for a missing or unreadable source: the value stays empty/0 and its
//   dotted key ("cpu.clock_mhz") is listed in SystemInfo::unknown; to_json() writes null for it.
// - It reads files and calls libraries only (cpuinfo, hwloc with a reduced topology, sysctl on
//   macOS); it never starts a process. Budget: well under 200 ms, ~5 ms on a small Linux VM.
// - Functions that take `root` read every path below that directory, so tests can feed a fake
//   /proc and /sys; "/" is the live system.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "system/cgroups.hpp"
#include "system/cpu.hpp"
#include "system/gpu-visibility.hpp"
#include "system/memory.hpp"
#include "system/virtualization.hpp"

namespace versus::system {

// The CPU and memory fields come from their concern's struct, so callers write sys.cpu_model.
struct SystemInfo : CpuInfo, MemoryInfo {
    std::string hostname;
    std::string os_name;         // "Debian GNU/Linux", "macOS"
    std::string os_version;      // "12 (bookworm)", "14.5"
    std::string os_pretty;       // "Debian GNU/Linux 12 (bookworm)"
    std::string kernel;          // "Linux 6.1.0-18-amd64", "Darwin 23.5.0"
    std::string kernel_version;  // uname -v
    std::string arch;            // uname -m: "x86_64", "aarch64", "arm64"
    std::string platform;        // DMI vendor + product ("QEMU Standard PC"), macOS hw.model; "" if unknown

    Virtualization virt;
    GpuVisibility gpu;

    double probe_ms = 0;               // wall time of probe_system() itself
    std::vector<std::string> unknown;  // dotted keys of the fields that could not be read
};

SystemInfo probe_system();

nlohmann::ordered_json to_json(const SystemInfo& info);
// Compact "key : value" block, keys aligned, one line per topic, ending in a newline.
std::string to_table(const SystemInfo& info);

}  // namespace versus::system
