// The claims audit: the compiled-in claims table holds every claim once, the verdicts for fixed inputs
// (the built-in specs and predictor, a few records built here) are the expected ones, and the command
// prints one JSON row per claim. Each verdict names the kind of evidence it used, and the claims about
// containers (C19), fused attention (C20), offload (C18), quantization quality (C22) and training (C7,
// C13) read the rows versus measures when the records hold them, and say what is missing when not.
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
#include "record-rows.hpp"
#include "report/audit.hpp"

namespace {

using versus::core::Record;
using versus::report::AuditInput;
using versus::report::Claim;
using versus::core::Value;
using versus::report::AuditRow;
using versus::report::EvidenceKind;
using versus::report::HostFindings;
using versus::report::Verdict;

const Claim& claim(const std::string& id) {
    for (const auto& c : versus::report::builtin_claims())
        if (c.id == id) return c;
    throw std::runtime_error("no claim " + id);
}

versus::report::AuditRow audit(const std::string& id, const std::vector<Record>* records,
                               const versus::report::HostFindings* here = nullptr) {
    AuditInput in;
    in.records = records;
    in.store = "results.jsonl";
    in.here = here;
    return versus::report::audit_claim(claim(id), in);
}

Record host_row(const std::string& host, const std::string& backend, const std::string& device, const std::string& workload,
                const std::vector<std::pair<std::string, versus::core::Value>>& fields) {
    return versus::testing::ok_row(host, backend, device, workload, fields);
}

Record row(const std::string& device, const std::string& backend, const std::string& workload,
           const std::vector<std::pair<std::string, versus::core::Value>>& fields) {
    return host_row("test-host", backend, device, workload, fields);
}

Record decode_row(const std::string& device, const std::string& type, double tokens_per_s, double watts) {
    return row(device, "gpu", "llm",
               {{"phase", std::string("decode")}, {"model", std::string("llama-7b")}, {"type", type},
                {"tokens_per_s", tokens_per_s}, {"power_w", watts > 0 ? versus::core::Value{watts} : versus::core::Value{}}});
}

bool has(const AuditRow& r, const std::string& text) { return r.reasoning.find(text) != std::string::npos; }

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

TEST(AuditEvidence, EachVerdictNamesItsKindOfEvidence) {
    // Specs and the predictor only; a claim with no figure at all says none.
    EXPECT_EQ(versus::report::evidence_kinds_text(audit("C8", nullptr)), "spec");
    EXPECT_EQ(versus::report::evidence_kinds_text(audit("C9", nullptr)), "predicted (with range)");
    EXPECT_EQ(versus::report::evidence_kinds_text(audit("C15", nullptr)), "none");

    // The same bandwidth row is measured here on its own machine and measured in the given results elsewhere.
    const std::vector<Record> records = {host_row("mac", "metal", "Apple M4 Max", "membw", {{"op", std::string("triad")}, {"gbps", 460.0}})};
    HostFindings mac;
    mac.host = "mac";
    HostFindings other;
    other.host = "elsewhere";
    EXPECT_EQ(audit("C1", &records, &mac).kinds().front(), EvidenceKind::MEASURED_HERE);
    EXPECT_EQ(audit("C1", &records, &other).kinds().front(), EvidenceKind::MEASURED_GIVEN);
    EXPECT_EQ(versus::report::evidence_kinds_text(audit("C1", &records)),
              "measured in the given results + predicted (with range) + spec");
    const auto j = versus::report::audit_json({audit("C1", &records, &mac)});
    EXPECT_EQ(j[0]["evidence_kind"], "measured here + predicted (with range) + spec");
    EXPECT_EQ(j[0]["evidence"][0]["kind"], "measured here");
    // The text table has the column.
    EXPECT_NE(versus::report::audit_table({audit("C1", &records, &mac)}, true).find("| evidence"), std::string::npos);
}

TEST(AuditEvidence, ContainersUseTheProbeAndTheRecords) {
    HostFindings here;
    here.host = "box";
    here.os = "Debian GNU/Linux 12";
    here.container = true;
    here.container_kind = "docker";
    here.container_markers = {"/.dockerenv"};
    here.gpu_statement = "none visible";
    auto c19 = audit("C19", nullptr, &here);
    EXPECT_EQ(c19.verdict, Verdict::QUALITATIVE);
    EXPECT_TRUE(has(c19, "docker container (/.dockerenv)")) << c19.reasoning;
    EXPECT_EQ(c19.kinds(), std::vector<EvidenceKind>{EvidenceKind::MEASURED_HERE});

    // A Linux container that ran rows on an NVIDIA GPU shows the claim's second half.
    std::vector<Record> records = {host_row("gpu-box", "cuda", "NVIDIA H100 80GB HBM3", "gemm", {{"container", std::string("docker")}})};
    c19 = audit("C19", &records);
    EXPECT_EQ(c19.verdict, Verdict::CONSISTENT) << c19.reasoning;
    EXPECT_TRUE(has(c19, "gpu-box")) << c19.reasoning;
    // A macOS container that reached the Apple GPU contradicts the first.
    records = {host_row("mac", "metal", "Apple M3 Max", "gemm", {{"container", true}, {"os", std::string("macOS 14.5")}})};
    EXPECT_EQ(audit("C19", &records).verdict, Verdict::PESSIMISTIC);
    // Without rows from containers, the line says so.
    records = {host_row("gpu-box", "cuda", "NVIDIA H100 80GB HBM3", "gemm", {})};
    c19 = audit("C19", &records);
    EXPECT_EQ(c19.verdict, Verdict::QUALITATIVE);
    EXPECT_TRUE(has(c19, "no row of results.jsonl says it ran in a container")) << c19.reasoning;
}

TEST(AuditEvidence, AttentionFusedAgainstNaive) {
    auto attention = [](const std::string& impl, int64_t seq, double ns, double scratch) {
        return host_row("box", "cpu", "Intel Xeon", "attention",
                   {{"impl", impl}, {"phase", std::string("prefill")}, {"seq", seq}, {"heads", int64_t{32}},
                    {"kv_heads", int64_t{8}}, {"head_dim", int64_t{128}}, {"median_ns", ns}, {"peak_scratch_bytes", scratch}});
    };
    const std::vector<Record> records = {attention("naive", 512, 4e6, 32e6), attention("fused", 512, 2e6, 1e6),
                                         attention("naive", 2048, 80e6, 512e6), attention("fused", 2048, 20e6, 1e6)};
    const auto c20 = audit("C20", &records);
    EXPECT_EQ(c20.verdict, Verdict::QUALITATIVE);
    EXPECT_TRUE(has(c20, "fused 4x the naive speed")) << c20.reasoning;  // the longest sequence measured both ways
    EXPECT_TRUE(has(c20, "512x less")) << c20.reasoning;
    EXPECT_EQ(c20.kinds(), std::vector<EvidenceKind>{EvidenceKind::MEASURED_GIVEN});
    EXPECT_TRUE(has(audit("C20", nullptr), "no attention rows")) << audit("C20", nullptr).reasoning;
}

TEST(AuditEvidence, OffloadSweepBesideThePrediction) {
    auto decode = [](int64_t layers, double tps) {
        return host_row("gpu-box", "cuda", "NVIDIA GeForce RTX 4090", "llm",
                   {{"phase", std::string("decode")}, {"model", std::string("llama-7b")}, {"type", std::string("q4_0")},
                    {"gpu_layers", layers}, {"tokens_per_s", tps}});
    };
    std::vector<Record> records = {decode(32, 150), decode(16, 40)};
    auto c18 = audit("C18", &records);
    EXPECT_EQ(c18.verdict, Verdict::CONSISTENT) << c18.reasoning;
    EXPECT_TRUE(has(c18, "16 layers 40 t/s (3.75x slower)")) << c18.reasoning;
    EXPECT_TRUE(has(c18, "(predicted)")) << c18.reasoning;
    // Offloading that costs nothing measured: the claim overstates the loss.
    records = {decode(32, 150), decode(16, 149)};
    EXPECT_EQ(audit("C18", &records).verdict, Verdict::PESSIMISTIC);
    EXPECT_TRUE(has(audit("C18", nullptr), "no measured --gpu-layers sweep"));
}

TEST(AuditEvidence, QuantizationQualityFromQualityRows) {
    auto quality = [](const std::string& type, double ppl_ratio, double top1) {
        return host_row("box", "cpu", "Intel Xeon", "quality",
                   {{"type", type}, {"gguf", "llama-7b-" + type + ".gguf"}, {"ppl", 6.0 * ppl_ratio}, {"ppl_ratio", ppl_ratio},
                    {"kld_mean", 0.02}, {"kld_p99", 0.3}, {"top1_agree_pct", top1}, {"tokens_scored", int64_t{1000}}});
    };
    std::vector<Record> records = {quality("q8_0", 1.002, 98.5), quality("q4_0", 1.04, 91)};
    auto c22 = audit("C22", &records);
    EXPECT_EQ(c22.verdict, Verdict::CONSISTENT) << c22.reasoning;
    EXPECT_TRUE(has(c22, "top-1 agreement 91.0%")) << c22.reasoning;
    EXPECT_TRUE(has(c22, "q4_0 3.56 GiB")) << c22.reasoning;  // what it saves stays in the line
    records = {quality("q8_0", 1.002, 98.5), quality("q4_0", 1.4, 70)};
    EXPECT_EQ(audit("C22", &records).verdict, Verdict::OPTIMISTIC);
    // One format measured, the other missing: judged on what is there, and the line names the gap.
    records = {quality("q8_0", 1.002, 98.5)};
    c22 = audit("C22", &records);
    EXPECT_EQ(c22.verdict, Verdict::CONSISTENT);
    EXPECT_TRUE(has(c22, "no quality row against a base for q4_0")) << c22.reasoning;
    c22 = audit("C22", nullptr);
    EXPECT_EQ(c22.verdict, Verdict::NOT_TESTABLE);
    EXPECT_TRUE(has(c22, "no quality row against a base for q8_0, q4_0")) << c22.reasoning;
}

TEST(AuditEvidence, TrainingRowsReplaceThePrediction) {
    auto train = [](const std::string& backend, const std::string& device, const std::string& dataset, double ips) {
        return host_row("box", backend, device, "train-resnet50",
                   {{"dataset", dataset}, {"images_per_s", ips}, {"mfu_pct", 40.0}, {"batch", int64_t{32}}});
    };
    std::vector<Record> records = {train("cuda", "NVIDIA GeForce RTX 4090", "imagenet-1k", 1500),
                                   train("metal", "Apple M3 Max", "imagenet-1k", 500)};
    const auto c13 = audit("C13", &records);
    EXPECT_TRUE(has(c13, "measured 500 img/s (MFU 40%)")) << c13.reasoning;
    EXPECT_TRUE(has(c13, ": 3x slower")) << c13.reasoning;
    EXPECT_FALSE(has(c13, "no measured train-resnet50 row")) << c13.reasoning;
    EXPECT_EQ(c13.kinds().front(), EvidenceKind::MEASURED_GIVEN);

    records = {train("cuda", "NVIDIA GeForce RTX 4090", "cifar-10", 3333)};
    const auto c7 = audit("C7", &records);
    EXPECT_TRUE(has(c7, "rtx-4090 15 s implies 3333 img/s, measured 3333 img/s")) << c7.reasoning;
    EXPECT_TRUE(has(c7, "no measured train-resnet50 row for rtx-4090 imagenet-1k")) << c7.reasoning;
    EXPECT_TRUE(has(audit("C13", nullptr), "no measured train-resnet50 row"));
}
