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

// The headline value of a record for humans: ("GFLOP/s", 180.2) etc.; false if it has none.
bool headline(const Record& r, std::string* unit, double* value);

}  // namespace versus::core
