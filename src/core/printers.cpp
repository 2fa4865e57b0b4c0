#include "core/printers.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>

#include "base/error.hpp"

namespace versus::core {

Format parse_format(std::string_view name) {
    if (name == "table") return Format::TABLE;
    if (name == "md") return Format::MD;
    if (name == "csv") return Format::CSV;
    if (name == "json") return Format::JSON;
    if (name == "jsonl") return Format::JSONL;
    if (name == "sql") return Format::SQL;
    throw UsageError("-o", fmt::format("unknown output format '{}'", name), "use table, md, csv, json, jsonl or sql");
}

std::string_view format_name(Format f) {
    switch (f) {
        case Format::TABLE: return "table";
        case Format::MD: return "md";
        case Format::CSV: return "csv";
        case Format::JSON: return "json";
        case Format::JSONL: return "jsonl";
        case Format::SQL: return "sql";
    }
    return "?";
}

namespace {

struct Headline {
    const char* field;
    const char* unit;
};
// In order of preference: the first present field is a record's headline.
constexpr Headline HEADLINES[] = {
    {"tokens_per_s", "t/s"}, {"images_per_s", "img/s"}, {"gflops", "GFLOP/s"}, {"gbps", "GB/s"}, {"latency_us", "us"},
};

// Display width of UTF-8 text (counts code points, enough for "±" and "µ").
size_t width(const std::string& s) {
    size_t w = 0;
    for (unsigned char c : s) w += (c & 0xC0) != 0x80;
    return w;
}

std::string pad(const std::string& s, size_t w, bool right) {
    const size_t n = width(s);
    if (n >= w) return s;
    return right ? std::string(w - n, ' ') + s : s + std::string(w - n, ' ');
}

// Fields between "key" and "reps" are the configuration (dtype, threads, workload parameters).
std::vector<std::string> config_fields(const Record& r) {
    std::vector<std::string> out;
    bool in = false;
    for (const auto& [k, v] : r.fields()) {
        if (k == "reps") break;
        if (in) out.push_back(k);
        if (k == "key") in = true;
    }
    return out;
}

std::string show_config(const std::string& field, const Value& v) {
    if (field.size() > 6 && field.ends_with("_bytes")) {
        if (auto i = std::get_if<int64_t>(&v)) {
            // Binary sizes read better as 4K / 256M than as raw byte counts.
            std::string s = std::to_string(*i);
            static const char* units[] = {"", "K", "M", "G", "T"};
            int64_t x = *i;
            int u = 0;
            while (u < 4 && x != 0 && x % 1024 == 0) {
                x /= 1024;
                ++u;
            }
            return std::to_string(x) + units[u];
        }
    }
    return format_value(v);
}

std::string short_name(const std::string& field) {
    if (field.size() > 6 && field.ends_with("_bytes")) return field.substr(0, field.size() - 6);
    return field;
}

struct Table {
    std::vector<std::string> header;
    std::vector<bool> right;
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> constants;  // "name: value" for columns that do not vary
    std::vector<std::string> notes;      // lines under the table
};

// A rate above 100% of its peak means the peak was measured low (a busy machine): the figure is shown,
// marked, and the note under the table says so.
constexpr const char* PEAK_DOUBT_MARK = " ?";
constexpr const char* PEAK_DOUBT_NOTE = "? above 100% of the peak: the peak is in doubt (measured while the machine "
                                        "was busy?); peak_method and the row's reason say more";

Table build_table(const std::vector<const Record*>& group) {
    // Candidate identity columns, then values.
    std::vector<std::string> ident = {"backend", "device"};
    for (const auto* r : group)
        for (const auto& f : config_fields(*r))
            if (std::find(ident.begin(), ident.end(), f) == ident.end()) ident.push_back(f);

    Table t;
    std::vector<std::string> shown;
    for (const auto& f : ident) {
        std::set<std::string> distinct;
        for (const auto* r : group) {
            const Value* v = r->find(f);
            distinct.insert(v ? show_config(f, *v) : "");
        }
        if (distinct.size() > 1)
            shown.push_back(f);
        else if (!distinct.begin()->empty())
            t.constants.push_back(short_name(f) + ": " + *distinct.begin());
    }
    // The first headline any row has, plus latency where a workload reports it beside a rate.
    std::vector<Headline> values;
    for (const auto& h : HEADLINES) {
        const bool present = std::any_of(group.begin(), group.end(), [&](const Record* r) {
            return r->find(h.field) && !is_null(*r->find(h.field));
        });
        if (present && (values.empty() || std::string_view(h.field) == "latency_us")) values.push_back(h);
    }
    // Secondary figures some workloads report beside their headline (quality's are its point, not its speed).
    static constexpr Headline SECONDARY[] = {{"ttft_ms", "TTFT ms"},  {"mbu_pct", "MBU %"}, {"mfu_pct", "MFU %"},
                                             {"ppl", "PPL"},          {"kld_mean", "KLD"},  {"kld_p99", "KLD p99"},
                                             {"top1_agree_pct", "top-1 %"}};
    std::vector<Headline> extra;
    for (const auto& h : SECONDARY)
        if (std::any_of(group.begin(), group.end(),
                        [&](const Record* r) { return r->find(h.field) && !is_null(*r->find(h.field)); }))
            extra.push_back(h);
    bool any_peak = false, any_not_ok = false;
    for (const auto* r : group) {
        any_peak = any_peak || (r->find("peak_pct") && !is_null(*r->find("peak_pct")));
        any_not_ok = any_not_ok || r->str("status") != "ok";
    }
    for (const auto& f : shown) {
        t.header.push_back(short_name(f));
        t.right.push_back(false);
    }
    for (const auto& h : values) {
        t.header.push_back(h.unit);
        t.right.push_back(true);
    }
    for (const auto& h : extra) {
        t.header.push_back(h.unit);
        t.right.push_back(true);
    }
    if (any_peak) {
        t.header.push_back("% peak");
        t.right.push_back(true);
    }
    if (any_not_ok) {
        t.header.push_back("status");
        t.right.push_back(false);
    }
    for (const auto* r : group) {
        std::vector<std::string> row;
        for (const auto& f : shown) {
            const Value* v = r->find(f);
            row.push_back(v ? show_config(f, *v) : "");
        }
        const bool ok = r->str("status") == "ok";
        const double mdape = r->num("mdape_pct");
        for (const auto& h : values) {
            const Value* v = r->find(h.field);
            if (!ok || !v || is_null(*v)) {
                row.emplace_back("-");
                continue;
            }
            const double x = r->num(h.field);
            std::string cell = format_value(x, 4) + " ± " + format_value(x * mdape / 100.0, 2);
            if (r->find("unstable") && r->num("unstable") != 0) cell += " !";
            row.push_back(cell);
        }
        for (const auto& h : extra) {
            const Value* v = r->find(h.field);
            row.push_back(ok && v && !is_null(*v) ? format_value(r->num(h.field), 3) : "-");
        }
        if (any_peak) {
            const Value* v = r->find("peak_pct");
            const bool shown_pct = ok && v && !is_null(*v);
            const bool doubt = shown_pct && r->num("peak_pct") > 100;
            row.push_back(shown_pct ? fmt::format("{:.1f}{}", r->num("peak_pct"), doubt ? PEAK_DOUBT_MARK : "") : "-");
            if (doubt && t.notes.empty()) t.notes.push_back(PEAK_DOUBT_NOTE);
        }
        if (any_not_ok) {
            const std::string st = r->str("status");
            const std::string why = r->str("reason");
            row.push_back(st == "ok" ? "ok" : st + (why.empty() ? "" : ": " + why));
        }
        t.rows.push_back(std::move(row));
    }
    return t;
}

// Records grouped by workload, in order of first appearance.
std::vector<std::pair<std::string, std::vector<const Record*>>> by_workload(const std::vector<Record>& records) {
    std::vector<std::pair<std::string, std::vector<const Record*>>> groups;
    for (const auto& r : records) {
        const std::string w = r.str("workload");
        auto it = std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return g.first == w; });
        if (it == groups.end()) {
            groups.push_back({w, {}});
            it = groups.end() - 1;
        }
        it->second.push_back(&r);
    }
    return groups;
}

std::string render_text(const std::vector<Record>& records, bool md) {
    std::string out;
    for (const auto& [workload, group] : by_workload(records)) {
        Table t = build_table(group);
        if (!out.empty()) out += "\n";
        if (md) {
            out += "### " + workload + "\n\n";
            if (!t.constants.empty()) {
                std::string line;
                for (const auto& c : t.constants) line += (line.empty() ? "" : " · ") + c;
                out += line + "\n\n";
            }
        } else {
            out += workload;
            for (const auto& c : t.constants) out += "  " + c;
            out += "\n";
        }
        out += render_grid(t.header, t.rows, t.right, md);
        for (const auto& n : t.notes) out += (md ? "\n" : "") + n + "\n";
    }
    return out;
}

// Union of field names in first-seen order.
std::vector<std::string> all_columns(const std::vector<Record>& records) {
    std::vector<std::string> cols;
    std::set<std::string> seen;
    for (const auto& r : records)
        for (const auto& [k, v] : r.fields())
            if (seen.insert(k).second) cols.push_back(k);
    return cols;
}

std::string csv_cell(const Value* v) {
    if (!v || is_null(*v)) return "";
    std::string s = std::holds_alternative<double>(*v) ? fmt::format("{}", std::get<double>(*v)) : format_value(*v);
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string q = "\"";
    for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
    return q + "\"";
}

std::string render_csv(const std::vector<Record>& records) {
    const auto cols = all_columns(records);
    std::string out;
    for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + cols[i];
    out += "\n";
    for (const auto& r : records) {
        for (size_t i = 0; i < cols.size(); ++i) out += (i ? "," : "") + csv_cell(r.find(cols[i]));
        out += "\n";
    }
    return out;
}

std::string sql_type(const std::vector<Record>& records, const std::string& col) {
    bool is_int = true, is_num = true, any = false;
    for (const auto& r : records) {
        const Value* v = r.find(col);
        if (!v || is_null(*v)) continue;
        any = true;
        const bool i = std::holds_alternative<int64_t>(*v) || std::holds_alternative<bool>(*v);
        is_int = is_int && i;
        is_num = is_num && (i || std::holds_alternative<double>(*v));
    }
    if (!any) return "TEXT";
    return is_int ? "INTEGER" : is_num ? "REAL" : "TEXT";
}

std::string sql_literal(const Value* v) {
    if (!v || is_null(*v)) return "NULL";
    if (auto b = std::get_if<bool>(v)) return *b ? "1" : "0";
    if (auto i = std::get_if<int64_t>(v)) return std::to_string(*i);
    if (auto d = std::get_if<double>(v)) return std::isfinite(*d) ? fmt::format("{}", *d) : "NULL";
    std::string s = format_value(*v);
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
    return q + "'";
}

std::string render_sql(const std::vector<Record>& records) {
    const auto cols = all_columns(records);
    std::string out = "CREATE TABLE IF NOT EXISTS results (\n";
    for (size_t i = 0; i < cols.size(); ++i)
        out += fmt::format("  \"{}\" {}{}\n", cols[i], sql_type(records, cols[i]), i + 1 < cols.size() ? "," : "");
    out += ");\n";
    for (const auto& r : records) {
        std::string names, vals;
        for (const auto& [k, v] : r.fields()) {
            names += (names.empty() ? "" : ", ") + fmt::format("\"{}\"", k);
            vals += (vals.empty() ? "" : ", ") + sql_literal(&v);
        }
        out += "INSERT INTO results (" + names + ") VALUES (" + vals + ");\n";
    }
    return out;
}

}  // namespace

std::string render_grid(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right, bool md) {
    std::vector<size_t> w(header.size());
    for (size_t c = 0; c < header.size(); ++c) {
        w[c] = md ? std::max<size_t>(3, width(header[c])) : width(header[c]);  // "--:" is the shortest rule GitHub reads
        for (const auto& row : rows)
            if (c < row.size()) w[c] = std::max(w[c], width(row[c]));
    }
    auto is_right = [&](size_t c) { return c < right.size() && right[c]; };
    auto line = [&](const std::vector<std::string>& cells) {
        std::string s = md ? "|" : "";
        for (size_t c = 0; c < header.size(); ++c) {
            const std::string cell = c < cells.size() ? cells[c] : "";
            s += (md ? " " : "  ") + pad(cell, w[c], is_right(c)) + (md ? " |" : "");
        }
        while (!md && !s.empty() && s.back() == ' ') s.pop_back();
        return s + "\n";
    };
    std::string out = line(header);
    std::string rule = md ? "|" : "  ";
    for (size_t c = 0; c < w.size(); ++c) {
        if (md)
            rule += (is_right(c) ? " " + std::string(w[c] - 1, '-') + ": |" : " " + std::string(w[c], '-') + " |");
        else
            rule += (c ? "  " : "") + std::string(w[c], '-');
    }
    out += rule + "\n";
    for (const auto& row : rows) out += line(row);
    return out;
}

bool headline(const Record& r, std::string* unit, double* value) {
    for (const auto& h : HEADLINES) {
        const Value* v = r.find(h.field);
        if (v && !is_null(*v)) {
            *unit = h.unit;
            *value = r.num(h.field);
            return true;
        }
    }
    return false;
}

std::string render(const std::vector<Record>& records, Format f) {
    switch (f) {
        case Format::TABLE: return render_text(records, false);
        case Format::MD: return render_text(records, true);
        case Format::CSV: return render_csv(records);
        case Format::JSON: {
            nlohmann::ordered_json a = nlohmann::ordered_json::array();
            for (const auto& r : records) a.push_back(r.to_json());
            return a.dump(2) + "\n";
        }
        case Format::JSONL: {
            std::string out;
            for (const auto& r : records) out += r.to_json().dump() + "\n";
            return out;
        }
        case Format::SQL: return render_sql(records);
    }
    return {};
}

}  // namespace versus::core
