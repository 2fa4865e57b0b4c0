// html: the comparison as ONE self-contained HTML file that works offline — every table of the
// Markdown report, each machine's context, a roofline chart per device with the predicted platforms'
// rooflines beside it, and bar charts of tokens/s and J/token. The charts are drawn by Chart.js,
// read from the distribution's package (libjs-chart.js) at build time and compiled into the binary;
// a build without it writes the same report with tables only and says so. Layout: docs/report.md.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "predict/specs.hpp"
#include "report/compare.hpp"

namespace versus::report {

struct HtmlOptions {
    std::string title = "versus compare";
    // The audit hook: tables of the seed claims checked against measurement and prediction (`versus
    // audit`). Shown in the report's "Audit" section when given; the section says there is no audit
    // in this report otherwise.
    std::vector<Table> audit_tables;
    // Draw charts when the charting library is compiled in (false: tables only, as without it).
    bool charts = true;
};

std::string render_html(const Comparison& c, const HtmlOptions& opt = {});

// Whether this build embeds the charting library.
bool charts_compiled_in();

// Text made safe inside HTML elements and attribute values.
std::string html_escape(std::string_view s);

namespace detail {
// The figures a bar chart draws (its JSON spec: labels, series of values with low/high for predictions) as a
// table, and those of a roofline chart (html-tables.cpp).
Table bar_chart_table(const nlohmann::ordered_json& spec, const std::string& title);
Table roofline_table(const DeviceRoofline& d, const std::vector<Roof>& platforms);
// The page script that makes every table.sortable sortable by any column, and defines versusSelfTest().
std::string_view table_script();

// The {name, text} pair cmake/EmbedFiles.cmake fills, shared with the other compiled-in files.
using EmbeddedFile = predict::detail::EmbeddedFile;
// The charting library (generated embedded-charts.cpp); empty when the build found none.
std::span<const EmbeddedFile> embedded_chart_files();
}  // namespace detail

}  // namespace versus::report
