// results-file: the append-only JSONL store of records (one record per line, flushed per row so
// an interrupted run keeps every completed row), and its reader.
#pragma once

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/record.hpp"

namespace versus::core {

// $XDG_DATA_HOME/versus/results.jsonl, else ~/.local/share/versus/results.jsonl.
std::filesystem::path default_results_path();

class ResultsFile {
public:
    // Creates parent folders and opens for append; throws UsageError naming the path if it cannot.
    explicit ResultsFile(const std::filesystem::path& path);
    void append(const Record& r);
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    std::unique_ptr<FILE, int (*)(FILE*)> f_;
};

struct ReadResult {
    std::vector<Record> records;
    std::vector<std::string> problems;  // "results.jsonl:17: truncated line (skipped)"
};

// Reads every record; malformed lines are skipped and reported, never fatal. Throws UsageError
// if the file cannot be opened.
ReadResult read_results(const std::filesystem::path& path);

}  // namespace versus::core
