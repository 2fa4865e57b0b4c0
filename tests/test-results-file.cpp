// The JSONL results store: round trip, append across runs, bad lines skipped and reported.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/error.hpp"
#include "core/results-file.hpp"

using namespace versus;
using namespace versus::core;

namespace {
std::filesystem::path temp_path(const std::string& name) {
    auto dir = std::filesystem::temp_directory_path() / ("versus-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir / name;
}
Record sample(int i) {
    Record r;
    r.set("schema_version", int64_t{1});
    r.set("workload", std::string("gemm"));
    r.set("key", "size=" + std::to_string(i));
    r.set("median_ns", 1234.5 + i);
    r.set("samples_ns", Samples{1, 2, 3});
    r.set("reason", Null{});
    r.set("unstable", true);
    return r;
}
}  // namespace

TEST(ResultsFile, RoundTripAndAppend) {
    const auto path = temp_path("rt/results.jsonl");
    std::filesystem::remove(path);
    {
        ResultsFile f(path);
        f.append(sample(1));
    }
    {
        ResultsFile f(path);  // a second run appends
        f.append(sample(2));
    }
    auto got = read_results(path);
    EXPECT_TRUE(got.problems.empty());
    ASSERT_EQ(got.records.size(), 2u);
    EXPECT_EQ(got.records[0].to_json().dump(), sample(1).to_json().dump());
    EXPECT_EQ(got.records[1].str("key"), "size=2");
}

TEST(ResultsFile, TruncatedAndForeignLinesAreSkippedAndReported) {
    const auto path = temp_path("bad.jsonl");
    std::ofstream(path) << sample(1).to_json().dump() << "\n"
                        << "{\"schema_version\":1,\"workl\n"
                        << "{\"hello\":1}\n"
                        << sample(2).to_json().dump() << "\n";
    auto got = read_results(path);
    EXPECT_EQ(got.records.size(), 2u);
    ASSERT_EQ(got.problems.size(), 2u);
    EXPECT_NE(got.problems[0].find(":2:"), std::string::npos);
    EXPECT_NE(got.problems[1].find("not a versus record"), std::string::npos);
}

TEST(ResultsFile, UnwritablePathIsUsageError) {
    EXPECT_THROW(ResultsFile("/proc/versus-cannot-write/results.jsonl"), UsageError);
    EXPECT_THROW(read_results("/nonexistent/versus.jsonl"), UsageError);
}
