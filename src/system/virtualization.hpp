// virtualization: is this process in a container, in a virtual machine, or both. The two are
// independent: a Docker container inside a KVM guest reports both. Each verdict keeps its evidence
// (markers), because no single marker can be trusted.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace versus::system {

// A marker is a short human-readable piece of evidence, e.g. "/.dockerenv", "kvm-clock clocksource".
struct Virtualization {
    bool container = false;
    std::string container_kind;  // "docker", "podman", "lxc", "kubernetes", "systemd-nspawn", ... "" = unknown
    std::vector<std::string> container_markers;
    bool vm = false;
    std::string vm_kind;  // "kvm", "qemu", "vmware", "hyper-v", "xen", "virtualbox", "wsl2", ... "" = unknown
    std::vector<std::string> vm_markers;
};

// live = also consult this process's environment and the CPUID hypervisor bit (false in tests with a
// fake root, so the test machine does not leak into the result).
Virtualization detect_virtualization(const std::filesystem::path& root = "/", bool live = true);

}  // namespace versus::system
