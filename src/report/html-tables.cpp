// The HTML report's tables as people use them: the figures behind each chart as a table one click away,
// and the script that sorts every table by any column (and, on request, checks itself for the browser test).
#include <fmt/format.h>

#include <algorithm>

#include "predict/roofline.hpp"
#include "report/html.hpp"

namespace versus::report::detail {

namespace {

using J = nlohmann::ordered_json;

// Sorting: a click (or Enter) on a header sorts by that column, ascending then descending. A cell sorts by
// its leading number when it has one ("95.0 +/- 0.95", "1.25x", "180 (150-210)"), else by its text; empty
// cells and "-" stay last. With #selftest in the address, versusSelfTest() sorts a table by clicks, opens
// every chart's data table and says what it saw, "; sort: ok; ...", for the report's success marker.
constexpr const char* TABLE_JS = R"js(
(function () {
  'use strict';
  function heads(table) { return Array.prototype.slice.call(table.tHead.rows[0].cells); }
  function key(cell) {
    var t = cell ? cell.textContent.trim() : '';
    var m = /^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?/i.exec(t);
    return { n: m ? parseFloat(m[0]) : null, t: t, empty: t === '' || t === '-' };
  }
  function compare(a, b) {
    if (a.n !== null && b.n !== null) return a.n - b.n;
    if (a.n !== null || b.n !== null) return a.n !== null ? -1 : 1;
    return a.t.localeCompare(b.t, undefined, { numeric: true, sensitivity: 'base' });
  }
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows).map(function (r, i) { return { r: r, k: key(r.cells[col]), i: i }; });
    rows.sort(function (a, b) {
      if (a.k.empty || b.k.empty) return a.k.empty === b.k.empty ? a.i - b.i : (a.k.empty ? 1 : -1);
      var c = compare(a.k, b.k);
      return c !== 0 ? (dir === 'descending' ? -c : c) : a.i - b.i;
    });
    rows.forEach(function (x) { body.appendChild(x.r); });
    heads(table).forEach(function (th, j) {
      if (j === col) th.setAttribute('aria-sort', dir); else th.removeAttribute('aria-sort');
    });
  }
  function toggle(table, col) {
    var th = heads(table)[col];
    sortTable(table, col, th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending');
  }
  var tables = Array.prototype.slice.call(document.querySelectorAll('table.sortable'));
  tables.forEach(function (table) {
    heads(table).forEach(function (th, j) {
      th.tabIndex = 0;
      th.title = 'sort by this column';
      th.addEventListener('click', function () { toggle(table, j); });
      th.addEventListener('keydown', function (e) {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(table, j); }
      });
    });
  });
  // A column of at least three different numbers, to check the order a click gives.
  function numericColumn(table) {
    if (!table.tBodies[0] || table.tBodies[0].rows.length < 3) return -1;
    var n = heads(table).length;
    for (var j = 0; j < n; j++) {
      var seen = {};
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        var k = key(r.cells[j]);
        if (k.n !== null && !k.empty) seen[k.n] = true;
      });
      if (Object.keys(seen).length >= 3) return j;
    }
    return -1;
  }
  function ordered(table, col, sign) {
    var last = null;
    return Array.prototype.every.call(table.tBodies[0].rows, function (r) {
      var k = key(r.cells[col]);
      if (k.empty || k.n === null) return true;
      var ok = last === null || sign * (k.n - last) >= 0;
      last = k.n;
      return ok;
    });
  }
  window.versusSelfTest = function () {
    var out = { sort: 'no table with a numeric column to sort', sorted: '', charts: 0, dataTables: 0 };
    for (var i = 0; i < tables.length; i++) {
      var col = numericColumn(tables[i]);
      if (col < 0) continue;
      var th = heads(tables[i])[col];
      th.click();
      var up = ordered(tables[i], col, 1) && th.getAttribute('aria-sort') === 'ascending';
      th.click();
      var down = ordered(tables[i], col, -1) && th.getAttribute('aria-sort') === 'descending';
      out.sort = up && down ? 'ok' : 'wrong order (ascending ' + up + ', descending ' + down + ')';
      var section = tables[i].closest('section');
      out.sorted = (section ? section.id : 'table ' + i) + ' by ' + th.textContent;
      break;
    }
    var charts = document.querySelectorAll('.chart');
    out.charts = charts.length;
    Array.prototype.forEach.call(charts, function (c) {
      var d = c.nextElementSibling;
      if (!d || d.tagName !== 'DETAILS') return;
      d.open = true;
      var t = d.querySelector('table');
      if (t && t.tBodies[0].rows.length > 0 && t.offsetHeight > 0) out.dataTables++;
    });
    return '; sort: ' + out.sort + '; sorted: ' + out.sorted + '; data tables: ' + out.dataTables + ' of ' +
           out.charts + '; page width: ' + document.documentElement.scrollWidth + ' of ' + window.innerWidth + ';';
  };
})();
)js";

std::string figure(const J& v) { return v.is_number() ? predict::format_number(v.get<double>()) : "-"; }

}  // namespace

std::string_view table_script() { return TABLE_JS; }

Table bar_chart_table(const nlohmann::ordered_json& spec, const std::string& title) {
    Table t;
    t.title = title;
    t.header = {"test"};
    t.right = {false};
    for (const auto& s : spec["series"]) {
        t.header.push_back(s["name"].get<std::string>() + " (" + spec["unit"].get<std::string>() + ")");
        t.right.push_back(true);
    }
    for (size_t i = 0; i < spec["labels"].size(); ++i) {
        std::vector<std::string> row = {spec["labels"][i].get<std::string>()};
        for (const auto& s : spec["series"]) {
            std::string v = figure(s["values"][i]);
            if (s.contains("low") && s["low"][i].is_number())
                v = predict::format_estimate(
                    {s["values"][i].get<double>(), s["low"][i].get<double>(), s["high"][i].get<double>()});
            row.push_back(v);
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

Table roofline_table(const DeviceRoofline& d, const std::vector<Roof>& platforms) {
    Table t;
    t.title = "Roofline of " + d.system;
    t.header = {"point or roof", "FLOP/byte", "GFLOP/s", "GB/s", "from"};
    t.right = {false, true, true, true, false};
    for (const auto& p : d.points)
        t.rows.push_back({p.label, predict::format_number(p.intensity), predict::format_number(p.gflops),
                          predict::format_number(p.gflops / p.intensity), "measured"});
    // A roof: its peak, its bandwidth, and the intensity where they meet (the ridge).
    auto roof = [&](const std::string& name, const Roof& r, const std::string& from) {
        if (!(r.peak_gflops > 0 && r.bandwidth_gbps > 0)) return;
        t.rows.push_back({name, predict::format_number(r.peak_gflops / r.bandwidth_gbps) + " (ridge)",
                          predict::format_number(r.peak_gflops), predict::format_number(r.bandwidth_gbps), from});
    };
    roof("roof of this device", d.roof, d.roof.from + ", STREAM bandwidth");
    for (const auto& p : platforms) roof("roof of " + p.name, p, "spec FP32 peak and bandwidth");
    return t;
}

}  // namespace versus::report::detail
