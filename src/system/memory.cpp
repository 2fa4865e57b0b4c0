#include "system/memory.hpp"

#include <algorithm>
#include <optional>

#include "system/files.hpp"

#if defined(__APPLE__)
#include <mach/mach.h>
#endif

namespace versus::system {

namespace {

#if defined(__APPLE__)
// free + inactive + purgeable pages: what can be handed out without swapping.
std::optional<uint64_t> macos_available_bytes() {
    mach_port_t host = mach_host_self();
    vm_statistics64_data_t vs{};
    mach_msg_type_number_t count = HOST_VM_INFO64_COUNT;
    vm_size_t page = 0;
    const bool ok =
        host_statistics64(host, HOST_VM_INFO64, reinterpret_cast<host_info64_t>(&vs), &count) == KERN_SUCCESS &&
        host_page_size(host, &page) == KERN_SUCCESS;
    mach_port_deallocate(mach_task_self(), host);
    if (!ok) return std::nullopt;
    return (uint64_t(vs.free_count) + vs.inactive_count + vs.purgeable_count) * uint64_t(page);
}
#endif

}  // namespace

MemoryInfo read_memory(std::vector<std::string>& unknown) {
    MemoryInfo m;
#if defined(__APPLE__)
    m.mem_total_bytes = sysctl_u64("hw.memsize").value_or(0);
    m.mem_available_bytes = macos_available_bytes().value_or(0);
#else
    if (auto mi = read_text("/proc/meminfo", 16 * 1024)) {
        m.mem_total_bytes = meminfo_bytes(*mi, "MemTotal").value_or(0);
        if (auto a = meminfo_bytes(*mi, "MemAvailable")) {
            m.mem_available_bytes = *a;
        } else {  // kernels before 3.14: free + page cache is the usual approximation
            m.mem_available_bytes = meminfo_bytes(*mi, "MemFree").value_or(0) +
                                    meminfo_bytes(*mi, "Buffers").value_or(0) +
                                    meminfo_bytes(*mi, "Cached").value_or(0);
        }
    }
    m.cgroup = read_cgroup_memory("/");
#endif
    if (m.mem_total_bytes == 0) unknown.emplace_back("memory.total_bytes");
    if (m.mem_available_bytes == 0) unknown.emplace_back("memory.available_bytes");
    return m;
}

uint64_t memory_available_bytes() {
#if defined(__APPLE__)
    return macos_available_bytes().value_or(0);
#else
    // The process's cgroup does not move in practice; resolving it reads mountinfo, so do it once.
    static const std::optional<CgroupDir> loc = locate_cgroup("/", "memory");
    uint64_t avail = 0;
    if (auto mi = read_text("/proc/meminfo", 16 * 1024)) avail = meminfo_bytes(*mi, "MemAvailable").value_or(0);
    if (loc) {
        const uint64_t head = read_cgroup_memory_at("/", *loc).headroom_bytes();
        avail = avail ? std::min(avail, head) : (head == UINT64_MAX ? 0 : head);
    }
    return avail;
#endif
}

}  // namespace versus::system
