#include "system/cpu.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <tuple>
#include <type_traits>

#include <fmt/format.h>

#include "base/text.hpp"
#include "system/cgroups.hpp"
#include "system/cpu-features.hpp"
#include "system/files.hpp"

#if defined(VERSUS_HAVE_CPUINFO)
#include <cpuinfo.h>
#endif
#if defined(VERSUS_HAVE_HWLOC)
#include <hwloc.h>
#endif
#if defined(__linux__)
#include <sched.h>
#endif

namespace versus::system {

namespace fs = std::filesystem;
using base::contains;
using base::lower;

namespace {

#if defined(VERSUS_HAVE_CPUINFO)
const char* vendor_name(cpuinfo_vendor v) {
    switch (v) {
        case cpuinfo_vendor_intel: return "Intel";
        case cpuinfo_vendor_amd: return "AMD";
        case cpuinfo_vendor_arm: return "ARM";
        case cpuinfo_vendor_qualcomm: return "Qualcomm";
        case cpuinfo_vendor_apple: return "Apple";
        case cpuinfo_vendor_samsung: return "Samsung";
        case cpuinfo_vendor_nvidia: return "NVIDIA";
        case cpuinfo_vendor_ibm: return "IBM";
        case cpuinfo_vendor_cavium: return "Cavium";
        case cpuinfo_vendor_broadcom: return "Broadcom";
        case cpuinfo_vendor_apm: return "APM";
        case cpuinfo_vendor_huawei: return "Huawei";
        case cpuinfo_vendor_hygon: return "Hygon";
        case cpuinfo_vendor_via: return "VIA";
        case cpuinfo_vendor_marvell: return "Marvell";
        default: return "";
    }
}


void add_caches(std::vector<CacheInfo>& out, int level, const char* type, const cpuinfo_cache* caches, uint32_t n) {
    // Group identical instances (hybrid CPUs give two shapes per level).
    std::vector<CacheInfo> shapes;
    for (uint32_t i = 0; i < n; ++i) {
        const auto& c = caches[i];
        auto it = std::find_if(shapes.begin(), shapes.end(), [&](const CacheInfo& s) {
            return s.size_bytes == c.size && s.line_bytes == c.line_size && s.shared_by_threads == c.processor_count;
        });
        if (it != shapes.end()) {
            ++it->instances;
            continue;
        }
        CacheInfo ci;
        ci.level = level;
        ci.type = (level == 1) ? type : ((c.flags & CPUINFO_CACHE_UNIFIED) || level > 1 ? "unified" : type);
        ci.size_bytes = c.size;
        ci.line_bytes = c.line_size;
        ci.ways = c.associativity;
        ci.shared_by_threads = c.processor_count;
        ci.instances = 1;
        shapes.push_back(ci);
    }
    out.insert(out.end(), shapes.begin(), shapes.end());
}

// Vendor, model, counts and caches from the cpuinfo library; false when it cannot initialise.
bool identity_from_cpuinfo(CpuInfo& c) {
    if (!cpuinfo_initialize()) return false;
    c.cpu_packages = static_cast<int>(cpuinfo_get_packages_count());
    c.cpu_cores = static_cast<int>(cpuinfo_get_cores_count());
    c.cpu_threads = static_cast<int>(cpuinfo_get_processors_count());
    if (const auto* pkg = cpuinfo_get_package(0); pkg && pkg->name[0]) {
        c.cpu_model = pkg->name;
        c.cpu_model_source = "cpuinfo";
    }
    if (const auto* core = cpuinfo_get_core(0)) c.cpu_vendor = vendor_name(core->vendor);
    add_caches(c.caches, 1, "instruction", cpuinfo_get_l1i_caches(), cpuinfo_get_l1i_caches_count());
    add_caches(c.caches, 1, "data", cpuinfo_get_l1d_caches(), cpuinfo_get_l1d_caches_count());
    add_caches(c.caches, 2, "unified", cpuinfo_get_l2_caches(), cpuinfo_get_l2_caches_count());
    add_caches(c.caches, 3, "unified", cpuinfo_get_l3_caches(), cpuinfo_get_l3_caches_count());
    add_caches(c.caches, 4, "unified", cpuinfo_get_l4_caches(), cpuinfo_get_l4_caches_count());
    return true;
}
#else
bool identity_from_cpuinfo(CpuInfo&) { return false; }
#endif

// /proc/cpuinfo vendor_id (x86) or "CPU implementer" (Arm) -> a short vendor name.
std::string vendor_from_proc(std::string_view block) {
    if (auto v = field(block, "vendor_id", ':')) {
        if (*v == "GenuineIntel") return "Intel";
        if (*v == "AuthenticAMD") return "AMD";
        if (*v == "HygonGenuine") return "Hygon";
        return *v;
    }
    if (auto v = field(block, "CPU implementer", ':')) {
        static const std::map<std::string, std::string> impl = {
            {"0x41", "ARM"}, {"0x42", "Broadcom"}, {"0x43", "Cavium"}, {"0x48", "HiSilicon"}, {"0x4e", "NVIDIA"},
            {"0x50", "APM"}, {"0x51", "Qualcomm"}, {"0x61", "Apple"},  {"0xc0", "Ampere"}};
        auto it = impl.find(lower(*v));
        return it != impl.end() ? it->second : "implementer " + *v;
    }
    return {};
}


// Fallback when cpuinfo fails: cpu0's caches from sysfs (instance counts unknown).
std::vector<CacheInfo> caches_from_sysfs(const fs::path& root) {
    std::vector<CacheInfo> out;
    for (int i = 0; i < 16; ++i) {
        const fs::path d = under(root, fmt::format("/sys/devices/system/cpu/cpu0/cache/index{}", i));
        auto level = read_u64(d / "level");
        if (!level) break;
        CacheInfo ci;
        ci.level = static_cast<int>(*level);
        ci.type = lower(read_line(d / "type").value_or(""));  // "Data", "Instruction", "Unified"
        if (auto s = read_line(d / "size")) {                 // "32K", "1024K", "32M"
            uint64_t v = parse_u64(std::string_view(*s).substr(0, s->find_first_not_of("0123456789"))).value_or(0);
            if (contains(*s, "K")) v <<= 10;
            if (contains(*s, "M")) v <<= 20;
            ci.size_bytes = v;
        }
        ci.line_bytes = static_cast<uint32_t>(read_u64(d / "coherency_line_size").value_or(0));
        ci.ways = static_cast<uint32_t>(read_u64(d / "ways_of_associativity").value_or(0));
        if (auto l = read_line(d / "shared_cpu_list")) ci.shared_by_threads = static_cast<uint32_t>(count_list(*l));
        out.push_back(ci);
    }
    return out;
}


// NUMA nodes this process may use. hwloc with everything but PUs/NUMA nodes filtered out and the
// I/O and x86 (CPUID-per-PU, which rebinds the thread) components blacklisted: ~2.5 ms here vs
// ~3-7 ms for a full load, most of it plugin loading in hwloc_topology_init.
int numa_nodes_hwloc() {
#if defined(VERSUS_HAVE_HWLOC)
    hwloc_topology_t topo = nullptr;
    if (hwloc_topology_init(&topo) != 0) return 0;
    std::unique_ptr<std::remove_pointer_t<hwloc_topology_t>, decltype(&hwloc_topology_destroy)> guard(
        topo, &hwloc_topology_destroy);
    hwloc_topology_set_all_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_NONE);
#if HWLOC_API_VERSION >= 0x00020100
    for (const char* c : {"pci", "opencl", "gl", "cuda", "nvml", "rsmi", "levelzero", "x86"})
        hwloc_topology_set_components(topo, HWLOC_TOPOLOGY_COMPONENTS_FLAG_BLACKLIST, c);
#endif
    if (hwloc_topology_load(topo) != 0) return 0;
    return hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE);
#else
    return 0;
#endif
}

int threads_in_affinity(int hint) {
#if defined(__linux__)
    // The mask must cover every possible CPU id; grow it until the kernel accepts it.
    for (int n = std::max(hint, 1024); n <= (1 << 20); n *= 2) {
        cpu_set_t* set = CPU_ALLOC(n);
        if (!set) return 0;
        const size_t sz = CPU_ALLOC_SIZE(n);
        CPU_ZERO_S(sz, set);
        const int rc = sched_getaffinity(0, sz, set);
        const int count = rc == 0 ? CPU_COUNT_S(sz, set) : 0;
        CPU_FREE(set);
        if (rc == 0) return count;
        if (errno != EINVAL) return 0;
    }
    return 0;
#else
    (void)hint;
    return 0;  // no affinity masks (macOS): the caller falls back to all threads
#endif
}

// Model name and vendor where the library gave none: sysctl on macOS, /proc/cpuinfo elsewhere.
void identity_from_system(CpuInfo& c, const std::string& block) {
    if (c.cpu_model.empty()) {
#if defined(__APPLE__)
        if (auto b = sysctl_string("machdep.cpu.brand_string")) {
            c.cpu_model = *b;
            c.cpu_model_source = "sysctl";
        }
#else
        // x86: "model name"; Arm: rarely a name at all, sometimes "Model" or "Hardware"
        for (const char* k : {"model name", "Model", "Hardware", "cpu model"})
            if (auto v = field(block, k, ':'); v && !v->empty()) {
                c.cpu_model = *v;
                c.cpu_model_source = "/proc/cpuinfo";
                break;
            }
#endif
    }
    if (c.cpu_vendor.empty()) c.cpu_vendor = vendor_from_proc(block);
}

// Counts the library did not give, the affinity mask, the cgroup quota and NUMA nodes.
void read_topology(CpuInfo& c) {
#if defined(__APPLE__)
    if (c.cpu_packages == 0) c.cpu_packages = sysctl_int("hw.packages").value_or(0);
    if (c.cpu_cores == 0) c.cpu_cores = sysctl_int("hw.physicalcpu").value_or(0);
    if (c.cpu_threads == 0) c.cpu_threads = sysctl_int("hw.logicalcpu").value_or(0);
#endif
    if (c.cpu_threads == 0) c.cpu_threads = static_cast<int>(std::max(0L, sysconf(_SC_NPROCESSORS_ONLN)));
    c.cpu_threads_available = threads_in_affinity(c.cpu_threads);
#if defined(__APPLE__)
    if (c.cpu_threads_available == 0) c.cpu_threads_available = c.cpu_threads;  // no affinity masks on macOS
#endif
    c.cpu_quota = read_cpu_quota("/");

    c.numa_nodes = numa_nodes_hwloc();
    if (c.numa_nodes > 0) {
        c.numa_source = "hwloc";
    } else if (auto l = read_line("/sys/devices/system/node/online")) {
        c.numa_nodes = count_list(*l);
        c.numa_source = "sysfs";
    }
}

// cpufreq's max is the most meaningful number; without cpufreq (VMs) the kernel's "cpu MHz" is all
// there is, and it is the current (often nominal) clock, not the boost clock.
void read_clock(CpuInfo& c, const std::string& block) {
    const fs::path cf = "/sys/devices/system/cpu/cpu0/cpufreq";
    if (auto base = read_u64(cf / "base_frequency"))
        c.clock_nominal_mhz = double(*base) / 1000.0;
    else if (auto nom = read_u64("/sys/devices/system/cpu/cpu0/acpi_cppc/nominal_freq"))
        c.clock_nominal_mhz = double(*nom);
    if (auto max = read_u64(cf / "cpuinfo_max_freq"); max && *max) {
        c.clock_mhz = double(*max) / 1000.0;
        c.clock_source = "cpufreq cpuinfo_max_freq (max)";
    } else if (c.clock_nominal_mhz > 0) {
        c.clock_mhz = c.clock_nominal_mhz;
        c.clock_source = "cpufreq/ACPI CPPC nominal";
    } else if (auto mhz = field(block, "cpu MHz", ':')) {
        c.clock_mhz = std::strtod(mhz->c_str(), nullptr);
        c.clock_source = "/proc/cpuinfo cpu MHz: current clock, no cpufreq";
    }
#if defined(__APPLE__)
    if (c.clock_mhz == 0)
        if (auto hz = sysctl_u64("hw.cpufrequency_max"); hz && *hz) {
            c.clock_mhz = double(*hz) / 1e6;
            c.clock_source = "sysctl hw.cpufrequency_max";
        }
#endif
    if (c.clock_mhz <= 0) c.clock_source.clear();
}

void sort_caches(std::vector<CacheInfo>& caches) {
    std::sort(caches.begin(), caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
        auto rank = [](const std::string& t) { return t == "instruction" ? 0 : t == "data" ? 1 : 2; };
        return std::make_tuple(a.level, rank(a.type), a.size_bytes) <
               std::make_tuple(b.level, rank(b.type), b.size_bytes);
    });
}

void list_unknown(const CpuInfo& c, std::vector<std::string>& unknown) {
    const std::pair<bool, const char*> checks[] = {
        {c.cpu_vendor.empty(), "cpu.vendor"},        {c.cpu_model.empty(), "cpu.model"},
        {c.cpu_packages == 0, "cpu.packages"},       {c.cpu_cores == 0, "cpu.cores"},
        {c.cpu_threads == 0, "cpu.threads"},         {c.cpu_threads_available == 0, "cpu.threads_available"},
        {c.numa_nodes == 0, "cpu.numa_nodes"},       {c.clock_mhz == 0, "cpu.clock_mhz"},
        {c.clock_nominal_mhz == 0, "cpu.clock_nominal_mhz"}, {c.isa.empty(), "cpu.isa"},
        {c.caches.empty(), "cpu.caches"}};
    for (const auto& [missing, key] : checks)
        if (missing) unknown.emplace_back(key);
}

}  // namespace

// The first processor's block of /proc/cpuinfo: enough for vendor, model, MHz and flags, and it
// spares reading hundreds of KiB on large machines.
std::string cpuinfo_first_block(const fs::path& root) {
    auto t = read_text(under(root, "/proc/cpuinfo"), 64 * 1024);
    if (!t) return {};
    const size_t e = t->find("\n\n");
    return e == std::string::npos ? *t : t->substr(0, e);
}

CpuInfo probe_cpu(std::vector<std::string>& unknown) {
    CpuInfo c;
    const std::string block = cpuinfo_first_block("/");  // empty on macOS
    identity_from_cpuinfo(c);
    identity_from_system(c, block);
    read_topology(c);
    read_clock(c, block);
    c.isa = cpu_features().names();
    if (c.caches.empty()) c.caches = caches_from_sysfs("/");
    sort_caches(c.caches);
    list_unknown(c, unknown);
    return c;
}

}  // namespace versus::system
