#include "core/context.hpp"
#include "base/text.hpp"

#include <chrono>
#include <cstdlib>
#include <random>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "backend/cpu/kernels.hpp"
#include "core/params.hpp"
#include "power/power.hpp"
#include "system/cpu-features.hpp"

namespace versus::cpu {
std::string blas_description(int* threads);  // cpu-backend.cpp
}

namespace versus::core {

namespace {
bool sanitized() {
#if defined(__SANITIZE_ADDRESS__)
    return true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
    return true;
#endif
#endif
    return false;
}
}  // namespace

std::string build_type() {
    std::string t = VERSUS_BUILD_TYPE;
    if (sanitized()) t += "+asan";
    return t;
}

std::string versus_version() { return VERSUS_VERSION; }

Context build_context(const system::SystemInfo& sys, std::vector<backend::BackendSlot>& backends) {
    Context c;
    const auto now = std::chrono::system_clock::now();
    const auto secs = std::chrono::floor<std::chrono::seconds>(now);
    c.time = fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", secs);
    std::random_device rd;
    c.run_id = fmt::format("{:%Y%m%dT%H%M%SZ}-{:06x}", secs, rd() & 0xffffff);
    c.versus_version = versus_version();
    c.build_type = build_type();
#if defined(__clang__)
    c.compiler = fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
    c.compiler = fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
    c.compiler = "unknown";
#endif
    c.host = sys.hostname;
    c.os = sys.os_pretty.empty() ? sys.kernel : sys.os_pretty + ", " + sys.kernel;
    c.cpu = fmt::format("{} ({} cores, {} threads, {} available)", sys.cpu_model, sys.cpu_cores, sys.cpu_threads,
                        sys.cpu_threads_available);
    for (size_t i = 0; i < sys.isa.size(); ++i) c.isa += (i ? " " : "") + sys.isa[i];
    c.isa += fmt::format(" -> kernels: {}", cpu::kernels_best().isa);
    c.threads_available = sys.cpu_threads_available > 0 ? sys.cpu_threads_available : 1;
    int blas_threads = 0;
    c.blas = cpu::blas_description(&blas_threads);
    double load[3] = {0, 0, 0};
    if (getloadavg(load, 3) == 3) {
        c.load1 = load[0];
        c.load5 = load[1];
        c.load15 = load[2];
    }
    std::string reason;
    auto meter = power::open_host_energy_meter(&reason);
    c.energy = meter ? meter->name() : "not available (" + reason + ")";

    for (auto& slot : backends) {
        if (!slot.backend) {
            c.backends.push_back(fmt::format("{}: not available ({})", slot.name, slot.reason));
            continue;
        }
        const int n = slot.backend->device_count();
        for (int d = 0; d < n; ++d) {
            const auto info = slot.backend->device_info(d);
            c.backends.push_back(fmt::format("{}:{} {} ({} memory, budget {})", slot.name, d, info.name,
                                             backend::memory_kind_name(info.memory_kind),
                                             base::human_bytes(static_cast<double>(info.mem_budget_bytes))));
            if (slot.name != "cpu") c.gpu += (c.gpu.empty() ? "" : ", ") + std::string(info.name);
        }
    }

    if (c.build_type.rfind("Release", 0) != 0)
        c.warnings.push_back("not a Release build (" + c.build_type + "): timings are not representative");
    if (sanitized()) c.warnings.push_back("sanitizers are on: timings are several times slower than real");
    if (c.load1 > 0.3 * c.threads_available + 0.2)
        c.warnings.push_back(fmt::format("busy machine: load average {:.2f} on {} threads; close other programs or "
                                         "expect unstable rows",
                                         c.load1, c.threads_available));
    if (blas_threads > 0 && blas_threads != c.threads_available)
        c.warnings.push_back(fmt::format("BLAS uses {} threads, {} are available", blas_threads, c.threads_available));
    if (sys.virt.vm)
        c.warnings.push_back("virtual machine" + (sys.virt.vm_kind.empty() ? "" : " (" + sys.virt.vm_kind + ")") +
                             ": shared hosts drift; compare ratios measured in one run");
    return c;
}

std::string context_block(const Context& c, bool md) {
    std::vector<std::pair<std::string, std::string>> rows = {
        {"versus", fmt::format("{} ({}, {})", c.versus_version, c.build_type, c.compiler)},
        {"run", c.run_id},
        {"host", c.host},
        {"os", c.os},
        {"cpu", c.cpu},
        {"isa", c.isa},
        {"blas", c.blas},
        {"load", fmt::format("{:.2f} {:.2f} {:.2f}", c.load1, c.load5, c.load15)},
        {"energy", c.energy},
    };
    for (const auto& b : c.backends) rows.emplace_back("backend", b);
    std::string out;
    for (const auto& [k, v] : rows) out += md ? fmt::format("- **{}**: {}\n", k, v) : fmt::format("{:<8} {}\n", k, v);
    for (const auto& w : c.warnings) out += md ? fmt::format("- **warning**: {}\n", w) : fmt::format("warning  {}\n", w);
    return out;
}

}  // namespace versus::core
