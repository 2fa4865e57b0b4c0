#include "system/sysinfo.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>

#include <fmt/format.h>

#include "base/text.hpp"
#include "system/files.hpp"

namespace versus::system {

namespace {

using base::human_bytes;
using base::join;
using base::lower;

// Host name, OS, kernel and platform (DMI on Linux, hw.model on macOS).
void probe_host(SystemInfo& s) {
    auto unknown = [&](const char* key) { s.unknown.emplace_back(key); };

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
}

}  // namespace

SystemInfo probe_system() {
    const auto t0 = std::chrono::steady_clock::now();
    SystemInfo s;
    probe_host(s);
    static_cast<CpuInfo&>(s) = probe_cpu(s.unknown);
    static_cast<MemoryInfo&>(s) = read_memory(s.unknown);
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

}  // namespace versus::system
