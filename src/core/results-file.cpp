#include "core/results-file.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/io.hpp"
#include "base/text.hpp"

namespace versus::core {

std::filesystem::path default_results_path() {
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return std::filesystem::path(x) / "versus" / "results.jsonl";
    const char* home = std::getenv("HOME");
    return std::filesystem::path(home && *home ? home : ".") / ".local" / "share" / "versus" / "results.jsonl";
}

ResultsFile::ResultsFile(const std::filesystem::path& path) : path_(path), f_(nullptr, &std::fclose) {
    std::error_code ec;
    if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
    if (ec)
        throw UsageError(path.string(), "cannot create the folder: " + ec.message(),
                         "choose another place with --out");
    f_.reset(std::fopen(path.c_str(), "a"));
    if (!f_)
        throw UsageError(path.string(), std::string("cannot open for writing: ") + std::strerror(errno),
                         "choose a writable path with --out");
}

void ResultsFile::append(const Record& r) {
    const std::string line = r.to_json().dump() + "\n";
    if (std::fwrite(line.data(), 1, line.size(), f_.get()) != line.size() || std::fflush(f_.get()) != 0)
        throw std::runtime_error(fmt::format("[{}] write failed: {}", path_.string(), std::strerror(errno)));
}

ReadResult read_results(const std::filesystem::path& path) {
    const std::string text = base::read_file(path, "give a results file written by versus run or versus bench --out");
    ReadResult out;
    size_t lineno = 0;
    for (std::string_view line : base::split(text, '\n')) {
        ++lineno;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) continue;
        try {
            auto j = nlohmann::ordered_json::parse(line);
            Record r = Record::from_json(j);
            if (!r.has("schema_version") || !r.has("workload")) {
                out.problems.push_back(fmt::format("{}:{}: not a versus record (skipped)", path.string(), lineno));
                continue;
            }
            out.records.push_back(std::move(r));
        } catch (const std::exception& e) {
            out.problems.push_back(fmt::format("{}:{}: unreadable line skipped ({})", path.string(), lineno, e.what()));
        }
    }
    return out;
}

}  // namespace versus::core
