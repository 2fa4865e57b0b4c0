// cgroups: the limits of the control group this process runs in (memory and CPU quota), for cgroup v2
// and v1. Inside a container these, not the machine's totals, say what a workload may use.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace versus::system {

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

CgroupMemory read_cgroup_memory(const std::filesystem::path& root = "/");
// CPUs' worth of quota: v2 cpu.max "quota period" (tightest up the tree), v1 cfs_quota_us/cfs_period_us;
// 0 when there is none.
double read_cpu_quota(const std::filesystem::path& root = "/");

// Where the process's cgroup for one controller lives, so that a caller re-reading its figures
// resolves the directory once.
struct CgroupDir {
    std::string version;               // "v2", "v1"
    std::filesystem::path mountpoint;  // absolute, in the probed system
    std::filesystem::path dir;         // the process's cgroup directory, absolute
};
std::optional<CgroupDir> locate_cgroup(const std::filesystem::path& root, std::string_view controller);
CgroupMemory read_cgroup_memory_at(const std::filesystem::path& root, const CgroupDir& loc);

}  // namespace versus::system
