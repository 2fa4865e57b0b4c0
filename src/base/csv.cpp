#include "base/csv.hpp"

#include "base/error.hpp"

namespace versus::base {

std::vector<CsvRow> parse_csv(std::string_view text) {
    std::vector<CsvRow> rows;
    size_t i = 0;
    int line = 1;
    while (i < text.size()) {
        // Skip blank and comment lines.
        if (text[i] == '\n' || text[i] == '\r' || text[i] == '#') {
            if (text[i] == '#')
                while (i < text.size() && text[i] != '\n') ++i;
            if (i < text.size() && text[i] == '\r') ++i;
            if (i < text.size() && text[i] == '\n') ++i, ++line;
            continue;
        }
        CsvRow row;
        row.line = line;
        std::string cell;
        bool quoted = false, done = false;
        while (!done) {
            if (i >= text.size()) {
                if (quoted) row.error = "a quoted field is not closed";
                row.cells.push_back(std::move(cell));
                break;
            }
            const char ch = text[i++];
            if (quoted) {
                if (ch == '"') {
                    if (i < text.size() && text[i] == '"') {
                        cell += '"';
                        ++i;
                    } else {
                        quoted = false;
                        if (i < text.size() && text[i] != ',' && text[i] != '\n' && text[i] != '\r' && row.error.empty())
                            row.error = "text after a closing quote";
                    }
                } else {
                    if (ch == '\n') ++line;
                    cell += ch;
                }
            } else if (ch == '"' && cell.empty()) {
                quoted = true;
            } else if (ch == ',') {
                row.cells.push_back(std::move(cell));
                cell.clear();
            } else if (ch == '\n' || ch == '\r') {
                if (ch == '\r' && i < text.size() && text[i] == '\n') ++i;
                ++line;
                row.cells.push_back(std::move(cell));
                done = true;
            } else {
                cell += ch;
            }
        }
        rows.push_back(std::move(row));
    }
    return rows;
}

CsvTable::CsvTable(std::string_view text, const std::string& place) : place_(place) {
    rows_ = parse_csv(text);
    if (rows_.empty()) throw UsageError(place + ":1", "no header row", "the first line names the columns");
    header_ = std::move(rows_.front().cells);
    rows_.erase(rows_.begin());
}

int CsvTable::column(std::string_view name) const {
    for (size_t i = 0; i < header_.size(); ++i)
        if (header_[i] == name) return static_cast<int>(i);
    return -1;
}

void CsvTable::require(std::initializer_list<std::string_view> names, const std::string& hint) const {
    for (std::string_view name : names)
        if (column(name) < 0) throw UsageError(place_ + ":1", "no column '" + std::string(name) + "'", hint);
}

std::string_view CsvTable::cell(const CsvRow& row, std::string_view name) const {
    const int c = column(name);
    if (c < 0 || static_cast<size_t>(c) >= row.cells.size()) return {};
    return row.cells[static_cast<size_t>(c)];
}

}  // namespace versus::base
