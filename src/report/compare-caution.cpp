// What makes a machine's figures less trustworthy, in one line: the warnings of its runs' context blocks
// (a VM, a busy machine), the probe of this machine (a VM, when the results are its own), and its records
// (build type, unstable rows, GPU throttling, a peak the rows ran above).
#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "base/io.hpp"
#include "base/text.hpp"
#include "report/audit.hpp"
#include "report/compare-detail.hpp"
#include "report/compare.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

std::optional<RunContext> read_run_context(const std::string& path) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) return std::nullopt;
    std::string text;
    try {
        text = base::read_file(path, "");
    } catch (const std::exception&) {
        return std::nullopt;
    }
    // `versus run` writes "# versus run RUN_ID", then the context block as a Markdown list.
    constexpr std::string_view HEAD = "# versus run ", WARNING = "- **warning**: ";
    if (!text.starts_with(HEAD)) return std::nullopt;
    RunContext rc;
    rc.file = path;
    for (std::string_view raw : base::split(text, '\n')) {
        const std::string line(base::trim(raw));
        if (rc.run_id.empty()) {
            rc.run_id = std::string(base::trim(std::string_view(line).substr(HEAD.size())));
            continue;
        }
        if (line.starts_with("#")) break;  // the results after the block
        if (line.starts_with(WARNING)) rc.warnings.push_back(line.substr(WARNING.size()));
    }
    if (rc.run_id.empty()) return std::nullopt;
    return rc;
}

namespace {

// A warning without its advice: "busy machine: load average 3.10 on 2 threads" of "...; close other programs".
std::string finding(const std::string& warning) { return warning.substr(0, warning.find(';')); }

std::string system_caution(const Comparison& c, const System& sys, const std::vector<const Record*>& records,
                           const HostFindings* here) {
    std::vector<std::string> parts;
    if (!sys.build_type.empty() && !sys.build_type.starts_with("Release"))
        parts.push_back("a " + sys.build_type + " build");
    // The context blocks of its runs.
    std::vector<const RunContext*> contexts;
    for (const auto& rc : c.inputs.run_contexts)
        if (std::find(sys.run_ids.begin(), sys.run_ids.end(), rc.run_id) != sys.run_ids.end()) contexts.push_back(&rc);
    bool vm = false;
    std::set<std::string> seen;
    for (const RunContext* rc : contexts)
        for (const auto& w : rc->warnings) {
            // The build type is the records' own; the advice after the finding is for the run, not the reader.
            if (w.starts_with("not a Release build") || w.starts_with("sanitizers")) continue;
            std::string f = finding(w);
            if (w.starts_with("virtual machine")) {
                f = w.substr(0, w.find(':'));
                vm = true;
            }
            if (seen.insert(f).second) parts.push_back(f);
        }
    if (!vm && here && here->vm && !here->host.empty() && here->host == sys.host) {
        parts.push_back(fmt::format("virtual machine ({}probed now on this host)",
                                    here->vm_kind.empty() ? "" : here->vm_kind + ", "));
        vm = true;
    }
    size_t ok = 0, unstable = 0, throttled = 0, above_peak = 0;
    for (const Record* r : records) {
        if (!is_ok(*r)) continue;
        ++ok;
        if (has_value(*r, "unstable") && r->num("unstable") != 0) ++unstable;
        if (has_value(*r, "gpu_throttled") && r->num("gpu_throttled") != 0) ++throttled;
        if (r->str("peak_method").find("in doubt") != std::string::npos) ++above_peak;
    }
    if (unstable) parts.push_back(fmt::format("{} of {} rows unstable (MdAPE above 5%)", unstable, ok));
    if (throttled) parts.push_back(fmt::format("{} rows with the GPU throttled", throttled));
    if (above_peak) parts.push_back(fmt::format("{} rows above the peak their % of peak assumes", above_peak));
    if (contexts.empty())
        parts.push_back(vm ? "load at run time not recorded" : "VM and load at run time not recorded");
    else if (contexts.size() < sys.run_ids.size())
        parts.push_back(fmt::format("context of {} of its {} runs read", contexts.size(), sys.run_ids.size()));
    return base::join(parts, "; ");
}

}  // namespace

void detail::set_cautions(Comparison& c, const std::vector<size_t>& rec_sys, const HostFindings* here) {
    std::vector<std::vector<const Record*>> by_system(c.systems.size());
    for (size_t i = 0; i < c.inputs.records.size(); ++i) by_system[rec_sys[i]].push_back(&c.inputs.records[i]);
    for (size_t s = 0; s < c.systems.size(); ++s)
        c.systems[s].caution = system_caution(c, c.systems[s], by_system[s], here);
}

}  // namespace versus::report
