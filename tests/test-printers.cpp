// Every printer's output for a fixed record set, against golden files in tests/data/golden.
// VERSUS_UPDATE_GOLDEN=1 rewrites them (review the diff before committing).
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/printers.hpp"
#include "core/record.hpp"

using namespace versus::core;

namespace {

Record make(const std::string& workload, const std::string& key, std::vector<std::pair<std::string, Value>> params,
            std::vector<std::pair<std::string, Value>> metrics, const std::string& status, Value reason) {
    Record r;
    r.set("schema_version", int64_t{1});
    r.set("run_id", std::string("20261126T000000Z-abcdef"));
    r.set("time", std::string("2026-11-26T00:00:00Z"));
    r.set("versus_version", std::string("0.1.0"));
    r.set("build_type", std::string("Release"));
    r.set("host", std::string("box"));
    r.set("os", std::string("Debian GNU/Linux 12"));
    r.set("cpu", std::string("Test CPU"));
    r.set("gpu", Null{});
    r.set("backend", std::string("cpu"));
    r.set("device", std::string("Test CPU"));
    r.set("memory_kind", std::string("host"));
    r.set("workload", workload);
    r.set("key", key);
    for (auto& [k, v] : params) r.set(k, v);
    r.set("reps", int64_t{3});
    r.set("samples_ns", Samples{1000, 1010, 990});
    r.set("median_ns", 1000.0);
    r.set("mdape_pct", 1.0);
    r.set("unstable", false);
    for (auto& [k, v] : metrics) r.set(k, v);
    r.set("status", status);
    r.set("reason", reason);
    r.set("checksum", std::string("1.5e+03"));
    return r;
}

std::vector<Record> fixture() {
    return {
        make("gemm", "threads=2,dtype=f32,size=1024", {{"dtype", std::string("f32")}, {"threads", int64_t{2}}, {"size", int64_t{1024}}},
             {{"gflops", 180.25}, {"peak_pct", 78.5}}, "ok", Null{}),
        make("gemm", "threads=2,dtype=bf16,size=1024", {{"dtype", std::string("bf16")}, {"threads", int64_t{2}}, {"size", int64_t{1024}}},
             {{"gflops", 301.0}, {"peak_pct", 65.0}}, "ok", Null{}),
        make("gemm", "threads=2,dtype=fp8,size=1024", {{"dtype", std::string("fp8")}, {"threads", int64_t{2}}, {"size", int64_t{1024}}},
             {{"gflops", Null{}}, {"peak_pct", Null{}}}, "skipped", std::string("no CPU GEMM kernel for this dtype")),
        make("membw", "threads=2,op=triad,size_bytes=16384", {{"dtype", Null{}}, {"threads", int64_t{2}}, {"op", std::string("triad")}, {"size_bytes", int64_t{16384}}},
             {{"gbps", 250.5}}, "ok", Null{}),
        make("membw", "threads=2,op=triad,size_bytes=268435456", {{"dtype", Null{}}, {"threads", int64_t{2}}, {"op", std::string("triad")}, {"size_bytes", int64_t{268435456}}},
             {{"gbps", 41.75}}, "ok", Null{}),
    };
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void golden(Format f) {
    const std::string path = std::string(VERSUS_TEST_DATA) + "/golden/records." + std::string(format_name(f));
    const std::string got = render(fixture(), f);
    if (std::getenv("VERSUS_UPDATE_GOLDEN")) {
        std::ofstream(path) << got;
        GTEST_SKIP() << "golden file rewritten: " << path;
    }
    EXPECT_EQ(got, read(path)) << "golden mismatch for " << path;
}

}  // namespace

TEST(Printers, Table) { golden(Format::TABLE); }
TEST(Printers, Markdown) { golden(Format::MD); }
TEST(Printers, Csv) { golden(Format::CSV); }
TEST(Printers, Json) { golden(Format::JSON); }
TEST(Printers, Jsonl) { golden(Format::JSONL); }
TEST(Printers, Sql) { golden(Format::SQL); }

TEST(Printers, JsonKeepsSamplesAndRoundTrips) {
    const auto records = fixture();
    auto j = nlohmann::ordered_json::parse(render(records, Format::JSON));
    ASSERT_EQ(j.size(), records.size());
    EXPECT_EQ(j[0]["samples_ns"].size(), 3u);
    for (size_t i = 0; i < records.size(); ++i) {
        Record back = Record::from_json(j[i]);
        EXPECT_EQ(back.to_json().dump(), records[i].to_json().dump());
    }
}

TEST(Printers, QualityTableShowsPerplexityAndDivergence) {
    const std::vector<Record> rows = {make("quality", "type=q6_k", {{"type", std::string("q6_k")}},
                                           {{"tokens_per_s", 16.5}, {"ppl", 7.25}, {"kld_mean", 0.00038}, {"kld_p99", 0.00043},
                                            {"top1_agree_pct", 92.1}},
                                           "ok", Null{})};
    const std::string md = render(rows, Format::MD);
    for (const char* s : {"PPL", "KLD", "KLD p99", "top-1 %", "7.25", "0.00038", "92.1"})
        EXPECT_NE(md.find(s), std::string::npos) << s << " missing from\n" << md;
}

TEST(Printers, UnknownFormatIsUsageError) { EXPECT_ANY_THROW(parse_format("xml")); }
