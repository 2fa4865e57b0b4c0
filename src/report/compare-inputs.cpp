#include "report/compare.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>

#include "base/error.hpp"
#include "base/io.hpp"
#include "base/text.hpp"
#include "core/results-file.hpp"
#include "report/compare-detail.hpp"

namespace versus::report {

using core::Record;
using namespace detail;

namespace {

// Problems listed per file before the rest is summarised: a wrong file can have a million lines.
constexpr size_t MAX_PROBLEMS_PER_FILE = 20;

}  // namespace

GenerateRun parse_generate(const nlohmann::ordered_json& j, const std::string& file) {
    if (!j.is_object() || !j.contains("steps") || !j["steps"].is_array())
        throw std::runtime_error("no \"steps\" array: not a `versus generate -o json` output");
    GenerateRun g;
    g.file = file;
    if (j.contains("model") && j["model"].is_string()) g.model = j["model"].get<std::string>();
    if (j.contains("types") && j["types"].is_string()) g.types = j["types"].get<std::string>();
    if (j.contains("threads") && j["threads"].is_number_integer()) g.threads = j["threads"].get<int64_t>();
    auto ints = [](const nlohmann::ordered_json& a, const char* what) {
        std::vector<int64_t> out;
        if (a.is_null()) return out;
        if (!a.is_array()) throw std::runtime_error(fmt::format("\"{}\" is not an array", what));
        for (const auto& e : a) {
            if (!e.is_number_integer()) throw std::runtime_error(fmt::format("\"{}\" holds a non-integer", what));
            out.push_back(e.get<int64_t>());
        }
        return out;
    };
    g.prompt = ints(j.contains("prompt") ? j["prompt"] : nlohmann::ordered_json(), "prompt");
    g.tokens = ints(j.contains("tokens") ? j["tokens"] : nlohmann::ordered_json(), "tokens");
    size_t n = 0;
    for (const auto& s : j["steps"]) {
        if (!s.is_object() || !s.contains("id") || !s["id"].is_number_integer() || !s.contains("top5") ||
            !s["top5"].is_array())
            throw std::runtime_error(fmt::format("step {} has no integer \"id\" and \"top5\" list", n));
        GenerateRun::Step step;
        step.id = s["id"].get<int64_t>();
        for (const auto& t : s["top5"]) {
            if (!t.is_array() || t.size() != 2 || !t[0].is_number_integer() || !t[1].is_number())
                throw std::runtime_error(fmt::format("step {}: a top5 entry is not [token id, logit]", n));
            step.top5.emplace_back(t[0].get<int64_t>(), t[1].get<double>());
        }
        if (step.top5.empty()) throw std::runtime_error(fmt::format("step {}: empty top5", n));
        g.steps.push_back(std::move(step));
        ++n;
    }
    if (g.steps.empty()) throw std::runtime_error("no steps");
    return g;
}

Inputs load_inputs(const std::vector<std::string>& paths) {
    if (paths.empty())
        throw UsageError("compare", "no files to compare",
                         "give results files, e.g. versus compare mac.jsonl cuda.jsonl (written by versus run or "
                         "versus bench --out)");
    Inputs in;
    size_t future = 0;
    int64_t newest = 0;
    for (const auto& path : paths) {
        const std::string text = base::read_file(path, "give results files written by versus run or versus bench --out");
        std::vector<Record> records;
        std::vector<std::string> problems;
        size_t lines = 0;
        bool done = false;
        const size_t start = text.find_first_not_of(" \t\r\n");
        if (start == std::string::npos) {
            in.problems.push_back(path + ": empty file (skipped)");
            in.files.push_back(path + ": empty");
            continue;
        }
        // A whole-file JSON document: a generate output, or the array `-o json` prints. A JSONL file of
        // more than one line does not parse as one document and goes to the line reader.
        if (text[start] == '{' || text[start] == '[') {
            const auto j = nlohmann::ordered_json::parse(text, nullptr, false);
            if (!j.is_discarded() && j.is_object() && j.contains("steps")) {
                try {
                    in.generate_runs.push_back(parse_generate(j, path));
                    in.files.push_back(fmt::format("{}: versus generate output, {} steps", path,
                                                   in.generate_runs.back().steps.size()));
                } catch (const std::exception& e) {
                    in.problems.push_back(fmt::format("{}: not a versus generate output ({}) (skipped)", path, e.what()));
                    in.files.push_back(path + ": not understood");
                }
                continue;
            }
            if (!j.is_discarded() && j.is_array()) {
                done = true;
                for (size_t i = 0; i < j.size(); ++i) {
                    try {
                        Record r = Record::from_json(j[i]);
                        if (!r.has("schema_version") || !r.has("workload"))
                            problems.push_back(fmt::format("{}: element {}: not a versus record (skipped)", path, i));
                        else
                            records.push_back(std::move(r));
                    } catch (const std::exception& e) {
                        problems.push_back(fmt::format("{}: element {}: unreadable ({}) (skipped)", path, i, e.what()));
                    }
                }
                lines = j.size();
            }
        }
        if (!done) {
            auto rr = core::read_results(path);
            records = std::move(rr.records);
            problems = std::move(rr.problems);
            lines = records.size() + problems.size();
        }
        // Records of a newer schema may mean other things by the same names: never guessed at.
        size_t file_future = 0;
        std::vector<Record> kept;
        for (auto& r : records) {
            const int64_t v = r.integer("schema_version");
            if (v > core::SCHEMA_VERSION) {
                ++file_future;
                newest = std::max(newest, v);
            } else {
                kept.push_back(std::move(r));
            }
        }
        future += file_future;
        if (kept.empty() && file_future == 0) {
            in.problems.push_back(fmt::format("{}: not versus results (no record in {} line{}{}) (skipped)", path, lines,
                                              lines == 1 ? "" : "s",
                                              problems.empty() ? "" : "; first: " + problems.front()));
            in.files.push_back(path + ": not understood");
            continue;
        }
        for (size_t i = 0; i < problems.size() && i < MAX_PROBLEMS_PER_FILE; ++i) in.problems.push_back(problems[i]);
        if (problems.size() > MAX_PROBLEMS_PER_FILE)
            in.problems.push_back(fmt::format("{}: {} more lines skipped", path, problems.size() - MAX_PROBLEMS_PER_FILE));
        if (file_future)
            in.problems.push_back(fmt::format("{}: {} records of schema version {} skipped: this versus reads schema {}",
                                              path, file_future, newest, core::SCHEMA_VERSION));
        in.files.push_back(fmt::format("{}: {} records", path, kept.size()));
        // The report `versus run` writes beside its results file holds the context of its latest run.
        if (auto rc = read_run_context(std::filesystem::path(path).replace_extension(".md").string()))
            if (std::any_of(kept.begin(), kept.end(), [&](const Record& r) { return r.str("run_id") == rc->run_id; }) &&
                std::none_of(in.run_contexts.begin(), in.run_contexts.end(),
                             [&](const RunContext& o) { return o.run_id == rc->run_id; }))
                in.run_contexts.push_back(std::move(*rc));
        for (auto& r : kept) {
            in.records.push_back(std::move(r));
            in.record_files.push_back(basename_of(path));
        }
    }
    if (in.records.empty() && in.generate_runs.empty()) {
        std::string why;
        for (size_t i = 0; i < in.problems.size() && i < 3; ++i) why += (i ? "; " : "") + in.problems[i];
        if (future)
            throw UsageError("compare", "nothing to compare: " + why,
                             fmt::format("these results are of schema version {}; update versus to read them", newest));
        throw UsageError("compare", "nothing to compare: " + why,
                         "give JSONL results files written by versus run or versus bench --out, JSON from -o json, or "
                         "outputs of versus generate -o json");
    }
    return in;
}

}  // namespace versus::report
