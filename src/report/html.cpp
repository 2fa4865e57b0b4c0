#include "report/html.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <type_traits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/context.hpp"

namespace versus::report {

namespace {

using J = nlohmann::ordered_json;

constexpr const char* CSS = R"css(
:root { --fg: #1d2329; --muted: #5b6670; --line: #d5dade; --band: #f4f6f8; --accent: #1f5fa8; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--fg); margin: 0 auto; padding: 1.5rem 2rem 3rem; max-width: 1400px; }
h1 { font-size: 1.7rem; margin: 0 0 .3rem; }
h2 { font-size: 1.3rem; margin: 2.2rem 0 .6rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1.05rem; margin: 1.4rem 0 .4rem; }
p.meta, p.note, .muted { color: var(--muted); }
p.note { margin: .35rem 0; font-size: .9rem; max-width: 75rem; }
nav { margin: .8rem 0 0; display: flex; flex-wrap: wrap; gap: .3rem .9rem; font-size: .92rem; }
nav a, a { color: var(--accent); text-decoration: none; }
nav a:hover, a:hover { text-decoration: underline; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .4rem 0; font-size: .88rem; }
th, td { border: 1px solid var(--line); padding: .28rem .55rem; vertical-align: top; text-align: left; }
th { background: var(--band); font-weight: 600; white-space: nowrap; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover, table.sortable th:focus { background: #e6ebf0; }
th[aria-sort="ascending"]::after { content: " \25B2"; font-size: .75em; }
th[aria-sort="descending"]::after { content: " \25BC"; font-size: .75em; }
details.chart-data { margin: -.6rem 0 1.2rem; font-size: .9rem; }
details.chart-data summary { cursor: pointer; color: var(--accent); }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.contexts { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr)); gap: .8rem; }
.context { border: 1px solid var(--line); border-radius: 6px; padding: .6rem .8rem; }
.context h3 { margin: 0 0 .4rem; }
.context dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .8rem; margin: 0; font-size: .86rem; }
.context dt { color: var(--muted); }
.context dd { margin: 0; overflow-wrap: anywhere; }
.context p.caution { margin: 0 0 .45rem; padding: .25rem .5rem; border-left: 3px solid #c27c0e; background: #fff7e6;
                     font-size: .86rem; }
.context p.caution.none { border-color: #2e7d32; background: #edf7ee; }
.chart { position: relative; height: 380px; max-width: 1100px; margin: .4rem 0 1rem; }
.charts-unavailable, .error { border-left: 4px solid #c27c0e; background: #fff7e6; padding: .5rem .8rem; }
.error { border-color: #b3261e; background: #fdecea; }
ul.problems { font-size: .88rem; color: var(--muted); }
footer { margin-top: 3rem; color: var(--muted); font-size: .85rem; }
@media (min-width: 601px) { #cost td:first-child { min-width: 16rem; } }
@media (max-width: 600px) {
  body { padding: 1rem .75rem 2rem; }
  h1 { font-size: 1.35rem; }
  .contexts { grid-template-columns: 1fr; }
  .chart { height: 280px; }
}
@media print { .chart { break-inside: avoid; } nav { display: none; } }
)css";

// Set before anything else runs, so that an error in the library or the charts leaves a visible
// element (the browser test looks for it) instead of a silently empty chart.
constexpr const char* ERROR_HANDLER = R"js(
window.onerror = function (msg, src, line) {
  var d = document.createElement('div');
  d.id = 'versus-report-error';
  d.className = 'error';
  d.textContent = 'Script error: ' + msg + ' (' + (src || 'inline script') + ':' + line + ')';
  (document.body || document.documentElement).appendChild(d);
};
)js";

// Draws the charts from the JSON block; ends by adding the success marker the browser test reads.
constexpr const char* APP_JS = R"js(
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('versus-data').textContent);
  var drawn = 0;
  function done() {
    var m = document.createElement('div');
    m.id = 'versus-report-ok';
    m.hidden = true;
    m.textContent = 'charts: ' + drawn;
    // The browser test asks for the page's own check of its sorting and data tables.
    if (location.hash === '#selftest' && window.versusSelfTest) m.textContent += window.versusSelfTest();
    document.body.appendChild(m);
  }
  if (!data.charts || typeof Chart === 'undefined') { done(); return; }
  var palette = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                 '#bcbd22', '#17becf'];
  function fmt(v) { return v >= 100 ? v.toFixed(0) : Number(v.toPrecision(3)).toString(); }
  // Predicted bars carry their range: drawn as whiskers over the bars, from each dataset's low/high.
  var whiskers = {
    id: 'versusRanges',
    afterDatasetsDraw: function (chart) {
      var ctx = chart.ctx, y = chart.scales.y;
      chart.data.datasets.forEach(function (ds, i) {
        var meta = chart.getDatasetMeta(i);
        if (!ds.low || meta.hidden) return;
        meta.data.forEach(function (bar, j) {
          if (ds.low[j] == null || ds.high[j] == null) return;
          var x = bar.x, y0 = y.getPixelForValue(ds.low[j]), y1 = y.getPixelForValue(ds.high[j]);
          ctx.save();
          ctx.strokeStyle = '#222';
          ctx.lineWidth = 1;
          ctx.beginPath();
          ctx.moveTo(x, y0); ctx.lineTo(x, y1);
          ctx.moveTo(x - 4, y0); ctx.lineTo(x + 4, y0);
          ctx.moveTo(x - 4, y1); ctx.lineTo(x + 4, y1);
          ctx.stroke();
          ctx.restore();
        });
      });
    }
  };
  function bars(id, spec) {
    var el = document.getElementById(id);
    if (!el || !spec) return;
    new Chart(el, {
      type: 'bar',
      data: {
        labels: spec.labels,
        datasets: spec.series.map(function (s, i) {
          var color = palette[s.color % palette.length];
          return { label: s.name, data: s.values, low: s.low, high: s.high, borderColor: color,
                   backgroundColor: s.predicted ? color + '55' : color, borderWidth: s.predicted ? 1 : 0 };
        })
      },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: { y: { type: 'logarithmic', title: { display: true, text: spec.unit + ' (log scale)' } } },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var ds = c.dataset, j = c.dataIndex, t = ds.label + ': ' + fmt(c.parsed.y) + ' ' + spec.unit;
          if (ds.low && ds.low[j] != null) t += ' (' + fmt(ds.low[j]) + '-' + fmt(ds.high[j]) + ')';
          return t;
        } } } }
      },
      plugins: [whiskers]
    });
    drawn++;
  }
  // min(peak, bandwidth x intensity) over the x range: three points, the ridge between them.
  function roof(peak, bw, xmin, xmax) {
    var pts = [{ x: xmin, y: Math.min(peak, bw * xmin) }], ridge = peak / bw;
    if (ridge > xmin && ridge < xmax) pts.push({ x: ridge, y: peak });
    pts.push({ x: xmax, y: Math.min(peak, bw * xmax) });
    return pts;
  }
  data.rooflines.forEach(function (d) {
    var el = document.getElementById(d.canvas);
    if (!el) return;
    var xs = d.points.map(function (p) { return p.x; });
    data.platforms.forEach(function (p) { if (p.peak > 0 && p.bw > 0) xs.push(p.peak / p.bw); });
    if (d.roof.peak > 0 && d.roof.bw > 0) xs.push(d.roof.peak / d.roof.bw);
    var xmin = Math.min.apply(null, xs.concat([1])) / 4, xmax = Math.max.apply(null, xs.concat([10])) * 4;
    var own = palette[d.color % palette.length];
    var sets = [{ label: 'measured', data: d.points, showLine: false, pointRadius: 4,
                  backgroundColor: own, borderColor: own }];
    if (d.roof.peak > 0 && d.roof.bw > 0)
      sets.push({ label: 'this device (' + d.roof.from + ', STREAM bandwidth)', data: roof(d.roof.peak, d.roof.bw, xmin, xmax),
                  showLine: true, pointRadius: 0, borderColor: own, backgroundColor: own, borderWidth: 2 });
    data.platforms.forEach(function (p) {
      if (!(p.peak > 0 && p.bw > 0)) return;
      var color = palette[p.color % palette.length];
      sets.push({ label: p.name + ' (spec FP32, bandwidth)', data: roof(p.peak, p.bw, xmin, xmax), showLine: true,
                  pointRadius: 0, borderDash: [6, 4], borderColor: color, backgroundColor: color, borderWidth: 1.5 });
    });
    new Chart(el, {
      type: 'scatter',
      data: { datasets: sets },
      options: {
        animation: false, responsive: true, maintainAspectRatio: false,
        scales: {
          x: { type: 'logarithmic', title: { display: true, text: 'arithmetic intensity (FLOP/byte)' } },
          y: { type: 'logarithmic', title: { display: true, text: 'GFLOP/s' } }
        },
        plugins: { tooltip: { callbacks: { label: function (c) {
          var p = c.raw;
          return (p.label || c.dataset.label) + ': ' + fmt(p.y) + ' GFLOP/s at ' + fmt(p.x) + ' FLOP/byte';
        } } } }
      }
    });
    drawn++;
  });
  bars('chart-tokens', data.tokens);
  bars('chart-joules', data.joules);
  done();
})();
)js";

std::string machine_name(const System& s) { return fmt::format("[{}] {}", s.number, s.label); }

// Inline <script> content must not contain "</script" or "<!--" (the HTML parser acts on them even
// inside JavaScript strings); both have equivalent spellings in JavaScript.
std::string safe_script(std::string_view js) {
    std::string out;
    out.reserve(js.size());
    for (size_t i = 0; i < js.size(); ++i) {
        if (js[i] == '<' && i + 1 < js.size()) {
            const std::string_view rest = js.substr(i + 1, 7);
            std::string lower(rest);
            std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char ch) { return std::tolower(ch); });
            if (lower.rfind("/script", 0) == 0) {
                out += "<\\/";
                ++i;  // the '/' is written
                continue;
            }
            if (rest.rfind("!--", 0) == 0) {
                out += "<\\!";
                ++i;
                continue;
            }
        }
        out += js[i];
    }
    return out;
}

// JSON inside <script>: '<' only occurs in strings there, where \u003c means the same.
std::string safe_json(const J& j) {
    const std::string s = j.dump(-1, ' ', false, J::error_handler_t::replace);
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        if (ch == '<') out += "\\u003c";
        else out += ch;
    }
    return out;
}

std::string table_html(const Table& t) {
    std::string h = "<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr>";
    for (const auto& c : t.header) h += "<th>" + html_escape(c) + "</th>";
    h += "</tr></thead>\n<tbody>\n";
    for (const auto& row : t.rows) {
        h += "<tr>";
        for (size_t i = 0; i < row.size(); ++i) {
            const bool right = i < t.right.size() && t.right[i];
            h += (right ? "<td class=\"num\">" : "<td>") + html_escape(row[i]) + "</td>";
        }
        h += "</tr>\n";
    }
    h += "</tbody></table></div>\n";
    return h;
}

std::string section(const Table& t, int level = 2) {
    std::string h = fmt::format("<section id=\"{}\">\n<h{}>{}</h{}>\n", html_escape(t.id), level, html_escape(t.title), level);
    h += t.rows.empty() ? "<p class=\"muted\">Nothing to show.</p>\n" : table_html(t);
    for (const auto& n : t.notes) h += "<p class=\"note\">" + html_escape(n) + "</p>\n";
    return h + "</section>\n";
}

std::string context_card(const System& s) {
    auto item = [](const std::string& k, const std::string& v) {
        return v.empty() ? std::string() : "<dt>" + html_escape(k) + "</dt><dd>" + html_escape(v) + "</dd>";
    };
    auto join = [](const auto& v) {
        std::string out;
        for (const auto& x : v) {
            std::string s;
            if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string>) s = x;
            else s = std::to_string(x);
            out += (out.empty() ? "" : ", ") + s;
        }
        return out;
    };
    std::string h = "<div class=\"context\">\n<h3>" + html_escape(s.number ? machine_name(s) : s.label + " (nothing ran)") +
                    "</h3>\n";
    h += s.caution.empty() ? "<p class=\"caution none\">Nothing recorded against these figures.</p>\n"
                           : "<p class=\"caution\">Caution: " + html_escape(s.caution) + ".</p>\n";
    h += "<dl>";
    h += item("host", s.host);
    h += item("backend", s.backend);
    h += item("device", s.device);
    h += item("memory", s.memory_kind);
    h += item("CPU", s.cpu);
    h += item("GPU", s.gpu);
    h += item("OS", s.os);
    h += item("build", s.build_type);
    h += item("versus", join(s.versions));
    h += item("threads", join(s.threads));
    h += item("runs", join(s.run_ids));
    h += item("measured", s.first_time == s.last_time ? s.first_time : s.first_time + " to " + s.last_time);
    h += item("records", fmt::format("{} ({} ok)", s.n_records, s.n_ok));
    h += item("file", join(s.files));
    h += item("energy", s.energy_reason.empty() ? "" : "not measured: " + s.energy_reason);
    return h + "</dl>\n</div>\n";
}

// Each machine and platform keeps one colour in every chart: machines by number, then platforms.
int n_measured(const Comparison& c) {
    int n = 0;
    for (const auto& s : c.systems) n += s.number > 0;
    return n;
}

// Bars per test: one series per machine that measured any of the rows, one per predicted platform.
J bar_data(const Comparison& c, bool joules) {
    if (c.generations.empty()) return nullptr;
    const Generation& g = c.generations[0];
    std::vector<const Row*> rows;
    for (const auto& r : g.rows) {
        if (r.workload != "llm") continue;
        const bool any = std::any_of(r.cells.begin(), r.cells.end(),
                                     [&](const Cell& x) { return x.ok && (!joules || x.joules_per_token); }) ||
                         std::any_of(r.predicted.begin(), r.predicted.end(), [&](const Predicted& p) {
                             return joules ? p.joules_per_token.has_value() : p.value.has_value();
                         });
        if (any) rows.push_back(&r);
    }
    if (rows.empty()) return nullptr;
    J out;
    out["unit"] = joules ? "J/token" : "tokens/s";
    J labels = J::array();
    for (const Row* r : rows) labels.push_back(r->label);
    out["labels"] = labels;
    J series = J::array();
    std::vector<size_t> order;
    for (size_t s = 0; s < c.systems.size(); ++s)
        if (c.systems[s].number > 0) order.push_back(s);
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return c.systems[a].number < c.systems[b].number; });
    for (size_t s : order) {
        J values = J::array();
        bool any = false;
        for (const Row* r : rows) {
            const Cell& x = r->cells[s];
            std::optional<double> v;
            if (x.ok) v = joules ? x.joules_per_token : std::optional<double>(x.value);
            values.push_back(v ? J(*v) : J(nullptr));
            any = any || v.has_value();
        }
        if (any)
            series.push_back({{"name", machine_name(c.systems[s])}, {"color", c.systems[s].number - 1}, {"predicted", false},
                              {"values", values}});
    }
    for (size_t p = 0; p < c.platforms.size(); ++p) {
        J values = J::array(), low = J::array(), high = J::array();
        bool any = false;
        for (const Row* r : rows) {
            const auto& pr = r->predicted[p];
            const auto& e = joules ? pr.joules_per_token : pr.value;
            values.push_back(e ? J(e->value) : J(nullptr));
            low.push_back(e ? J(e->low) : J(nullptr));
            high.push_back(e ? J(e->high) : J(nullptr));
            any = any || e.has_value();
        }
        if (any)
            series.push_back({{"name", c.platforms[p].id + " (predicted)"}, {"color", n_measured(c) + static_cast<int>(p)},
                              {"predicted", true}, {"values", values}, {"low", low}, {"high", high}});
    }
    if (series.empty()) return nullptr;
    out["series"] = series;
    return out;
}

}  // namespace

bool charts_compiled_in() { return !detail::embedded_chart_files().empty(); }

std::string html_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char ch : s) {
        switch (ch) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default: out += ch;
        }
    }
    return out;
}

namespace {

// The figures the page's script draws: bars, rooflines, the predicted platforms' roofs.
J chart_data(const Comparison& c, bool charts, const std::vector<DeviceRoofline>& rooflines_) {
    const auto roofs = platform_roofs(c);
    J data;
    data["charts"] = charts;
    data["tokens"] = bar_data(c, false);
    data["joules"] = bar_data(c, true);
    J rl = J::array();
    for (size_t i = 0; i < rooflines_.size(); ++i) {
        const auto& d = rooflines_[i];
        J pts = J::array();
        for (const auto& p : d.points) pts.push_back({{"x", p.intensity}, {"y", p.gflops}, {"label", p.label}});
        rl.push_back({{"canvas", fmt::format("roofline-{}", i + 1)}, {"title", d.system}, {"color", d.color}, {"points", pts},
                      {"roof", {{"name", d.roof.name}, {"peak", d.roof.peak_gflops}, {"bw", d.roof.bandwidth_gbps},
                                {"from", d.roof.from}}}});
    }
    data["rooflines"] = rl;
    J plats = J::array();
    for (size_t i = 0; i < roofs.size(); ++i)
        plats.push_back({{"name", roofs[i].name}, {"color", n_measured(c) + static_cast<int>(i)},
                         {"peak", roofs[i].peak_gflops}, {"bw", roofs[i].bandwidth_gbps}});
    data["platforms"] = plats;
    return data;
}

// <head> with the styles, the error handler and the charting library, then the page header.
std::string head_html(const Comparison& c, const HtmlOptions& opt, bool charts) {
    std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n";
    h += "<meta name=\"generator\" content=\"versus " + html_escape(core::versus_version()) + "\">\n";
    h += std::string("<meta name=\"versus-charts\" content=\"") + (charts ? "yes" : "no") + "\">\n";
    h += "<title>" + html_escape(opt.title) + "</title>\n<style>" + CSS + "</style>\n";
    h += "<script>" + std::string(ERROR_HANDLER) + "</script>\n";
    if (charts)
        for (const auto& f : detail::embedded_chart_files())
            h += "<!-- " + html_escape(f.name) + " (MIT licence, embedded) -->\n<script>" + safe_script(f.text) + "\n</script>\n";
    h += "</head>\n<body>\n<header>\n<h1>" + html_escape(opt.title) + "</h1>\n";
    const int measured = n_measured(c);
    h += fmt::format("<p class=\"meta\">{} machine{} measured, {} predicted platform{}, {} file{}; generated by versus {}.</p>\n",
                     measured, measured == 1 ? "" : "s", c.platforms.size(), c.platforms.size() == 1 ? "" : "s",
                     c.inputs.files.size(), c.inputs.files.size() == 1 ? "" : "s", html_escape(core::versus_version()));
    return h;
}

std::string nav_html(const Comparison& c, const std::vector<Table>& headline, bool parity) {
    std::string h = "<nav>";
    h += "<a href=\"#machines\">Machines</a>";
    for (const auto& t : headline) h += "<a href=\"#" + html_escape(t.id) + "\">" + html_escape(t.title) + "</a>";
    h += "<a href=\"#charts\">Charts</a><a href=\"#side-by-side\">Side by side</a>";
    if (parity) h += "<a href=\"#parity\">Parity</a>";
    h += "<a href=\"#audit\">Audit</a>";
    if (!c.inputs.problems.empty()) h += "<a href=\"#skipped\">Skipped input</a>";
    h += "</nav>\n";
    return h;
}

// Machines and their context cards.
std::string machines_section(const Comparison& c) {
    std::string h = "<section id=\"machines\">\n<h2>Machines</h2>\n<ul class=\"problems\">";
    for (const auto& f : c.inputs.files) h += "<li>" + html_escape(f) + "</li>";
    h += "</ul>\n";
    if (!c.systems.empty()) {
        const Table m = machines_table(c);
        h += table_html(m);
        for (const auto& n : m.notes)  // each machine's caution heads its context card instead
            if (!n.starts_with("Caution for ")) h += "<p class=\"note\">" + html_escape(n) + "</p>\n";
        h += "<div class=\"contexts\">\n";
        std::vector<const System*> order;
        for (const auto& s : c.systems) order.push_back(&s);
        std::stable_sort(order.begin(), order.end(), [](const System* a, const System* b) {
            return (a->number ? a->number : 1 << 20) < (b->number ? b->number : 1 << 20);
        });
        for (const System* s : order) h += context_card(*s);
        h += "</div>\n";
    }
    return h + "</section>\n";
}

// The figures a chart draws, as a table one click away under it.
std::string data_table(const Table& t) {
    return "<details class=\"chart-data\"><summary>Data table: " + html_escape(t.title) + "</summary>\n" + table_html(t) +
           "</details>\n";
}

std::string charts_section(const Comparison& c, const J& data, bool charts, const std::vector<DeviceRoofline>& rooflines_) {
    std::string h = "<section id=\"charts\">\n<h2>Charts</h2>\n";
    if (!charts) {
        h += "<p class=\"charts-unavailable\">Charts unavailable: this versus was built without the charting library "
             "(Chart.js; on Debian and Ubuntu <code>apt install libjs-chart.js</code>, then rebuild). Every figure is in "
             "the tables.</p>\n";
        return h + "</section>\n";
    }
    if (!data["tokens"].is_null())
        h += "<h3>Tokens per second</h3>\n<div class=\"chart\"><canvas id=\"chart-tokens\" role=\"img\" "
             "aria-label=\"tokens per second per test and machine\"></canvas></div>\n" +
             data_table(detail::bar_chart_table(data["tokens"], "tokens per second")) +
             "<p class=\"note\">Predicted bars are pale, with their range as whiskers.</p>\n";
    if (!data["joules"].is_null())
        h += "<h3>Energy per token</h3>\n<div class=\"chart\"><canvas id=\"chart-joules\" role=\"img\" "
             "aria-label=\"joules per token per test and machine\"></canvas></div>\n" +
             data_table(detail::bar_chart_table(data["joules"], "energy per token"));
    if (!rooflines_.empty()) {
        h += "<h3>Rooflines</h3>\n<p class=\"note\">Measured points at their arithmetic intensity (FLOPs / bytes the "
             "workload counts) under this device's roof (the peak its % of peak was measured against and its "
             "STREAM bandwidth); the predicted platforms' roofs (spec FP32 peak and memory bandwidth) dashed "
             "beside it.</p>\n";
        const auto roofs = platform_roofs(c);
        for (size_t i = 0; i < rooflines_.size(); ++i)
            h += fmt::format("<h3>{}</h3>\n<div class=\"chart\"><canvas id=\"roofline-{}\" role=\"img\" "
                             "aria-label=\"roofline of {}\"></canvas></div>\n",
                             html_escape(rooflines_[i].system), i + 1, html_escape(rooflines_[i].system)) +
                 data_table(detail::roofline_table(rooflines_[i], roofs));
    }
    if (data["tokens"].is_null() && data["joules"].is_null() && rooflines_.empty())
        h += "<p class=\"muted\">No figure in these results to chart.</p>\n";
    return h + "</section>\n";
}

// A section of tables at level 3; `empty` is said when there is none.
std::string tables_section(const std::string& id, const std::string& title, const std::vector<Table>& tables,
                           const std::string& empty) {
    std::string h = "<section id=\"" + id + "\">\n<h2>" + title + "</h2>\n";
    if (tables.empty() && !empty.empty()) h += "<p class=\"muted\">" + empty + "</p>\n";
    for (const auto& t : tables) h += section(t, 3);
    return h + "</section>\n";
}

}  // namespace

std::string render_html(const Comparison& c, const HtmlOptions& opt) {
    const bool charts = opt.charts && charts_compiled_in();
    const auto rooflines_ = rooflines(c);
    const J data = chart_data(c, charts, rooflines_);
    const auto headline = headline_tables(c);
    const auto parity = parity_tables(c);

    std::string h = head_html(c, opt, charts);
    h += nav_html(c, headline, !parity.empty()) + "</header>\n<main>\n";
    h += machines_section(c);
    for (const auto& t : headline) h += section(t);
    h += charts_section(c, data, charts, rooflines_);
    h += tables_section("side-by-side", "Side by side", comparison_tables(c), "No measurement to put side by side.");
    if (!parity.empty()) h += tables_section("parity", "Parity", parity, "");
    h += tables_section("audit", "Audit", opt.audit_tables,
                        "The audit (the seed claims checked against measurement and prediction) is not part of this report.");
    if (!c.inputs.problems.empty()) {
        h += "<section id=\"skipped\">\n<h2>Skipped input</h2>\n<ul class=\"problems\">";
        for (const auto& p : c.inputs.problems) h += "<li>" + html_escape(p) + "</li>";
        h += "</ul>\n</section>\n";
    }
    h += "</main>\n<footer>Matching rules, the bound column and the parity figures: docs/report.md. Predictions: "
         "docs/predictor.md.</footer>\n";
    h += "<script type=\"application/json\" id=\"versus-data\">" + safe_json(data) + "</script>\n";
    h += "<script>" + std::string(detail::table_script()) + "</script>\n";
    h += "<script>" + std::string(APP_JS) + "</script>\n</body>\n</html>\n";
    return h;
}

}  // namespace versus::report
