#include "cli/cli-audit.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "base/error.hpp"
#include "core/results-file.hpp"
#include "report/audit.hpp"
#include "system/sysinfo.hpp"

namespace versus::cli {

struct AuditCommands {
    CLI::App* audit = nullptr;
    std::string results, format = "table";
};

namespace {

int cmd_audit(const AuditCommands& c) {
    if (c.format != "table" && c.format != "md" && c.format != "json")
        throw UsageError("-o", fmt::format("audit prints table, md or json, not '{}'", c.format), "use -o table, md or json");
    const std::filesystem::path path = c.results.empty() ? core::default_results_path() : std::filesystem::path(c.results);

    // Without a results store the audit still runs on specs and predictions; only the claims that need a
    // measurement lose their verdict, and their lines say why.
    // A store that is there but holds no record is bad input.
    core::ReadResult read;
    std::error_code ec;
    const bool have_store = std::filesystem::exists(path, ec);
    if (have_store) {
        read = core::read_results(path);
        if (read.records.empty())
            throw UsageError(path.string(),
                             read.problems.empty() ? "holds no versus record (empty)"
                                                   : fmt::format("holds no versus record ({} unreadable line{}; first: {})",
                                                                 read.problems.size(), read.problems.size() == 1 ? "" : "s",
                                                                 read.problems.front()),
                             "give a results file written by versus run or versus bench --out");
    }
    for (const auto& p : read.problems) std::fprintf(stderr, "%s\n", p.c_str());

    report::AuditInput in;
    in.records = have_store ? &read.records : nullptr;
    in.store = path.string();
    const report::HostFindings here = report::host_findings(system::probe_system());
    in.here = &here;
    const auto rows = report::audit_claims(report::builtin_claims(), in);

    const std::string source = have_store ? fmt::format("measured rows from {} ({} records)", path.string(), read.records.size())
                                          : fmt::format("no results store at {}: specs and predictions only", path.string());
    if (c.format == "json") {
        std::fprintf(stderr, "claims audit: %s\n", source.c_str());
        std::cout << report::audit_json(rows).dump(2) << "\n";
        return EXIT_ALL_OK;
    }
    const bool md = c.format == "md";
    std::cout << (md ? "### " : "") << "claims audit: " << source << (md ? "\n\n" : "\n\n");
    std::cout << report::audit_table(rows, md);
    return EXIT_ALL_OK;
}

}  // namespace

AuditCommands* add_audit_commands(CLI::App& app) {
    static AuditCommands c;
    c.audit = app.add_subcommand("audit", "test the claims of the Apple Silicon vs CUDA comparison against measurements, "
                                          "predictions and specs");
    c.audit->add_option("--results", c.results, "results file to read (default ~/.local/share/versus/results.jsonl)");
    c.audit->add_option("-o,--output", c.format, "table, md or json")->capture_default_str();
    return &c;
}

int run_audit_commands(AuditCommands* c) {
    if (*c->audit) return cmd_audit(*c);
    return -1;
}

}  // namespace versus::cli
