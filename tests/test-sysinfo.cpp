// test-sysinfo: the live probe is sane on whatever machine runs it (environment-specific checks
// only where their marker exists), and the file-driven parts (cgroup memory, container/VM markers,
// GPU nodes) give the expected answers on fake /proc and /sys trees.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "system/cpu-features.hpp"
#include "system/sysinfo.hpp"

namespace fs = std::filesystem;
using namespace versus::system;

namespace {

// A fresh directory under /tmp, removed at the end of the test.
struct TempRoot {
    fs::path dir;
    TempRoot() {
        std::string tmpl = (fs::temp_directory_path() / "versus-sysinfo-XXXXXX").string();
        dir = ::mkdtemp(tmpl.data());
    }
    ~TempRoot() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    void write(const std::string& rel, const std::string& text) const {
        const fs::path p = dir / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    void mkdir(const std::string& rel) const { fs::create_directories(dir / rel); }
};

bool has(const std::vector<std::string>& v, const std::string& s) {
    return std::find(v.begin(), v.end(), s) != v.end();
}

constexpr uint64_t MiB = uint64_t(1) << 20;
constexpr uint64_t GiB = uint64_t(1) << 30;

}  // namespace

TEST(Sysinfo, ProbeIsSaneOnThisMachine) {
    const SystemInfo s = probe_system();
    EXPECT_FALSE(s.hostname.empty());
    EXPECT_FALSE(s.kernel.empty());
    EXPECT_FALSE(s.arch.empty());
    EXPECT_GE(s.cpu_threads, 1);
    EXPECT_GE(s.cpu_threads_available, 1);
    EXPECT_LE(s.cpu_threads_available, s.cpu_threads);
    EXPECT_GE(s.cpu_cores, 1);
    EXPECT_LE(s.cpu_cores, s.cpu_threads);
    EXPECT_GE(s.cpu_packages, 1);
    EXPECT_GE(s.numa_nodes, 1);
    EXPECT_FALSE(s.cpu_model.empty());
    EXPECT_FALSE(s.cpu_vendor.empty());
    EXPECT_GT(s.mem_total_bytes, s.mem_available_bytes);
    EXPECT_GT(s.mem_available_bytes, 0u);
    ASSERT_FALSE(s.caches.empty());
    EXPECT_EQ(s.caches.front().level, 1);
    for (const auto& c : s.caches) {
        EXPECT_GT(c.size_bytes, 0u);
        EXPECT_TRUE(c.type == "data" || c.type == "instruction" || c.type == "unified") << c.type;
    }
#if defined(__x86_64__)
    EXPECT_FALSE(s.isa.empty());
    EXPECT_TRUE(has(s.isa, "sse2"));
#endif
    if (s.clock_mhz > 0) {
        EXPECT_FALSE(s.clock_source.empty());
    }
    EXPECT_FALSE(s.gpu.statement.empty());
    EXPECT_LT(s.probe_ms, 200.0);
}

TEST(Sysinfo, ProbeIsFast) {
    probe_system();  // first call pays for loading hwloc plugins and cpuinfo's one-time init
    const auto t0 = std::chrono::steady_clock::now();
    const SystemInfo s = probe_system();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_LT(ms, 200.0);
    EXPECT_LE(s.probe_ms, ms + 1.0);
}

TEST(Sysinfo, ContainerAndVmMarkersOnThisMachine) {
    const SystemInfo s = probe_system();
    if (fs::exists("/.dockerenv")) {
        EXPECT_TRUE(s.virt.container);
        EXPECT_TRUE(has(s.virt.container_markers, "/.dockerenv"));
        EXPECT_FALSE(s.virt.container_kind.empty());
    }
    if (versus::system::cpu_features().hypervisor) {
        EXPECT_TRUE(s.virt.vm);
        EXPECT_TRUE(has(s.virt.vm_markers, "CPUID hypervisor bit"));
    }
    if (!s.virt.container) {
        EXPECT_TRUE(s.virt.container_kind.empty());
    }
}

TEST(Sysinfo, MemoryAvailableIsCheapAndBounded) {
    const SystemInfo s = probe_system();
    const uint64_t a = memory_available_bytes();
    EXPECT_GT(a, 0u);
    EXPECT_LE(a, s.mem_total_bytes);
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 100; ++i) (void)memory_available_bytes();
    const double per_call_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / 100;
    EXPECT_LT(per_call_ms, 5.0);
}

TEST(Sysinfo, JsonHasTheExpectedKeys) {
    const SystemInfo s = probe_system();
    const auto j = to_json(s);
    for (const char* k : {"host", "os", "platform", "cpu", "memory", "container", "vm", "gpu", "probe_ms", "unknown"})
        EXPECT_TRUE(j.contains(k)) << k;
    for (const char* k : {"name", "version", "pretty", "kernel", "arch"}) EXPECT_TRUE(j["os"].contains(k)) << k;
    for (const char* k : {"vendor", "model", "packages", "cores", "threads", "threads_available", "numa_nodes",
                          "clock_mhz", "clock_source", "isa", "caches"})
        EXPECT_TRUE(j["cpu"].contains(k)) << k;
    for (const char* k : {"total_bytes", "available_bytes", "usable_bytes", "cgroup"})
        EXPECT_TRUE(j["memory"].contains(k)) << k;
    for (const char* k : {"detected", "kind", "markers"}) {
        EXPECT_TRUE(j["container"].contains(k)) << k;
        EXPECT_TRUE(j["vm"].contains(k)) << k;
    }
    EXPECT_TRUE(j["cpu"]["isa"].is_array());
    EXPECT_EQ(j["cpu"]["threads"].get<int>(), s.cpu_threads);
    EXPECT_EQ(j["container"]["detected"].get<bool>(), s.virt.container);
    // every field listed as unknown is null, never a misleading 0
    SystemInfo u = s;
    u.clock_mhz = 0;
    u.unknown.push_back("cpu.clock_mhz");
    EXPECT_TRUE(to_json(u)["cpu"]["clock_mhz"].is_null());
}

TEST(Sysinfo, TableIsAligned) {
    const std::string t = to_table(probe_system());
    ASSERT_FALSE(t.empty());
    EXPECT_EQ(t.back(), '\n');
    size_t col = std::string::npos;
    size_t start = 0;
    for (const char* k : {"host", "os", "cpu", "isa", "caches", "memory", "container", "vm", "gpu"})
        EXPECT_NE(t.find(std::string(k) + " "), std::string::npos) << k;
    while (start < t.size()) {
        const size_t end = t.find('\n', start);
        const std::string line = t.substr(start, end - start);
        const size_t c = line.find(" : ");
        ASSERT_NE(c, std::string::npos) << line;
        if (col == std::string::npos) col = c;
        EXPECT_EQ(c, col) << line;
        start = end + 1;
    }
}

TEST(Sysinfo, CgroupV2NestedLimits) {
    TempRoot r;
    r.write("proc/self/cgroup", "0::/user.slice/app\n");
    r.write("proc/self/mountinfo",
            "25 1 0:22 / / rw - ext4 /dev/sda1 rw\n"
            "30 25 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n");
    r.write("sys/fs/cgroup/cgroup.controllers", "cpuset cpu io memory pids\n");
    r.write("sys/fs/cgroup/user.slice/memory.max", "max\n");
    r.write("sys/fs/cgroup/user.slice/memory.current", "900000000\n");
    r.write("sys/fs/cgroup/user.slice/app/memory.max", "1073741824\n");
    r.write("sys/fs/cgroup/user.slice/app/memory.current", "536870912\n");
    r.write("sys/fs/cgroup/user.slice/app/memory.stat", "anon 400000000\nfile 136870912\ninactive_file 104857600\n");
    CgroupMemory m = read_cgroup_memory(r.dir);
    EXPECT_EQ(m.version, "v2");
    EXPECT_EQ(m.limit_bytes, 1 * GiB);
    EXPECT_EQ(m.usage_bytes, 512 * MiB);
    EXPECT_EQ(m.inactive_file_bytes, 100 * MiB);
    EXPECT_EQ(m.headroom_bytes(), GiB - (512 - 100) * MiB);
    EXPECT_EQ(m.path, "/sys/fs/cgroup/user.slice/app");

    // a parent with less headroom is the one that binds
    r.write("sys/fs/cgroup/user.slice/memory.max", std::to_string(1000 * MiB) + "\n");
    r.write("sys/fs/cgroup/user.slice/memory.current", std::to_string(950 * MiB) + "\n");
    m = read_cgroup_memory(r.dir);
    EXPECT_EQ(m.limit_bytes, 1000 * MiB);
    EXPECT_EQ(m.headroom_bytes(), 50 * MiB);
    EXPECT_EQ(m.path, "/sys/fs/cgroup/user.slice");
}

TEST(Sysinfo, CgroupV1InContainerNamespace) {
    TempRoot r;
    // hybrid host: an empty unified hierarchy plus v1 controllers; the container sees its own
    // cgroup as the mount root
    r.write("proc/self/cgroup", "4:memory:/docker/abc\n1:cpu,cpuacct:/docker/abc\n0::/\n");
    r.write("proc/self/mountinfo",
            "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw\n"
            "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            "36 31 0:33 /docker/abc /sys/fs/cgroup/cpu\\054cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
            "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    r.write("sys/fs/cgroup/unified/cgroup.controllers", "\n");
    r.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "2147483648\n");
    r.write("sys/fs/cgroup/memory/memory.usage_in_bytes", "1073741824\n");
    r.write("sys/fs/cgroup/memory/memory.stat",
            "cache 0\nhierarchical_memory_limit 2147483648\ntotal_inactive_file 0\n");
    CgroupMemory m = read_cgroup_memory(r.dir);
    EXPECT_EQ(m.version, "v1");
    EXPECT_EQ(m.limit_bytes, 2 * GiB);
    EXPECT_EQ(m.headroom_bytes(), 1 * GiB);
    EXPECT_EQ(m.path, "/sys/fs/cgroup/memory");

    // "no limit" in v1 is a huge page-rounded number
    r.write("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    r.write("sys/fs/cgroup/memory/memory.stat", "hierarchical_memory_limit 9223372036854771712\n");
    m = read_cgroup_memory(r.dir);
    EXPECT_EQ(m.version, "v1");
    EXPECT_EQ(m.limit_bytes, 0u);
    EXPECT_EQ(m.headroom_bytes(), UINT64_MAX);
}

TEST(Sysinfo, CgroupAbsent) {
    TempRoot r;
    const CgroupMemory m = read_cgroup_memory(r.dir);
    EXPECT_TRUE(m.version.empty());
    EXPECT_EQ(m.headroom_bytes(), UINT64_MAX);
}

TEST(Sysinfo, DockerInsideQemuKvm) {
    TempRoot r;
    r.write(".dockerenv", "");
    r.write("proc/1/cgroup", "0::/kubepods/burstable/pod1234/abcd\n");
    r.write("proc/self/mountinfo",
            "600 500 0:50 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/X\n"
            "610 600 254:1 /var/lib/docker/containers/abc/hostname /etc/hostname rw - ext4 /dev/vda1 rw\n");
    r.write("sys/class/dmi/id/sys_vendor", "QEMU\n");
    r.write("sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
    r.write("sys/devices/system/clocksource/clocksource0/available_clocksource", "kvm-clock tsc acpi_pm\n");
    r.write("proc/cpuinfo",
            "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 hypervisor avx2\n\n"
            "processor\t: 1\n");
    const Virtualization v = detect_virtualization(r.dir, false);
    EXPECT_TRUE(v.container);
    EXPECT_EQ(v.container_kind, "docker");
    EXPECT_TRUE(has(v.container_markers, "/.dockerenv"));
    EXPECT_TRUE(has(v.container_markers, "/proc/1/cgroup mentions kubernetes"));
    EXPECT_TRUE(has(v.container_markers, "overlay root filesystem"));
    EXPECT_TRUE(has(v.container_markers, "/proc/self/mountinfo mentions docker"));
    EXPECT_TRUE(v.vm);
    EXPECT_EQ(v.vm_kind, "qemu");
    EXPECT_TRUE(has(v.vm_markers, "kvm-clock clocksource"));
    EXPECT_TRUE(has(v.vm_markers, "/proc/cpuinfo hypervisor flag"));
}

TEST(Sysinfo, PodmanAndWeakMarkers) {
    TempRoot r;
    r.write("run/.containerenv", "engine=\"podman-4.3.1\"\nname=\"box\"\n");
    r.write("proc/1/environ", std::string("HOME=/\0container=podman\0", 24));
    const Virtualization v = detect_virtualization(r.dir, false);
    EXPECT_TRUE(v.container);
    EXPECT_EQ(v.container_kind, "podman");
    EXPECT_TRUE(has(v.container_markers, "/proc/1/environ container=podman"));
    EXPECT_FALSE(v.vm);

    // an overlay root or virtio devices alone decide nothing, but are still reported
    TempRoot w;
    w.write("proc/self/mountinfo", "600 500 0:50 / / rw - overlay overlay rw\n");
    w.mkdir("sys/bus/virtio/devices/virtio0");
    const Virtualization wv = detect_virtualization(w.dir, false);
    EXPECT_FALSE(wv.container);
    EXPECT_FALSE(wv.vm);
    EXPECT_TRUE(has(wv.container_markers, "overlay root filesystem"));
    EXPECT_TRUE(has(wv.vm_markers, "virtio devices"));
    EXPECT_TRUE(wv.container_kind.empty());
}

TEST(Sysinfo, BareMetalFakeRoot) {
    TempRoot r;
    r.write("sys/class/dmi/id/sys_vendor", "Dell Inc.\n");
    r.write("sys/class/dmi/id/product_name", "PowerEdge R750\n");
    r.write("proc/1/cgroup", "0::/init.scope\n");
    const Virtualization v = detect_virtualization(r.dir, false);
    EXPECT_FALSE(v.container);
    EXPECT_FALSE(v.vm);
    EXPECT_TRUE(v.container_markers.empty());
    EXPECT_TRUE(v.vm_markers.empty());
}

#if !defined(__APPLE__)
TEST(Sysinfo, GpuNodes) {
    TempRoot none;
    none.mkdir("dev");
    EXPECT_NE(detect_gpu_visibility(none.dir, false).statement.find("none visible"), std::string::npos);

    TempRoot r;
    r.write("dev/nvidia0", "");
    r.write("dev/nvidia1", "");
    r.write("dev/nvidiactl", "");
    r.write("dev/nvidia-uvm", "");
    r.write("dev/dri/renderD128", "");
    r.write("proc/driver/nvidia/version",
            "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.14  Thu Feb 22 01:44:30 UTC 2024\n");
    const GpuVisibility g = detect_gpu_visibility(r.dir, false);
    EXPECT_EQ(g.nvidia_driver, "550.54.14");
    EXPECT_NE(g.statement.find("NVIDIA: 2 GPU nodes (/dev/nvidia0, /dev/nvidia1), driver 550.54.14"), std::string::npos)
        << g.statement;
    EXPECT_NE(g.statement.find("renderD128"), std::string::npos);
    EXPECT_TRUE(has(g.device_nodes, "/dev/nvidiactl"));

    TempRoot ctl;
    ctl.write("dev/nvidiactl", "");
    EXPECT_NE(detect_gpu_visibility(ctl.dir, false).statement.find("no GPU passed in"), std::string::npos);
}
#endif
