// memory: how much memory the machine has and how much a workload may still take, the cgroup limit
// included. The runner's "does it fit" checks call memory_available_bytes() before every row.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "system/cgroups.hpp"

namespace versus::system {

struct MemoryInfo {
    uint64_t mem_total_bytes = 0;
    uint64_t mem_available_bytes = 0;  // MemAvailable (Linux) / free+inactive+purgeable (macOS)
    CgroupMemory cgroup;
};

// Totals, available memory and the cgroup limit; a field that cannot be read stays 0 and its dotted
// key ("memory.total_bytes") is appended to `unknown`.
MemoryInfo read_memory(std::vector<std::string>& unknown);

// min(MemAvailable, cgroup headroom) in bytes, re-read on every call (cheap: two or three small
// file reads; the cgroup directory is resolved once and cached). 0 if nothing could be read.
uint64_t memory_available_bytes();

}  // namespace versus::system
