#include "cli/cli-compare.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "base/error.hpp"
#include "cli/cli-cost.hpp"
#include "report/audit.hpp"
#include "report/compare.hpp"
#include "report/html.hpp"
#include "system/sysinfo.hpp"

namespace versus::cli {

struct CompareCommands {
    CLI::App* compare = nullptr;
    std::vector<std::string> files;
    std::string predict, format, out, html;
    int baseline = 1;
    CostFlags cost;  // the cost table's inputs
};

namespace {

// The format: -o, else what --out's extension says, else a table on a terminal and Markdown otherwise.
std::string chosen_format(const CompareCommands& c, std::string* out) {
    std::string format = c.format;
    *out = c.out;
    if (!c.html.empty()) {
        if (!format.empty() && format != "html")
            throw UsageError("--html", fmt::format("conflicts with -o {}", format), "give --html PATH or -o FORMAT --out PATH");
        if (!out->empty() && *out != c.html)
            throw UsageError("--html", "conflicts with --out", "give one of them");
        format = "html";
        *out = c.html;
    }
    if (format.empty()) {
        auto ends = [&](const char* ext) { return out->size() > std::strlen(ext) && out->ends_with(ext); };
        if (ends(".html") || ends(".htm")) format = "html";
        else if (ends(".json")) format = "json";
        else if (ends(".md")) format = "md";
        else format = out->empty() && isatty(STDOUT_FILENO) ? "table" : "md";
    }
    if (format != "table" && format != "md" && format != "html" && format != "json")
        throw UsageError("-o", fmt::format("compare writes table, md, html or json, not '{}'", format),
                         "use -o table, md, html or json");
    return format;
}

int cmd_compare(const CompareCommands& c) {
    std::string out;
    const std::string format = chosen_format(c, &out);
    report::Options opt;
    std::stringstream list(c.predict);
    for (std::string id; std::getline(list, id, ',');)
        if (!id.empty()) opt.predict.push_back(id);
    opt.baseline = c.baseline;
    opt.cost = cost_options(c.cost);
    // Results of this machine are known to come from a VM when the probe says it is one.
    const report::HostFindings here = report::host_findings(system::probe_system());
    opt.here = &here;

    auto inputs = report::load_inputs(c.files);
    for (const auto& p : inputs.problems) std::fprintf(stderr, "[compare] %s\n", p.c_str());
    const auto cmp = report::compare(std::move(inputs), opt);

    std::string text;
    if (format == "html") {
        report::HtmlOptions html;
        // The report stands without its Audit section: a failure is said and leaves the section empty.
        try {
            html.audit_tables = {report::audit_report_table(cmp.inputs.records, "the compared files")};
        } catch (const std::exception& e) {
            std::fprintf(stderr, "[compare] no audit in the report: %s\n", e.what());
        }
        text = report::render_html(cmp, html);
    } else if (format == "json") {
        text = report::to_json(cmp).dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    } else {
        text = report::render_text(cmp, format == "md");
    }

    if (out.empty()) {
        std::cout << text;
        std::cout.flush();
        return EXIT_ALL_OK;
    }
    std::ofstream f(out, std::ios::binary);
    f << text;
    f.close();
    if (!f) throw UsageError(out, "cannot write the report", "choose a writable --out");
    std::fprintf(stderr, "wrote %s\n", out.c_str());
    return EXIT_ALL_OK;
}

}  // namespace

CompareCommands* add_compare_commands(CLI::App& app) {
    static CompareCommands c;
    c.compare = app.add_subcommand("compare", "results of several machines side by side, with predictions and an HTML report");
    auto* s = c.compare;
    s->add_option("files", c.files, "results files (JSONL from versus run/bench --out, JSON from -o json) or "
                                    "versus generate -o json outputs");
    s->add_option("--predict", c.predict, "platform ids for predicted columns, comma-separated (`versus specs list`)");
    s->add_option("--baseline", c.baseline, "the machine ratios are taken against, by its number in the machines table")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    s->add_option("-o,--output", c.format, "table, md, html or json (default: from --out's extension, else table on a "
                                           "terminal and md otherwise)");
    s->add_option("--out", c.out, "write to this file instead of stdout");
    s->add_option("--html", c.html, "write the HTML report to this file (-o html --out PATH)");
    add_cost_options(s, c.cost);
    return &c;
}

int run_compare_commands(CompareCommands* c) {
    if (*c->compare) return cmd_compare(*c);
    return -1;
}

}  // namespace versus::cli
