// csv: RFC 4180 text (quoted fields with commas, doubled quotes, CRLF) read into rows that remember
// their line, so that a bad row can be reported by line and the rest still used.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace versus::base {

struct CsvRow {
    int line = 0;  // 1-based line where the row starts
    std::vector<std::string> cells;
    std::string error;  // non-empty when the row could not be read (an unterminated quote)
};

// Blank lines and lines starting with '#' are skipped; fields are not trimmed.
std::vector<CsvRow> parse_csv(std::string_view text);

// A table with a header row: column index by name, and rows as name -> cell lookups.
class CsvTable {
public:
    // Throws UsageError("<place>:1", ...) when the text has no header.
    CsvTable(std::string_view text, const std::string& place);
    const std::vector<std::string>& header() const { return header_; }
    const std::vector<CsvRow>& rows() const { return rows_; }
    // -1 when the column is absent.
    int column(std::string_view name) const;
    // Throws UsageError("<place>:1", "no column 'X'", hint) for the first of `names` the header lacks.
    void require(std::initializer_list<std::string_view> names, const std::string& hint) const;
    // The cell of `row` in column `name`; empty when the column or the cell is absent.
    std::string_view cell(const CsvRow& row, std::string_view name) const;

private:
    std::vector<std::string> header_;
    std::vector<CsvRow> rows_;
    std::string place_;
};

}  // namespace versus::base
