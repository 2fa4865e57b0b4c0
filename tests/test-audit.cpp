// The claims audit: the compiled-in claims table holds every claim once, the verdicts for fixed inputs
// (the built-in specs and predictor, a few records built here) are the expected ones, and the command
// prints one JSON row per claim.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/record.hpp"
#include "report/audit.hpp"

namespace {

using versus::core::Record;
using versus::report::AuditInput;
using versus::report::Claim;
using versus::report::Verdict;

const Claim& claim(const std::string& id) {
    for (const auto& c : versus::report::builtin_claims())
        if (c.id == id) return c;
    throw std::runtime_error("no claim " + id);
}

versus::report::AuditRow audit(const std::string& id, const std::vector<Record>* records) {
    AuditInput in;
    in.records = records;
    in.store = "results.jsonl";
    return versus::report::audit_claim(claim(id), in);
}

// A completed row as the runner writes it, reduced to the fields the audit reads.
Record row(const std::string& device, const std::string& backend, const std::string& workload,
           const std::vector<std::pair<std::string, versus::core::Value>>& fields) {
    Record r;
    r.set("host", std::string("test-host"));
    r.set("backend", backend);
    r.set("device", device);
    r.set("workload", workload);
    for (const auto& [k, v] : fields) r.set(k, v);
    r.set("status", std::string("ok"));
    return r;
}

Record decode_row(const std::string& device, const std::string& type, double tokens_per_s, double watts) {
    return row(device, "gpu", "llm",
               {{"phase", std::string("decode")}, {"model", std::string("llama-7b")}, {"type", type},
                {"tokens_per_s", tokens_per_s}, {"power_w", watts > 0 ? versus::core::Value{watts} : versus::core::Value{}}});
}

}  // namespace

TEST(Audit, EveryClaimIsInTheDataOnce) {
    const auto& claims = versus::report::builtin_claims();
    std::map<std::string, int> seen;
    for (const auto& c : claims) {
        ++seen[c.id];
        EXPECT_FALSE(c.text.empty()) << c.id;
        EXPECT_FALSE(c.dimension.empty()) << c.id;
    }
    EXPECT_EQ(claims.size(), 22u);
    for (int i = 1; i <= 22; ++i) {
        std::string id = "C";  // appended, not "C" + ...: GCC 12 warns falsely (-Wrestrict) on that form
        id += std::to_string(i);
        EXPECT_EQ(seen[id], 1) << id;
    }
}

TEST(Audit, ParseRejectsBadRows) {
    const std::string header = "id,claim,dimension,kind,test,quantity,platforms,low,high,unit,better,model,types,datasets,params,note\n";
    const std::string good = "C1,x,bandwidth,range,spec-max,mem_bw_GBps,rtx-4090,1000,1000,GB/s,higher,,,,,\n";
    EXPECT_EQ(versus::report::parse_claims(header + good, "t.csv").size(), 1u);
    EXPECT_THROW(versus::report::parse_claims(header + good + good, "t.csv"), std::logic_error);  // the same id twice
    EXPECT_THROW(versus::report::parse_claims(header + "C2,x,b,guess,spec-max,mem_bw_GBps,rtx-4090,1,1,GB/s,higher,,,,,\n", "t.csv"),
                 std::logic_error);  // unknown kind
    EXPECT_THROW(versus::report::parse_claims(header + "C2,x,b,range,spec-max,mem_bw_GBps,rtx-9999,1,1,GB/s,higher,,,,,\n", "t.csv"),
                 std::logic_error);  // unknown platform
    EXPECT_THROW(versus::report::parse_claims(header + "C2,x,b,range,llm-decode,,rtx-4090,1,2,t/s,higher,llama-7b,q9_9,,,\n", "t.csv"),
                 std::logic_error);  // unknown format
}

TEST(Audit, VerdictsOnSpecsAndPredictions) {
    // No results store: specs and the predictor only.
    EXPECT_EQ(audit("C1", nullptr).verdict, Verdict::CONSISTENT);    // M4 Max 546 GB/s is the spec figure
    EXPECT_EQ(audit("C8", nullptr).verdict, Verdict::CONSISTENT);    // RTX 4090 450 W
    EXPECT_EQ(audit("C6", nullptr).verdict, Verdict::CONSISTENT);    // 3/4 of 128 GiB
    EXPECT_EQ(audit("C2", nullptr).verdict, Verdict::PESSIMISTIC);   // HBM parts reach several TB/s
    EXPECT_EQ(audit("C13", nullptr).verdict, Verdict::OPTIMISTIC);   // far more than 3x slower predicted
    EXPECT_EQ(audit("C7", nullptr).verdict, Verdict::CONSISTENT);    // only with a small data set
    EXPECT_EQ(audit("C19", nullptr).verdict, Verdict::QUALITATIVE);
    EXPECT_EQ(audit("C21", nullptr).verdict, Verdict::QUALITATIVE);
    EXPECT_EQ(audit("C15", nullptr).verdict, Verdict::NOT_TESTABLE);
    const auto c12 = audit("C12", nullptr);
    EXPECT_EQ(c12.verdict, Verdict::NOT_TESTABLE);  // power while generating needs a reading
    EXPECT_NE(c12.reasoning.find("no results store"), std::string::npos) << c12.reasoning;

    const auto c7 = audit("C7", nullptr);
    EXPECT_NE(c7.reasoning.find("imagenet-1k"), std::string::npos);
    EXPECT_NE(c7.reasoning.find("cifar-10"), std::string::npos);
    EXPECT_NE(c7.reasoning.find("predicted"), std::string::npos);
    // Every line is one line, and says where its figures come from.
    for (const auto& r : versus::report::audit_claims(versus::report::builtin_claims(), AuditInput{})) {
        EXPECT_EQ(r.reasoning.find('\n'), std::string::npos) << r.id;
        EXPECT_FALSE(r.reasoning.empty()) << r.id;
        if (r.verdict == Verdict::CONSISTENT || r.verdict == Verdict::OPTIMISTIC || r.verdict == Verdict::PESSIMISTIC) {
            EXPECT_FALSE(r.evidence.empty()) << r.id;
        }
    }
}

TEST(Audit, MeasuredRecordsDecide) {
    // Readings during decode on the two machines C12 names: about 50 W and more than 300 W hold.
    std::vector<Record> records = {decode_row("Apple M3 Max", "q4_0", 66, 48), decode_row("NVIDIA GeForce RTX 4090", "q4_0", 160, 340)};
    auto c12 = audit("C12", &records);
    EXPECT_EQ(c12.verdict, Verdict::CONSISTENT) << c12.reasoning;
    EXPECT_NE(c12.reasoning.find("measured"), std::string::npos);

    // A card drawing far less than claimed: the claim makes it look worse than it is.
    records = {decode_row("Apple M3 Max", "q4_0", 66, 48), decode_row("NVIDIA GeForce RTX 4090", "q4_0", 160, 200)};
    EXPECT_EQ(audit("C12", &records).verdict, Verdict::PESSIMISTIC);

    // Measured tokens/s replace the predictions: both formats faster than 30-40 t/s.
    records = {decode_row("Apple M3 Max", "q4_0", 90, 0), decode_row("Apple M3 Max", "q8_0", 60, 0)};
    const auto c9 = audit("C9", &records);
    EXPECT_EQ(c9.verdict, Verdict::PESSIMISTIC) << c9.reasoning;
    EXPECT_NE(c9.reasoning.find("90 (measured)"), std::string::npos) << c9.reasoning;

    // A bandwidth measured on the platform is shown beside the spec figure it is judged on.
    records = {row("Apple M4 Max", "metal", "membw", {{"op", std::string("triad")}, {"gbps", 460.0}})};
    const auto c1 = audit("C1", &records);
    EXPECT_EQ(c1.verdict, Verdict::CONSISTENT);
    EXPECT_NE(c1.reasoning.find("measured 460"), std::string::npos) << c1.reasoning;

    // This machine's transfer rows appear in the transfer claim.
    records = {row("cpu0", "cpu", "transfer",
                   {{"direction", std::string("h2d")}, {"mode", std::string("zero-copy")}, {"memory_kind", std::string("host")},
                    {"gbps", 12.5}})};
    const auto c17 = audit("C17", &records);
    EXPECT_EQ(c17.verdict, Verdict::CONSISTENT);
    EXPECT_NE(c17.reasoning.find("h2d zero-copy"), std::string::npos) << c17.reasoning;
}

TEST(Audit, CpuRowsNamedLikeAnAppleChipAreNotGpuMeasurements) {
    // On a Mac the CPU backend's device is the chip's name, which the spec database knows as the GPU
    // platform: those rows measure the CPU cores and must not decide a GPU claim.
    std::vector<Record> records = {row("Apple M3 Max", "cpu", "llm",
                                       {{"phase", std::string("decode")}, {"model", std::string("llama-7b")},
                                        {"type", std::string("q4_0")}, {"tokens_per_s", 90.0}, {"power_w", 48.0}})};
    const auto c9 = audit("C9", &records);
    EXPECT_EQ(c9.reasoning.find("(measured)"), std::string::npos) << c9.reasoning;
    records = {row("Apple M4 Max", "cpu", "membw", {{"op", std::string("triad")}, {"gbps", 120.0}})};
    const auto c1 = audit("C1", &records);
    EXPECT_EQ(c1.reasoning.find("measured 120"), std::string::npos) << c1.reasoning;
    // The same rows from a GPU backend are measurements of the platform.
    records = {row("Apple M4 Max", "metal", "membw", {{"op", std::string("triad")}, {"gbps", 120.0}})};
    EXPECT_NE(audit("C1", &records).reasoning.find("measured 120"), std::string::npos);
}

TEST(Audit, CliJsonHasOneRowPerClaim) {
    const auto dir = std::filesystem::temp_directory_path() / ("versus-audit-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto out = dir / "out.json";
    const std::string missing = (dir / "no-such-results.jsonl").string();
    const std::string cmd = std::string(VERSUS_BINARY) + " audit -o json --results " + missing + " >" + out.string() + " 2>/dev/null";
    const int status = std::system(cmd.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
    std::ifstream in(out);
    const auto j = nlohmann::json::parse(in);
    ASSERT_TRUE(j.is_array());
    EXPECT_EQ(j.size(), 22u);
    for (const auto& r : j) {
        EXPECT_TRUE(r.contains("id") && r.contains("claim") && r.contains("verdict") && r.contains("reasoning"));
    }
    const int bad = std::system((std::string(VERSUS_BINARY) + " audit -o xml >/dev/null 2>&1").c_str());
    ASSERT_TRUE(WIFEXITED(bad));
    EXPECT_EQ(WEXITSTATUS(bad), 2);
    std::filesystem::remove_all(dir);
}

TEST(Audit, ResultsFileWithoutARecordIsBadInput) {
    const auto dir = std::filesystem::temp_directory_path() / ("versus-audit-bad-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const auto err = dir / "err";
    for (const std::string& results : {std::string("/etc/passwd"), dir.string()}) {
        const int status = std::system(
            (std::string(VERSUS_BINARY) + " audit --results " + results + " >/dev/null 2>" + err.string()).c_str());
        ASSERT_TRUE(WIFEXITED(status)) << results;
        EXPECT_EQ(WEXITSTATUS(status), 2) << results;
        std::ifstream in(err);
        const std::string text(std::istreambuf_iterator<char>(in), {});
        EXPECT_NE(text.find("[" + results + "]"), std::string::npos) << text;
        EXPECT_NE(text.find("HINT"), std::string::npos) << text;
        EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
    }
    std::filesystem::remove_all(dir);
}
