// sysinfo: fills SystemInfo from files (/proc, /sys, /etc/os-release), uname, cpuinfo, a reduced
// hwloc topology and, on macOS, sysctl. Contract in sysinfo.hpp; in short: nothing here throws for
// a missing source, nothing starts a process, and the whole probe stays in single-digit ms.
#include "sysinfo.hpp"

#include <cpuinfo.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <hwloc.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <system_error>
#include <tuple>
#include <type_traits>

#include "backend/cpu/cpu-features.hpp"

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__APPLE__)
#include <mach/mach.h>
#include <sys/sysctl.h>
#endif

namespace versus::core {

namespace fs = std::filesystem;

namespace {

// ---- small file helpers: every failure is "no value", never an exception ----

// Reads up to max_bytes. /proc and /sys files report size 0, so read until EOF instead of stat().
std::optional<std::string> read_text(const fs::path& p, size_t max_bytes = size_t(1) << 20) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::string out;
    char buf[8192];
    bool ok = true;
    while (out.size() < max_bytes) {
        const ssize_t n = ::read(fd, buf, std::min(sizeof buf, max_bytes - out.size()));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) ok = false;
        if (n <= 0) break;
        out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    if (!ok) return std::nullopt;
    return out;
}

std::string_view trim(std::string_view s) {
    const auto ws = " \t\r\n";
    const size_t b = s.find_first_not_of(ws);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(ws) - b + 1);
}

std::string lower(std::string_view s) {
    std::string r(s);
    for (char& c : r) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return r;
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

std::optional<std::string> read_line(const fs::path& p) {
    auto t = read_text(p, 4096);
    if (!t) return std::nullopt;
    std::string_view v = *t;
    v = v.substr(0, v.find('\n'));
    return std::string(trim(v));
}

std::optional<uint64_t> parse_u64(std::string_view s) {
    s = trim(s);
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data()) return std::nullopt;
    return v;
}

std::optional<uint64_t> read_u64(const fs::path& p) {
    auto l = read_line(p);
    return l ? parse_u64(*l) : std::nullopt;
}

bool path_exists(const fs::path& p) {
    std::error_code ec;
    return fs::exists(p, ec);
}

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

// `root` + an absolute path of the system being probed.
fs::path under(const fs::path& root, const fs::path& abs) {
    if (root.empty() || root == "/") return abs;
    return root / abs.relative_path();
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    size_t b = 0;
    while (true) {
        const size_t e = s.find(sep, b);
        out.push_back(s.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
        if (e == std::string_view::npos) break;
        b = e + 1;
    }
    return out;
}

// "0-3,8,10-11" (sysfs cpu/node lists) -> number of entries.
int count_list(std::string_view s) {
    int n = 0;
    for (auto part : split(trim(s), ',')) {
        part = trim(part);
        if (part.empty()) continue;
        const size_t dash = part.find('-');
        if (dash == std::string_view::npos) {
            ++n;
        } else {
            auto a = parse_u64(part.substr(0, dash)), b = parse_u64(part.substr(dash + 1));
            if (a && b && *b >= *a) n += static_cast<int>(*b - *a + 1);
        }
    }
    return n;
}

// "key<sep>value" lines (os-release, /proc/cpuinfo, /proc/meminfo): value of the first match.
std::optional<std::string> field(std::string_view text, std::string_view key, char sep) {
    for (auto line : split(text, '\n')) {
        const size_t p = line.find(sep);
        if (p == std::string_view::npos) continue;
        if (trim(line.substr(0, p)) == key) return std::string(trim(line.substr(p + 1)));
    }
    return std::nullopt;
}

// os-release values may be quoted; undo the quotes and backslash escapes.
std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front())
        v = v.substr(1, v.size() - 2);
    std::string r;
    for (size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        r += v[i];
    }
    return r;
}

// /proc/meminfo "MemAvailable:  24430944 kB" -> bytes.
[[maybe_unused]] std::optional<uint64_t> meminfo_bytes(std::string_view text, std::string_view key) {
    auto v = field(text, key, ':');
    if (!v) return std::nullopt;
    auto n = parse_u64(std::string_view(*v).substr(0, v->find(' ')));
    if (!n) return std::nullopt;
    return contains(*v, "kB") ? *n * 1024 : *n;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string unescape_octal(std::string_view s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
        auto digit = [&](size_t k) { return std::isdigit(static_cast<unsigned char>(s[k])) != 0; };
        if (s[i] == '\\' && i + 3 < s.size() && digit(i + 1) && digit(i + 2) && digit(i + 3)) {
            r += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
            continue;
        }
        r += s[i];
    }
    return r;
}

struct Mount {
    std::string root, mountpoint, fstype, source, superopts;
};

// /proc/self/mountinfo: "id parent maj:min root mountpoint opts [optional...] - fstype source superopts"
std::vector<Mount> parse_mountinfo(std::string_view text) {
    std::vector<Mount> out;
    for (auto line : split(text, '\n')) {
        const size_t dash = line.find(" - ");
        if (dash == std::string_view::npos) continue;
        auto left = split(line.substr(0, dash), ' ');
        auto right = split(line.substr(dash + 3), ' ');
        if (left.size() < 5 || right.empty()) continue;
        Mount m;
        m.root = unescape_octal(left[3]);
        m.mountpoint = unescape_octal(left[4]);
        m.fstype = std::string(right[0]);
        if (right.size() > 1) m.source = unescape_octal(right[1]);
        if (right.size() > 2) m.superopts = std::string(right[2]);
        out.push_back(std::move(m));
    }
    return out;
}

bool has_token(std::string_view list, std::string_view tok, char sep) {
    for (auto t : split(list, sep))
        if (trim(t) == tok) return true;
    return false;
}

// ---- cgroups ----

constexpr uint64_t CGROUP_UNLIMITED = uint64_t(1) << 60;  // v1 reports "no limit" as ~2^63 rounded to a page

struct CgroupDir {
    std::string version;  // "v2", "v1"
    fs::path mountpoint;  // absolute, in the probed system
    fs::path dir;         // the process's cgroup directory, absolute
};

// Where the process's cgroup for `controller` lives. v2 wins when its root lists the controller;
// otherwise (v1, or hybrid with an empty unified hierarchy) the v1 mount that carries it.
std::optional<CgroupDir> locate_cgroup(const fs::path& root, std::string_view controller) {
    auto self = read_text(under(root, "/proc/self/cgroup"));
    auto mi = read_text(under(root, "/proc/self/mountinfo"));
    if (!self || !mi) return std::nullopt;
    std::optional<std::string> v2_path, v1_path;
    for (auto line : split(*self, '\n')) {
        auto f = split(line, ':');
        if (f.size() < 3) continue;
        // the path may itself contain ':'; it is everything after the second colon
        const size_t p2 = line.find(':', line.find(':') + 1);
        std::string path(line.substr(p2 + 1));
        if (f[0] == "0" && f[1].empty())
            v2_path = path;
        else if (has_token(f[1], controller, ','))
            v1_path = path;
    }
    const auto mounts = parse_mountinfo(*mi);
    // cgroup paths are relative to the mount's root (the cgroup namespace root inside a container)
    auto compose = [&](const Mount& m, const std::string& cg) {
        std::string rel = cg;
        if (m.root != "/" && rel.rfind(m.root, 0) == 0) rel = rel.substr(m.root.size());
        const fs::path relp = fs::path(rel).relative_path();
        fs::path d = relp.empty() ? fs::path(m.mountpoint) : fs::path(m.mountpoint) / relp;
        // a path outside our namespace (e.g. "/../..") cannot be opened: fall back to the mount root
        if (rel.find("..") != std::string::npos || !is_dir(under(root, d))) d = m.mountpoint;
        return d.lexically_normal();
    };
    if (v2_path) {
        for (const auto& m : mounts) {
            if (m.fstype != "cgroup2") continue;
            auto ctrls = read_line(under(root, fs::path(m.mountpoint) / "cgroup.controllers"));
            if (!ctrls || !has_token(*ctrls, controller, ' ')) continue;
            return CgroupDir{"v2", m.mountpoint, compose(m, *v2_path)};
        }
    }
    if (v1_path) {
        for (const auto& m : mounts) {
            if (m.fstype == "cgroup" && has_token(m.superopts, controller, ','))
                return CgroupDir{"v1", m.mountpoint, compose(m, *v1_path)};
        }
    }
    return std::nullopt;
}

uint64_t stat_value(const fs::path& memory_stat, std::string_view key) {
    auto t = read_text(memory_stat, 64 * 1024);
    if (!t) return 0;
    auto v = field(*t, key, ' ');
    auto n = v ? parse_u64(*v) : std::nullopt;
    return n.value_or(0);
}

CgroupMemory read_cgroup_memory_at(const fs::path& root, const CgroupDir& loc) {
    CgroupMemory cm;
    cm.version = loc.version;
    cm.path = loc.dir.string();
    if (loc.version == "v2") {
        // Limits nest: walk up to the mount root and keep the level with the least headroom.
        uint64_t best_headroom = UINT64_MAX;
        for (fs::path d = loc.dir;; d = d.parent_path()) {
            auto max = read_line(under(root, d / "memory.max"));
            auto cur = read_u64(under(root, d / "memory.current"));
            if (d == loc.dir) {
                cm.usage_bytes = cur.value_or(0);
                cm.inactive_file_bytes = stat_value(under(root, d / "memory.stat"), "inactive_file");
            }
            if (max && *max != "max") {
                CgroupMemory level;
                level.limit_bytes = parse_u64(*max).value_or(0);
                level.usage_bytes = cur.value_or(0);
                level.inactive_file_bytes = stat_value(under(root, d / "memory.stat"), "inactive_file");
                if (level.limit_bytes > 0 && level.limit_bytes < CGROUP_UNLIMITED &&
                    level.headroom_bytes() < best_headroom) {
                    best_headroom = level.headroom_bytes();
                    cm.limit_bytes = level.limit_bytes;
                    cm.usage_bytes = level.usage_bytes;
                    cm.inactive_file_bytes = level.inactive_file_bytes;
                    cm.path = d.string();
                }
            }
            if (d == loc.mountpoint || d == d.parent_path() || !d.has_relative_path()) break;
        }
    } else {
        // v1 does the walk for us: hierarchical_memory_limit is the effective (tightest) limit.
        const fs::path d = loc.dir;
        const fs::path st = under(root, d / "memory.stat");
        uint64_t limit = read_u64(under(root, d / "memory.limit_in_bytes")).value_or(0);
        if (uint64_t h = stat_value(st, "hierarchical_memory_limit"); h > 0) limit = limit ? std::min(limit, h) : h;
        cm.limit_bytes = limit < CGROUP_UNLIMITED ? limit : 0;
        cm.usage_bytes = read_u64(under(root, d / "memory.usage_in_bytes")).value_or(0);
        uint64_t inact = stat_value(st, "total_inactive_file");
        cm.inactive_file_bytes = inact ? inact : stat_value(st, "inactive_file");
    }
    return cm;
}

// CPUs' worth of quota: v2 cpu.max "quota period" (tightest up the tree), v1 cfs_quota_us/cfs_period_us.
double read_cpu_quota(const fs::path& root) {
    auto loc = locate_cgroup(root, "cpu");
    if (!loc) return 0;
    double best = 0;
    auto take = [&](double q) {
        if (q > 0 && (best == 0 || q < best)) best = q;
    };
    if (loc->version == "v2") {
        for (fs::path d = loc->dir;; d = d.parent_path()) {
            if (auto l = read_line(under(root, d / "cpu.max"))) {
                auto f = split(*l, ' ');
                auto q = parse_u64(f[0]);
                auto p = f.size() > 1 ? parse_u64(f[1]) : std::nullopt;
                if (q && p && *p) take(double(*q) / double(*p));
            }
            if (d == loc->mountpoint || d == d.parent_path() || !d.has_relative_path()) break;
        }
    } else {
        auto q = read_line(under(root, loc->dir / "cpu.cfs_quota_us"));  // "-1" when unlimited
        auto p = read_u64(under(root, loc->dir / "cpu.cfs_period_us"));
        if (q && p && *p && !q->empty() && (*q)[0] != '-')
            if (auto qv = parse_u64(*q)) take(double(*qv) / double(*p));
    }
    return best;
}

// ---- CPU ----

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

#if defined(__APPLE__)
std::optional<std::string> sysctl_string(const char* name) {
    size_t len = 0;
    if (sysctlbyname(name, nullptr, &len, nullptr, 0) != 0 || len == 0) return std::nullopt;
    std::string s(len, '\0');
    if (sysctlbyname(name, s.data(), &len, nullptr, 0) != 0) return std::nullopt;
    s.resize(strnlen(s.c_str(), len));
    return s;
}

template <class T>
std::optional<T> sysctl_value(const char* name) {
    T v{};
    size_t len = sizeof v;
    if (sysctlbyname(name, &v, &len, nullptr, 0) != 0) return std::nullopt;
    return v;
}

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

// ---- virtualisation markers ----

struct Marker {
    std::string text, kind;
    bool weak = false;  // evidence that alone does not decide (overlay root, virtio devices)
};

std::string first_kind(const std::vector<Marker>& ms) {
    for (const auto& m : ms)
        if (!m.kind.empty()) return m.kind;
    return {};
}

// Path fragments in cgroup paths and mount sources that name a container runtime.
std::string runtime_hint(std::string_view s) {
    if (contains(s, "kubepods") || contains(s, "/var/lib/kubelet/pods")) return "kubernetes";
    if (contains(s, "libpod") || contains(s, "/var/lib/containers/storage")) return "podman";
    if (contains(s, "docker")) return "docker";
    if (contains(s, "/lxc/") || contains(s, "lxc.payload") || contains(s, "/var/lib/lxc")) return "lxc";
    if (contains(s, "containerd")) return "containerd";
    return {};
}

// DMI vendor/product strings that only virtual machines carry.
std::string dmi_vm_kind(const std::string& vendor, const std::string& product) {
    const std::string v = lower(vendor), p = lower(product);
    if (contains(p, ".metal")) return {};  // EC2 bare-metal instances keep the "Amazon EC2" vendor
    if (contains(p, "kvm")) return "kvm";
    if (contains(v, "qemu") || contains(p, "qemu")) return "qemu";
    if (contains(v, "vmware") || contains(p, "vmware")) return "vmware";
    if (contains(v, "innotek") || contains(p, "virtualbox")) return "virtualbox";
    if (contains(v, "xen") || contains(p, "hvm domu")) return "xen";
    if (contains(v, "microsoft") && contains(p, "virtual machine")) return "hyper-v";
    if (contains(v, "parallels") || contains(p, "parallels")) return "parallels";
    if (contains(v, "bochs") || contains(p, "bochs")) return "bochs";
    if (contains(v, "bhyve") || contains(p, "bhyve")) return "bhyve";
    if (contains(v, "amazon ec2")) return "amazon-ec2";
    if (contains(p, "google compute engine")) return "gce";
    if (contains(v, "openstack") || contains(p, "openstack")) return "openstack";
    if (contains(p, "apple virtualization")) return "apple-virtualization";
    if (contains(v, "cloud hypervisor") || contains(p, "cloud hypervisor")) return "cloud-hypervisor";
    if (contains(v, "firecracker") || contains(p, "firecracker")) return "firecracker";
    return {};
}

// The first processor's block of /proc/cpuinfo: enough for vendor, model, MHz and flags, and it
// spares reading hundreds of KiB on large machines.
std::string cpuinfo_first_block(const fs::path& root) {
    auto t = read_text(under(root, "/proc/cpuinfo"), 64 * 1024);
    if (!t) return {};
    const size_t e = t->find("\n\n");
    return e == std::string::npos ? *t : t->substr(0, e);
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string r;
    for (size_t i = 0; i < v.size(); ++i) {
        if (i) r += sep;
        r += v[i];
    }
    return r;
}

std::string human_bytes(uint64_t b) {
    if (b >= (uint64_t(1) << 30)) return fmt::format("{:.1f} GiB", double(b) / double(uint64_t(1) << 30));
    if (b >= (uint64_t(1) << 20)) return fmt::format("{:.{}f} MiB", double(b) / double(1 << 20), b % (1 << 20) ? 1 : 0);
    if (b >= 1024) return fmt::format("{} KiB", b / 1024);
    return fmt::format("{} B", b);
}

}  // namespace

uint64_t CgroupMemory::headroom_bytes() const {
    if (limit_bytes == 0) return UINT64_MAX;
    const uint64_t used = usage_bytes > inactive_file_bytes ? usage_bytes - inactive_file_bytes : 0;
    return limit_bytes > used ? limit_bytes - used : 0;
}

CgroupMemory read_cgroup_memory(const fs::path& root) {
    auto loc = locate_cgroup(root, "memory");
    return loc ? read_cgroup_memory_at(root, *loc) : CgroupMemory{};
}

double rss_peak_bytes() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
#if defined(__APPLE__)
    return static_cast<double>(ru.ru_maxrss);
#else
    return static_cast<double>(ru.ru_maxrss) * 1024.0;
#endif
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

Virtualization detect_virtualization(const fs::path& root, bool live) {
    std::vector<Marker> ct, vm;

    // -- container --
    if (auto ce = read_text(under(root, "/run/.containerenv"), 4096)) {
        // podman writes engine="podman-4.3.1" when it is not started with --privileged=false
        std::string kind = "podman";
        if (auto e = field(*ce, "engine", '=')) {
            std::string eng = unquote(*e);
            if (!eng.empty()) kind = eng.substr(0, eng.find('-'));
        }
        ct.push_back({"/run/.containerenv", kind});
    }
    if (path_exists(under(root, "/.dockerenv"))) ct.push_back({"/.dockerenv", "docker"});
    if (auto c = read_line(under(root, "/run/systemd/container")); c && !c->empty())
        ct.push_back({"/run/systemd/container=" + *c, *c});
    if (live) {
        if (const char* c = std::getenv("container"); c && *c) ct.push_back({fmt::format("env container={}", c), c});
    }
    if (auto env1 = read_text(under(root, "/proc/1/environ"), 64 * 1024)) {  // readable as root only
        for (auto kv : split(*env1, '\0'))
            if (kv.rfind("container=", 0) == 0 && kv.size() > 10)
                ct.push_back({"/proc/1/environ " + std::string(kv), std::string(kv.substr(10))});
    }
    if (live && std::getenv("KUBERNETES_SERVICE_HOST")) ct.push_back({"env KUBERNETES_SERVICE_HOST", "kubernetes"});
    if (path_exists(under(root, "/var/run/secrets/kubernetes.io")) ||
        path_exists(under(root, "/run/secrets/kubernetes.io")))
        ct.push_back({"/run/secrets/kubernetes.io", "kubernetes"});
    if (auto cg = read_text(under(root, "/proc/1/cgroup"), 64 * 1024)) {
        for (auto line : split(*cg, '\n')) {
            std::string k = runtime_hint(line);
            if (!k.empty()) {
                ct.push_back({"/proc/1/cgroup mentions " + k, k});
                break;
            }
        }
    }
    if (auto mi = read_text(under(root, "/proc/self/mountinfo"))) {
        std::string hint_kind;
        for (const auto& m : parse_mountinfo(*mi)) {
            if (m.mountpoint == "/" && (m.fstype == "overlay" || m.fstype == "fuse-overlayfs"))
                ct.push_back({"overlay root filesystem", "", true});
            if (m.fstype == "fuse.lxcfs" && hint_kind.empty()) hint_kind = "lxc";
            if (hint_kind.empty()) hint_kind = runtime_hint(m.root + " " + m.source);
        }
        if (!hint_kind.empty()) ct.push_back({"/proc/self/mountinfo mentions " + hint_kind, hint_kind});
    }

    // -- virtual machine -- (most specific kind first: DMI, then hypervisor interfaces)
    const std::string sys_vendor = read_line(under(root, "/sys/class/dmi/id/sys_vendor")).value_or("");
    const std::string product = read_line(under(root, "/sys/class/dmi/id/product_name")).value_or("");
    const std::string board_vendor = read_line(under(root, "/sys/class/dmi/id/board_vendor")).value_or("");
    if (std::string k = dmi_vm_kind(sys_vendor, product); !k.empty())
        vm.push_back({fmt::format("DMI {} / {}", sys_vendor, product), k});
    else if (std::string kb = dmi_vm_kind(board_vendor, ""); !kb.empty())
        vm.push_back({"DMI board_vendor " + board_vendor, kb});
    if (auto h = read_line(under(root, "/sys/hypervisor/type")); h && !h->empty())
        vm.push_back({"/sys/hypervisor/type=" + *h, *h});
    if (auto osr = read_line(under(root, "/proc/sys/kernel/osrelease")); osr && contains(lower(*osr), "microsoft"))
        vm.push_back(
            {"kernel release " + *osr, contains(*osr, "WSL2") || contains(*osr, "standard") ? "wsl2" : "wsl1"});
    if (auto cs = read_line(under(root, "/sys/devices/system/clocksource/clocksource0/available_clocksource"))) {
        if (contains(*cs, "kvm-clock"))
            vm.push_back({"kvm-clock clocksource", "kvm"});
        else if (contains(*cs, "hyperv"))
            vm.push_back({"hyperv clocksource", "hyper-v"});
        else if (contains(*cs, "xen"))
            vm.push_back({"xen clocksource", "xen"});
    }
    if (auto dt = read_text(under(root, "/proc/device-tree/hypervisor/compatible"), 256)) {
        std::string c = lower(*dt);
        vm.push_back({"device-tree hypervisor node", contains(c, "kvm") ? "kvm" : contains(c, "xen") ? "xen" : ""});
    }
    if (live && cpu::cpu_features().hypervisor) vm.push_back({"CPUID hypervisor bit", ""});
    if (auto blk = cpuinfo_first_block(root); !blk.empty()) {
        if (auto flags = field(blk, "flags", ':'); flags && has_token(*flags, "hypervisor", ' '))
            vm.push_back({"/proc/cpuinfo hypervisor flag", ""});
    }
    {
        std::error_code ec;
        fs::directory_iterator it(under(root, "/sys/bus/virtio/devices"), ec);
        if (!ec && it != fs::directory_iterator()) vm.push_back({"virtio devices", "", true});
    }
#if defined(__APPLE__)
    if (live && sysctl_value<int>("kern.hv_vmm_present").value_or(0) == 1)
        vm.push_back({"sysctl kern.hv_vmm_present=1", ""});
#endif

    Virtualization v;
    for (const auto& m : ct) {
        v.container_markers.push_back(m.text);
        v.container = v.container || !m.weak;
    }
    for (const auto& m : vm) {
        v.vm_markers.push_back(m.text);
        v.vm = v.vm || !m.weak;
    }
    if (v.container) v.container_kind = first_kind(ct);
    if (v.vm) v.vm_kind = first_kind(vm);
    return v;
}

GpuVisibility detect_gpu_visibility(const fs::path& root, bool live) {
    GpuVisibility g;
#if defined(__APPLE__)
    (void)root;
    (void)live;
#if defined(__aarch64__)
    g.statement = "Apple GPU via Metal (unified memory)";
#else
    g.statement = "Metal GPUs (Intel Mac; see the metal backend)";
#endif
    return g;
#else
    std::vector<std::string> nv_gpus, nv_other, render, kfd;
    {
        std::error_code ec;
        for (fs::directory_iterator it(under(root, "/dev"), ec), end; !ec && it != end; it.increment(ec)) {
            const std::string n = it->path().filename().string();
            if (n.rfind("nvidia", 0) != 0) continue;
            const bool numbered = n.size() > 6 && std::all_of(n.begin() + 6, n.end(), ::isdigit);
            (numbered ? nv_gpus : nv_other).push_back("/dev/" + n);
        }
        for (fs::directory_iterator it(under(root, "/dev/dri"), ec), end; !ec && it != end; it.increment(ec)) {
            const std::string n = it->path().filename().string();
            if (n.rfind("renderD", 0) != 0) continue;
            // which kernel driver backs it: amdgpu, i915, xe, nouveau, nvidia-drm, virtio_gpu, ...
            std::error_code ec2;
            const fs::path drv = fs::read_symlink(under(root, "/sys/class/drm/" + n + "/device/driver"), ec2);
            render.push_back(ec2 ? "/dev/dri/" + n : fmt::format("/dev/dri/{} ({})", n, drv.filename().string()));
        }
        if (path_exists(under(root, "/dev/kfd"))) kfd.push_back("/dev/kfd");
    }
    std::sort(nv_gpus.begin(), nv_gpus.end());
    std::sort(nv_other.begin(), nv_other.end());
    std::sort(render.begin(), render.end());
    for (auto* v : {&nv_gpus, &nv_other, &render, &kfd})
        g.device_nodes.insert(g.device_nodes.end(), v->begin(), v->end());

    if (auto ver = read_line(under(root, "/proc/driver/nvidia/version"))) {
        // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 ..."
        for (auto tok : split(*ver, ' '))
            if (!tok.empty() && std::isdigit(static_cast<unsigned char>(tok[0])) && contains(tok, ".")) {
                g.nvidia_driver = std::string(tok);
                break;
            }
    }
    if (live) {
        for (const char* k :
             {"NVIDIA_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES"})
            if (const char* v = std::getenv(k)) g.env.push_back(fmt::format("{}={}", k, v));
    }

    std::vector<std::string> parts;
    if (!nv_gpus.empty())
        parts.push_back(fmt::format("NVIDIA: {} GPU node{} ({}){}", nv_gpus.size(), nv_gpus.size() > 1 ? "s" : "",
                                    join(nv_gpus, ", "), g.nvidia_driver.empty() ? "" : ", driver " + g.nvidia_driver));
    else if (!nv_other.empty())
        parts.push_back("NVIDIA control nodes but no /dev/nvidiaN: no GPU passed in");
    if (!render.empty()) parts.push_back("DRM render nodes " + join(render, ", "));
    if (!kfd.empty()) parts.push_back("/dev/kfd (AMD ROCm)");
    if (parts.empty()) parts.push_back("none visible (no /dev/nvidia*, /dev/dri/renderD*, /dev/kfd)");
    for (const auto& e : g.env) {
        parts.push_back(e);
        if (e.rfind("NVIDIA_VISIBLE_DEVICES=", 0) == 0 && nv_gpus.empty() && e != "NVIDIA_VISIBLE_DEVICES=void")
            parts.push_back("but no /dev/nvidia* nodes: start the container with the NVIDIA runtime (--gpus)");
        if (e == "CUDA_VISIBLE_DEVICES=" || e == "CUDA_VISIBLE_DEVICES=-1") parts.push_back("(hides every CUDA GPU)");
    }
    g.statement = join(parts, "; ");
    return g;
#endif
}

SystemInfo probe_system() {
    const auto t0 = std::chrono::steady_clock::now();
    SystemInfo s;
    auto unknown = [&](const char* key) { s.unknown.emplace_back(key); };

    // -- host, OS, kernel --
    struct utsname u {};
    if (uname(&u) == 0) {
        s.hostname = u.nodename;
        s.kernel = fmt::format("{} {}", u.sysname, u.release);
        s.kernel_version = u.version;
        s.arch = u.machine;
    }
    if (s.hostname.empty()) {
        char h[256] = {};
        if (gethostname(h, sizeof h - 1) == 0) s.hostname = h;
    }
#if defined(__APPLE__)
    s.os_name = "macOS";
    s.os_version = sysctl_string("kern.osproductversion").value_or("");
    if (!s.os_version.empty()) {
        auto build = sysctl_string("kern.osversion");
        s.os_pretty = "macOS " + s.os_version + (build ? " (" + *build + ")" : "");
    }
    s.platform = sysctl_string("hw.model").value_or("");
#else
    auto osr = read_text("/etc/os-release", 16 * 1024);
    if (!osr) osr = read_text("/usr/lib/os-release", 16 * 1024);
    if (osr) {
        s.os_name = unquote(field(*osr, "NAME", '=').value_or(""));
        s.os_version = unquote(field(*osr, "VERSION", '=').value_or(field(*osr, "VERSION_ID", '=').value_or("")));
        s.os_pretty = unquote(field(*osr, "PRETTY_NAME", '=').value_or(""));
        if (s.os_pretty.empty()) s.os_pretty = s.os_name + (s.os_version.empty() ? "" : " " + s.os_version);
    }
    {
        // Board makers fill unused DMI fields with placeholders; those say nothing.
        auto real = [](const std::optional<std::string>& v) {
            static const char* junk[] = {"to be filled by o.e.m.",
                                         "default string",
                                         "system manufacturer",
                                         "system product name",
                                         "not specified",
                                         "none",
                                         ""};
            if (!v) return std::string();
            const std::string l = lower(*v);
            for (const char* j : junk)
                if (l == j) return std::string();
            return *v;
        };
        const std::string vendor = real(read_line("/sys/class/dmi/id/sys_vendor"));
        const std::string product = real(read_line("/sys/class/dmi/id/product_name"));
        s.platform = vendor.empty() ? product : product.empty() ? vendor : vendor + " " + product;
    }
#endif
    if (s.hostname.empty()) unknown("host");
    if (s.os_name.empty()) unknown("os.name");
    if (s.os_version.empty()) unknown("os.version");
    if (s.os_pretty.empty()) unknown("os.pretty");
    if (s.kernel.empty()) unknown("os.kernel");
    if (s.platform.empty()) unknown("platform");

    // -- CPU --
    const std::string block = cpuinfo_first_block("/");  // empty on macOS
    if (cpuinfo_initialize()) {
        s.cpu_packages = static_cast<int>(cpuinfo_get_packages_count());
        s.cpu_cores = static_cast<int>(cpuinfo_get_cores_count());
        s.cpu_threads = static_cast<int>(cpuinfo_get_processors_count());
        if (const auto* pkg = cpuinfo_get_package(0); pkg && pkg->name[0]) {
            s.cpu_model = pkg->name;
            s.cpu_model_source = "cpuinfo";
        }
        if (const auto* core = cpuinfo_get_core(0)) s.cpu_vendor = vendor_name(core->vendor);
        add_caches(s.caches, 1, "instruction", cpuinfo_get_l1i_caches(), cpuinfo_get_l1i_caches_count());
        add_caches(s.caches, 1, "data", cpuinfo_get_l1d_caches(), cpuinfo_get_l1d_caches_count());
        add_caches(s.caches, 2, "unified", cpuinfo_get_l2_caches(), cpuinfo_get_l2_caches_count());
        add_caches(s.caches, 3, "unified", cpuinfo_get_l3_caches(), cpuinfo_get_l3_caches_count());
        add_caches(s.caches, 4, "unified", cpuinfo_get_l4_caches(), cpuinfo_get_l4_caches_count());
    }
    if (s.cpu_model.empty()) {
#if defined(__APPLE__)
        if (auto b = sysctl_string("machdep.cpu.brand_string")) {
            s.cpu_model = *b;
            s.cpu_model_source = "sysctl";
        }
#else
        // x86: "model name"; Arm: rarely a name at all, sometimes "Model" or "Hardware"
        for (const char* k : {"model name", "Model", "Hardware", "cpu model"})
            if (auto v = field(block, k, ':'); v && !v->empty()) {
                s.cpu_model = *v;
                s.cpu_model_source = "/proc/cpuinfo";
                break;
            }
#endif
    }
    if (s.cpu_vendor.empty()) s.cpu_vendor = vendor_from_proc(block);
#if defined(__APPLE__)
    if (s.cpu_packages == 0) s.cpu_packages = sysctl_value<int>("hw.packages").value_or(0);
    if (s.cpu_cores == 0) s.cpu_cores = sysctl_value<int>("hw.physicalcpu").value_or(0);
    if (s.cpu_threads == 0) s.cpu_threads = sysctl_value<int>("hw.logicalcpu").value_or(0);
#endif
    if (s.cpu_threads == 0) s.cpu_threads = static_cast<int>(std::max(0L, sysconf(_SC_NPROCESSORS_ONLN)));
    s.cpu_threads_available = threads_in_affinity(s.cpu_threads);
#if defined(__APPLE__)
    if (s.cpu_threads_available == 0) s.cpu_threads_available = s.cpu_threads;  // no affinity masks on macOS
#endif
    s.cpu_quota = read_cpu_quota("/");

    s.numa_nodes = numa_nodes_hwloc();
    if (s.numa_nodes > 0) {
        s.numa_source = "hwloc";
    } else if (auto l = read_line("/sys/devices/system/node/online")) {
        s.numa_nodes = count_list(*l);
        s.numa_source = "sysfs";
    }

    // Clock: cpufreq's max is the most meaningful number; without cpufreq (VMs) the kernel's
    // "cpu MHz" is all there is, and it is the current (often nominal) clock, not the boost clock.
    const fs::path cf = "/sys/devices/system/cpu/cpu0/cpufreq";
    if (auto base = read_u64(cf / "base_frequency"))
        s.clock_nominal_mhz = double(*base) / 1000.0;
    else if (auto nom = read_u64("/sys/devices/system/cpu/cpu0/acpi_cppc/nominal_freq"))
        s.clock_nominal_mhz = double(*nom);
    if (auto max = read_u64(cf / "cpuinfo_max_freq"); max && *max) {
        s.clock_mhz = double(*max) / 1000.0;
        s.clock_source = "cpufreq cpuinfo_max_freq (max)";
    } else if (s.clock_nominal_mhz > 0) {
        s.clock_mhz = s.clock_nominal_mhz;
        s.clock_source = "cpufreq/ACPI CPPC nominal";
    } else if (auto mhz = field(block, "cpu MHz", ':')) {
        s.clock_mhz = std::strtod(mhz->c_str(), nullptr);
        s.clock_source = "/proc/cpuinfo cpu MHz: current clock, no cpufreq";
    }
#if defined(__APPLE__)
    if (s.clock_mhz == 0)
        if (auto hz = sysctl_value<uint64_t>("hw.cpufrequency_max"); hz && *hz) {
            s.clock_mhz = double(*hz) / 1e6;
            s.clock_source = "sysctl hw.cpufrequency_max";
        }
#endif
    if (s.clock_mhz <= 0) s.clock_source.clear();

    s.isa = cpu::cpu_features().names();
    if (s.caches.empty()) s.caches = caches_from_sysfs("/");
    std::sort(s.caches.begin(), s.caches.end(), [](const CacheInfo& a, const CacheInfo& b) {
        auto rank = [](const std::string& t) { return t == "instruction" ? 0 : t == "data" ? 1 : 2; };
        return std::make_tuple(a.level, rank(a.type), a.size_bytes) <
               std::make_tuple(b.level, rank(b.type), b.size_bytes);
    });

    if (s.cpu_vendor.empty()) unknown("cpu.vendor");
    if (s.cpu_model.empty()) unknown("cpu.model");
    if (s.cpu_packages == 0) unknown("cpu.packages");
    if (s.cpu_cores == 0) unknown("cpu.cores");
    if (s.cpu_threads == 0) unknown("cpu.threads");
    if (s.cpu_threads_available == 0) unknown("cpu.threads_available");
    if (s.numa_nodes == 0) unknown("cpu.numa_nodes");
    if (s.clock_mhz == 0) unknown("cpu.clock_mhz");
    if (s.clock_nominal_mhz == 0) unknown("cpu.clock_nominal_mhz");
    if (s.isa.empty()) unknown("cpu.isa");
    if (s.caches.empty()) unknown("cpu.caches");

        // -- memory --
#if defined(__APPLE__)
    s.mem_total_bytes = sysctl_value<uint64_t>("hw.memsize").value_or(0);
    s.mem_available_bytes = macos_available_bytes().value_or(0);
#else
    if (auto mi = read_text("/proc/meminfo", 16 * 1024)) {
        s.mem_total_bytes = meminfo_bytes(*mi, "MemTotal").value_or(0);
        if (auto a = meminfo_bytes(*mi, "MemAvailable")) {
            s.mem_available_bytes = *a;
        } else {  // kernels before 3.14: free + page cache is the usual approximation
            s.mem_available_bytes = meminfo_bytes(*mi, "MemFree").value_or(0) +
                                    meminfo_bytes(*mi, "Buffers").value_or(0) +
                                    meminfo_bytes(*mi, "Cached").value_or(0);
        }
    }
    s.cgroup = read_cgroup_memory("/");
#endif
    if (s.mem_total_bytes == 0) unknown("memory.total_bytes");
    if (s.mem_available_bytes == 0) unknown("memory.available_bytes");

    s.virt = detect_virtualization("/", true);
    s.gpu = detect_gpu_visibility("/", true);

    s.probe_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return s;
}

nlohmann::ordered_json to_json(const SystemInfo& s) {
    using J = nlohmann::ordered_json;
    auto is_unknown = [&](std::string_view key) {
        return std::find(s.unknown.begin(), s.unknown.end(), key) != s.unknown.end();
    };
    // null for a field the probe could not read, so consumers never mistake 0 for a measurement
    auto val = [&](std::string_view key, auto v) -> J { return is_unknown(key) ? J() : J(v); };
    auto opt_str = [](const std::string& v) -> J { return v.empty() ? J() : J(v); };

    J j;
    j["host"] = val("host", s.hostname);
    j["os"] = {{"name", val("os.name", s.os_name)},           {"version", val("os.version", s.os_version)},
               {"pretty", val("os.pretty", s.os_pretty)},     {"kernel", val("os.kernel", s.kernel)},
               {"kernel_version", opt_str(s.kernel_version)}, {"arch", opt_str(s.arch)}};
    j["platform"] = val("platform", s.platform);

    J caches = J::array();
    for (const auto& c : s.caches)
        caches.push_back({{"level", c.level},
                          {"type", c.type},
                          {"size_bytes", c.size_bytes},
                          {"line_bytes", c.line_bytes},
                          {"ways", c.ways ? J(c.ways) : J()},
                          {"shared_by_threads", c.shared_by_threads ? J(c.shared_by_threads) : J()},
                          {"instances", c.instances ? J(c.instances) : J()}});
    j["cpu"] = {{"vendor", val("cpu.vendor", s.cpu_vendor)},
                {"model", val("cpu.model", s.cpu_model)},
                {"model_source", opt_str(s.cpu_model_source)},
                {"packages", val("cpu.packages", s.cpu_packages)},
                {"cores", val("cpu.cores", s.cpu_cores)},
                {"threads", val("cpu.threads", s.cpu_threads)},
                {"threads_available", val("cpu.threads_available", s.cpu_threads_available)},
                {"quota_cpus", s.cpu_quota > 0 ? J(s.cpu_quota) : J()},
                {"numa_nodes", val("cpu.numa_nodes", s.numa_nodes)},
                {"numa_source", opt_str(s.numa_source)},
                {"clock_mhz", val("cpu.clock_mhz", s.clock_mhz)},
                {"clock_source", opt_str(s.clock_source)},
                {"clock_nominal_mhz", val("cpu.clock_nominal_mhz", s.clock_nominal_mhz)},
                {"isa", s.isa},
                {"caches", caches}};

    const uint64_t head = s.cgroup.headroom_bytes();
    j["memory"] = {{"total_bytes", val("memory.total_bytes", s.mem_total_bytes)},
                   {"available_bytes", val("memory.available_bytes", s.mem_available_bytes)},
                   {"usable_bytes", std::min(s.mem_available_bytes, head)},
                   {"cgroup",
                    {{"version", opt_str(s.cgroup.version)},
                     {"path", opt_str(s.cgroup.path)},
                     {"limit_bytes", s.cgroup.limit_bytes ? J(s.cgroup.limit_bytes) : J()},
                     {"usage_bytes", s.cgroup.version.empty() ? J() : J(s.cgroup.usage_bytes)},
                     {"inactive_file_bytes", s.cgroup.version.empty() ? J() : J(s.cgroup.inactive_file_bytes)}}}};
    j["container"] = {{"detected", s.virt.container},
                      {"kind", opt_str(s.virt.container_kind)},
                      {"markers", s.virt.container_markers}};
    j["vm"] = {{"detected", s.virt.vm}, {"kind", opt_str(s.virt.vm_kind)}, {"markers", s.virt.vm_markers}};
    j["gpu"] = {{"statement", s.gpu.statement},
                {"device_nodes", s.gpu.device_nodes},
                {"env", s.gpu.env},
                {"nvidia_driver", opt_str(s.gpu.nvidia_driver)}};
    j["probe_ms"] = s.probe_ms;
    j["unknown"] = s.unknown;
    return j;
}

std::string to_table(const SystemInfo& s) {
    std::vector<std::pair<std::string, std::string>> rows;
    auto or_unknown = [](const std::string& v) { return v.empty() ? std::string("unknown") : v; };
    auto plural = [](int n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); };

    rows.emplace_back("host", or_unknown(s.hostname) + (s.platform.empty() ? "" : " (" + s.platform + ")"));
    rows.emplace_back("os", fmt::format("{}, {} {}", or_unknown(s.os_pretty), or_unknown(s.kernel), s.arch));
    {
        // "AMD EPYC (AMD)" says nothing twice
        const bool vendor_in_model = !s.cpu_vendor.empty() && s.cpu_model.rfind(s.cpu_vendor, 0) == 0;
        rows.emplace_back("cpu", or_unknown(s.cpu_model) +
                                     (s.cpu_vendor.empty() || vendor_in_model ? "" : " (" + s.cpu_vendor + ")"));
    }
    {
        std::string topo =
            fmt::format("{}, {}, {}, {} available", plural(s.cpu_packages, "package"), plural(s.cpu_cores, "core"),
                        plural(s.cpu_threads, "thread"), s.cpu_threads_available);
        if (s.cpu_quota > 0) topo += fmt::format(", cgroup quota {:.2g} CPUs", s.cpu_quota);
        if (s.numa_nodes > 0) topo += fmt::format(", {} ({})", plural(s.numa_nodes, "NUMA node"), s.numa_source);
        rows.emplace_back("topology", topo);
    }
    {
        std::string clk = s.clock_mhz > 0 ? fmt::format("{:.0f} MHz ({})", s.clock_mhz, s.clock_source) : "unknown";
        if (s.clock_nominal_mhz > 0 && s.clock_nominal_mhz != s.clock_mhz)
            clk += fmt::format(", nominal {:.0f} MHz", s.clock_nominal_mhz);
        rows.emplace_back("clock", clk);
    }
    rows.emplace_back("isa", s.isa.empty() ? "unknown" : join(s.isa, " "));
    {
        std::vector<std::string> cs;
        for (const auto& c : s.caches) {
            const char* t = c.type == "instruction" ? "i" : c.type == "data" ? "d" : "";
            std::string e = fmt::format("L{}{} {}", c.level, t, human_bytes(c.size_bytes));
            if (c.instances > 1) e += fmt::format(" x{}", c.instances);
            if (c.shared_by_threads > 1) e += fmt::format(" (per {} threads)", c.shared_by_threads);
            cs.push_back(e);
        }
        std::string line = cs.empty() ? "unknown" : join(cs, ", ");
        if (!s.caches.empty() && s.caches.front().line_bytes)
            line += fmt::format("; line {} B", s.caches.front().line_bytes);
        rows.emplace_back("caches", line);
    }
    rows.emplace_back("memory", s.mem_total_bytes
                                    ? fmt::format("{} total, {} available", human_bytes(s.mem_total_bytes),
                                                  human_bytes(s.mem_available_bytes))
                                    : "unknown");
    if (!s.cgroup.version.empty())
        rows.emplace_back("cgroup", s.cgroup.limit_bytes ? fmt::format("{} memory limit {}, {} used", s.cgroup.version,
                                                                       human_bytes(s.cgroup.limit_bytes),
                                                                       human_bytes(s.cgroup.usage_bytes))
                                                         : fmt::format("{} memory, no limit", s.cgroup.version));
    auto virt = [&](bool on, const std::string& kind, const std::vector<std::string>& markers) {
        std::string r = on ? (kind.empty() ? "yes (kind unknown)" : kind) : "no";
        if (!markers.empty()) r += " [" + join(markers, ", ") + "]";
        return r;
    };
    rows.emplace_back("container", virt(s.virt.container, s.virt.container_kind, s.virt.container_markers));
    rows.emplace_back("vm", virt(s.virt.vm, s.virt.vm_kind, s.virt.vm_markers));
    rows.emplace_back("gpu", s.gpu.statement);
    rows.emplace_back("probe", fmt::format("{:.1f} ms", s.probe_ms));

    size_t w = 0;
    for (const auto& r : rows) w = std::max(w, r.first.size());
    std::string out;
    for (const auto& r : rows) out += fmt::format("{:<{}} : {}\n", r.first, w, r.second);
    return out;
}

}  // namespace versus::core
