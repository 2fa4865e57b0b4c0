// printers: every output format reads only Records (record.hpp).
//   table  aligned text for a terminal, one table per workload; constant columns move to a
//          header line, values print as "median ± error"
//   md     the same as GitHub Markdown
//   csv    every field, one row per record (samples as a JSON array in one cell)
//   json   one array with raw samples;  jsonl  one record per line;  sql  CREATE TABLE + INSERTs
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/record.hpp"

namespace versus::core {

enum class Format { TABLE, MD, CSV, JSON, JSONL, SQL };

// Throws UsageError for unknown names.
Format parse_format(std::string_view name);
std::string_view format_name(Format f);

std::string render(const std::vector<Record>& records, Format f);

// A grid of cells as aligned text (two spaces between columns) or as a Markdown table; `right` marks the
// right-aligned (numeric) columns. Every table versus prints goes through this.
std::string render_grid(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right, bool md);

// The headline value of a record for humans: ("GFLOP/s", 180.2) etc.; false if it has none.
bool headline(const Record& r, std::string* unit, double* value);

}  // namespace versus::core
