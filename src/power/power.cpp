// power: meter detection (RAPL via powercap, hwmon, NVML via dlopen, macOS IOReport) and the RAPL
// host energy meter. Contract in power.hpp: detection never throws and explains every absence.
#include "power/power.hpp"
#include "system/nvml.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace versus::power {

using system::NvmlLib;
using system::NvmlSession;

namespace fs = std::filesystem;

EnergyMeter::~EnergyMeter() = default;

namespace {

fs::path under(const fs::path& root, const fs::path& abs) {
    if (root.empty() || root == "/") return abs;
    return root / abs.relative_path();
}

// One small sysfs value. errno_out gets the reason when the read fails (EACCES for root-only files).
std::optional<std::string> read_small(const fs::path& p, int* errno_out = nullptr) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno_out) *errno_out = errno;
        return std::nullopt;
    }
    char buf[256];
    ssize_t n;
    do n = ::read(fd, buf, sizeof buf - 1);
    while (n < 0 && errno == EINTR);
    const int err = errno;
    ::close(fd);
    if (n < 0) {
        if (errno_out) *errno_out = err;
        return std::nullopt;
    }
    std::string s(buf, static_cast<size_t>(n));
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    return s;
}

std::optional<uint64_t> parse_u64(const std::string& s) {
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p == s.data()) return std::nullopt;
    return v;
}

std::optional<uint64_t> read_u64(const fs::path& p, int* errno_out = nullptr) {
    auto s = read_small(p, errno_out);
    if (!s) return std::nullopt;
    auto v = parse_u64(*s);
    if (!v && errno_out) *errno_out = EINVAL;
    return v;
}

bool is_dir(const fs::path& p) {
    std::error_code ec;
    return fs::is_directory(p, ec);
}

// Directory entries sorted so that "x:10" comes after "x:9".
std::vector<std::string> list_dir(const fs::path& d) {
    std::vector<std::string> out;
    std::error_code ec;
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec))
        out.push_back(it->path().filename().string());
    std::sort(out.begin(), out.end(), [](const std::string& a, const std::string& b) {
        return a.size() != b.size() ? a.size() < b.size() : a < b;
    });
    return out;
}

// Why a counter file can or cannot be read, in words a user can act on.
struct Readable {
    bool ok = false;
    std::string note;
};

Readable check_counter(const fs::path& file) {
    int err = 0;
    Readable r;
    if (read_u64(file, &err)) {
        r.ok = true;
        struct stat st {};
        if (::stat(file.c_str(), &st) == 0 && !(st.st_mode & S_IROTH) && ::geteuid() == 0)
            r.note = "readable because running as root (other users cannot read it)";
        return r;
    }
    if (err == EACCES || err == EPERM)
        r.note = fmt::format(
            "{} is readable by root only (Linux >= 5.10 restricts RAPL, CVE-2020-8694): "
            "run as root or make it readable (chmod o+r)",
            file.filename().string());
    else if (err == ENOENT)
        r.note = fmt::format("no {}", file.filename().string());
    else
        r.note = fmt::format("reading {} failed: {}", file.filename().string(), std::strerror(err ? err : EIO));
    return r;
}

// ---- RAPL (powercap) ----

constexpr std::string_view POWERCAP = "/sys/class/powercap";

// "intel-rapl:0" (a top-level zone) vs "intel-rapl:0:1" (a sub-domain) vs "intel-rapl" (the type).
// AMD's RAPL is driven by intel_rapl_msr and shows up under the same names.
bool is_rapl_zone(const std::string& n) {
    return n.find("rapl") != std::string::npos && n.find(':') != std::string::npos;
}
[[maybe_unused]] bool is_top_level(const std::string& n) { return std::count(n.begin(), n.end(), ':') == 1; }

std::string no_powercap_reason() {
#if defined(__linux__)
    return "no /sys/class/powercap (VM or container without powercap, or a kernel without CONFIG_POWERCAP)";
#else
    return "Linux only (powercap)";
#endif
}

void detect_rapl(const fs::path& root, std::vector<MeterInfo>& out) {
    const fs::path pc = under(root, fs::path(POWERCAP));
    if (!is_dir(pc)) {
        out.push_back({"rapl", "package", false, no_powercap_reason()});
        return;
    }
    size_t found = 0;
    for (const auto& n : list_dir(pc)) {
        if (!is_rapl_zone(n)) continue;
        ++found;
        const fs::path z = pc / n;
        MeterInfo m;
        m.name = "rapl:" + n;
        m.domain = read_small(z / "name").value_or("?");
        const Readable r = check_counter(z / "energy_uj");
        m.available = r.ok;
        m.reason = r.note;
        if (n.rfind("intel-rapl-mmio", 0) == 0 && m.reason.empty())
            m.reason = "MMIO interface: same package energy as the MSR zone, not summed";
        out.push_back(std::move(m));
    }
    if (found == 0)
        out.push_back({"rapl", "package", false,
                       "/sys/class/powercap has no RAPL zones (intel_rapl_msr not loaded, or the CPU/VM has no RAPL)"});
}

// ---- hwmon ----

// power<N>_input / power<N>_average (µW) and energy<N>_input (µJ).
bool is_power_sensor(const std::string& f, std::string* prefix_n) {
    for (const char* kind : {"power", "energy"}) {
        const size_t kl = std::strlen(kind);
        if (f.rfind(kind, 0) != 0) continue;
        size_t i = kl;
        while (i < f.size() && std::isdigit(static_cast<unsigned char>(f[i]))) ++i;
        if (i == kl) return false;
        const std::string suffix = f.substr(i);
        const bool ok = suffix == "_input" || (std::string_view(kind) == "power" && suffix == "_average");
        if (ok && prefix_n) *prefix_n = f.substr(0, i);
        return ok;
    }
    return false;
}

void detect_hwmon(const fs::path& root, std::vector<MeterInfo>& out) {
#if !defined(__linux__)
    (void)root;
    out.push_back({"hwmon", "power", false, "Linux only"});
    return;
#else
    const fs::path hw = under(root, "/sys/class/hwmon");
    if (!is_dir(hw)) {
        out.push_back({"hwmon", "power", false, "no /sys/class/hwmon (VM or container without hardware monitoring)"});
        return;
    }
    std::vector<std::string> chips;
    size_t found = 0;
    for (const auto& h : list_dir(hw)) {
        const fs::path d = hw / h;
        const std::string chip = read_small(d / "name").value_or(h);
        chips.push_back(chip);
        for (const auto& f : list_dir(d)) {
            std::string pn;
            if (!is_power_sensor(f, &pn)) continue;
            ++found;
            MeterInfo m;
            m.name = "hwmon:" + chip + "/" + f;
            m.domain = read_small(d / (pn + "_label")).value_or(pn);
            const Readable r = check_counter(d / f);
            m.available = r.ok;
            m.reason = r.note;
            out.push_back(std::move(m));
        }
    }
    if (found == 0) {
        std::string names;
        for (const auto& c : chips) names += (names.empty() ? "" : ", ") + c;
        out.push_back({"hwmon", "power", false,
                       chips.empty() ? std::string("/sys/class/hwmon is empty")
                                     : fmt::format("hwmon has {} chip(s) ({}) but none exposes power*_input, "
                                                   "power*_average or energy*_input",
                                                   chips.size(), names)});
    }
#endif
}

// ---- NVML ----

MeterInfo detect_nvml() {
    MeterInfo m{"nvml", "gpu", false, ""};
    std::string why;
    const NvmlSession nvml(&why);
    const NvmlLib* lib = nvml.lib();
    if (!lib) {
        m.reason = why;
        return m;
    }
    unsigned count = 0;
    const NvmlLib::Ret rc = lib->device_get_count_v2(&count);
    char ver[96] = {};
    const bool have_ver = lib->system_get_driver_version && lib->system_get_driver_version(ver, sizeof ver) == 0;
    if (rc != 0) {
        m.reason = "nvmlDeviceGetCount_v2 failed: " + lib->error(rc);
        return m;
    }
    m.domain = fmt::format("gpu ({} device{})", count, count == 1 ? "" : "s");
    m.available = count > 0;
    m.reason = count == 0 ? "NVML loads but sees no GPU" : have_ver ? fmt::format("driver {}", ver) : "";
    return m;
}

// ---- macOS IOReport ----

MeterInfo detect_ioreport() {
#if defined(__APPLE__)
    // IOReport is a private framework with no header; its presence is what we can check now.
    std::unique_ptr<void, NvmlLib::Closer> h(::dlopen("/usr/lib/libIOReport.dylib", RTLD_LAZY | RTLD_LOCAL));
    if (!h) return {"ioreport", "Energy Model", false, "/usr/lib/libIOReport.dylib not loadable"};
    if (!::dlsym(h.get(), "IOReportCopyChannelsInGroup"))
        return {"ioreport", "Energy Model", false, "libIOReport lacks IOReportCopyChannelsInGroup"};
    return {"ioreport", "Energy Model", true, "present; sampling not implemented yet"};
#else
    return {"ioreport", "Energy Model", false, "macOS only"};
#endif
}

// ---- RAPL energy meter ----

class RaplMeter final : public EnergyMeter {
public:
    struct Zone {
        fs::path energy_uj;
        std::string domain;
        uint64_t max_range_uj = 0;  // counter wraps to 0 after this value; 0 = unknown
        uint64_t last_uj = 0;
    };

    RaplMeter(std::vector<Zone> zones, std::string name) : zones_(std::move(zones)), name_(std::move(name)) {}

    std::string name() const override { return name_; }

    double read_joules() override {
        for (auto& z : zones_) {
            int err = 0;
            const auto raw = read_u64(z.energy_uj, &err);
            if (!raw)
                throw std::runtime_error(
                    fmt::format("[power] cannot read {} ({}). HINT: the RAPL zone went away or "
                                "lost its permissions since the meter was opened",
                                z.energy_uj.string(), std::strerror(err ? err : EIO)));
            // One wrap between reads at most (see power.hpp); with an unknown range assume the
            // counter restarted from 0, which undercounts instead of inventing energy.
            uint64_t delta;
            if (*raw >= z.last_uj)
                delta = *raw - z.last_uj;
            else
                delta = (z.max_range_uj > z.last_uj ? z.max_range_uj - z.last_uj : 0) + *raw;
            total_uj_ += delta;
            z.last_uj = *raw;
        }
        return static_cast<double>(total_uj_) * 1e-6;
    }

private:
    std::vector<Zone> zones_;
    std::string name_;
    uint64_t total_uj_ = 0;
};

}  // namespace

std::vector<MeterInfo> detect_meters(const fs::path& root) {
    std::vector<MeterInfo> out;
    detect_rapl(root, out);
    detect_hwmon(root, out);
    out.push_back(detect_nvml());
    out.push_back(detect_ioreport());
    return out;
}

std::unique_ptr<EnergyMeter> open_host_energy_meter(std::string* reason_if_none, const fs::path& root) {
    auto none = [&](std::string why) -> std::unique_ptr<EnergyMeter> {
        if (reason_if_none) *reason_if_none = std::move(why);
        return nullptr;
    };
#if defined(__APPLE__)
    (void)root;
    return none("macOS host energy needs IOReport sampling, not implemented yet");
#else
    const fs::path pc = under(root, fs::path(POWERCAP));
    if (!is_dir(pc)) return none(no_powercap_reason());
    std::vector<RaplMeter::Zone> zones;
    std::string name;
    for (const auto& n : list_dir(pc)) {
        // MSR package zones only: sub-domains (core, uncore, dram) are inside the package figure or
        // separate from it, psys covers the whole platform, and the MMIO zone repeats the package.
        if (!is_rapl_zone(n) || !is_top_level(n) || n.rfind("intel-rapl-mmio", 0) == 0) continue;
        const fs::path z = pc / n;
        const std::string domain = read_small(z / "name").value_or("");
        if (domain.rfind("package", 0) != 0) continue;
        const Readable r = check_counter(z / "energy_uj");
        if (!r.ok) return none(fmt::format("RAPL {}: {}", n, r.note));
        RaplMeter::Zone zone;
        zone.energy_uj = z / "energy_uj";
        zone.domain = domain;
        zone.max_range_uj = read_u64(z / "max_energy_range_uj").value_or(0);
        zone.last_uj = read_u64(zone.energy_uj).value_or(0);
        name += (name.empty() ? "rapl:" : "+") + domain;
        zones.push_back(std::move(zone));
    }
    if (zones.empty())
        return none("/sys/class/powercap has no readable RAPL package zone (intel-rapl:N named package-N)");
    return std::make_unique<RaplMeter>(std::move(zones), std::move(name));
#endif
}

}  // namespace versus::power
