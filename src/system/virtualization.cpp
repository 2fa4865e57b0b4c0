#include "system/virtualization.hpp"

#include <cstdlib>
#include <string_view>
#include <system_error>

#include <fmt/format.h>

#include "base/text.hpp"
#include "system/cpu-features.hpp"
#include "system/cpu.hpp"
#include "system/files.hpp"

namespace versus::system {

namespace fs = std::filesystem;
using base::contains;
using base::lower;
using base::split;

namespace {

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

// Evidence of a container: runtime files, environment, PID 1's cgroup, the mount table.
std::vector<Marker> container_markers(const fs::path& root, bool live) {
    std::vector<Marker> ct;
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
    return ct;
}

// Evidence of a virtual machine, the most specific kind first: DMI, then hypervisor interfaces.
std::vector<Marker> vm_markers(const fs::path& root, bool live) {
    std::vector<Marker> vm;
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
    if (live && cpu_features().hypervisor) vm.push_back({"CPUID hypervisor bit", ""});
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
    if (live && sysctl_int("kern.hv_vmm_present").value_or(0) == 1)
        vm.push_back({"sysctl kern.hv_vmm_present=1", ""});
#endif
    return vm;
}

}  // namespace

Virtualization detect_virtualization(const fs::path& root, bool live) {
    const std::vector<Marker> ct = container_markers(root, live), vm = vm_markers(root, live);
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

}  // namespace versus::system
