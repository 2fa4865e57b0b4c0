// versus compare: matching records across machines, generations kept apart, ratios, predictions,
// numeric parity of generate runs, bad input, the HTML report, and the Markdown report of a fixed
// record set against tests/data/golden/compare.md (VERSUS_UPDATE_GOLDEN=1 rewrites it).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "core/record.hpp"
#include "llm/config.hpp"
#include "predict/throughput.hpp"
#include "report/audit.hpp"
#include "report/compare.hpp"
#include "report/machine-comparison.hpp"
#include "report/html.hpp"

using namespace versus;
using core::Null;
using core::Record;
using core::Samples;
using core::Value;

namespace {

struct Where {
    std::string host, backend, device, memory_kind, cpu, gpu;
};

const Where MAC_GPU{"mac", "metal", "Apple M2 Max", "unified", "Apple M2 Max (12 cores)", "Apple M2 Max (38-core GPU)"};
const Where MAC_CPU{"mac", "cpu", "Apple M2 Max", "unified", "Apple M2 Max (12 cores)", "Apple M2 Max (38-core GPU)"};
const Where BOX_CPU{"box", "cpu", "AMD Ryzen 9 7950X", "host", "AMD Ryzen 9 7950X (16 cores)", ""};
const Where BOX_CUDA{"box", "cuda", "", "", "AMD Ryzen 9 7950X (16 cores)", ""};

// A record as the runner writes it: the common fields, the parameters, the measurement, the close.
Record make(const Where& at, const std::string& workload, std::vector<std::pair<std::string, Value>> params,
            std::vector<std::pair<std::string, Value>> metrics, const std::string& status = "ok",
            const std::string& reason = "", const std::string& version = "0.1.0", const std::string& time = "2026-11-26T00:00:00Z") {
    Record r;
    r.set("schema_version", int64_t{1});
    r.set("run_id", at.host + "-run");
    r.set("time", time);
    r.set("versus_version", version);
    r.set("build_type", std::string("Release"));
    r.set("host", at.host);
    r.set("os", at.host == "mac" ? std::string("macOS 15.1") : std::string("Debian GNU/Linux 12"));
    r.set("cpu", at.cpu);
    r.set("gpu", at.gpu.empty() ? Value{Null{}} : Value{at.gpu});
    r.set("backend", at.backend);
    r.set("device", at.device.empty() ? Value{Null{}} : Value{at.device});
    r.set("memory_kind", at.memory_kind.empty() ? Value{Null{}} : Value{at.memory_kind});
    r.set("workload", workload);
    std::string key;
    for (const auto& [k, v] : params) key += (key.empty() ? "" : ",") + k + "=" + core::format_value(v, 17);
    r.set("key", key);
    for (auto& [k, v] : params) r.set(k, v);
    if (status == "ok") {
        r.set("reps", int64_t{5});
        r.set("samples_ns", Samples{1000, 1010, 990, 1000, 1005});
        r.set("median_ns", 1000.0);
        r.set("mdape_pct", 1.0);
        r.set("unstable", false);
    }
    for (auto& [k, v] : metrics) r.set(k, v);
    if (!r.has("power_w")) {
        r.set("power_w", Null{});
        r.set("energy_j", Null{});
        r.set("energy_reason", at.host == "box" ? Value{std::string("no /sys/class/powercap (VM or container)")} : Value{Null{}});
    }
    r.set("status", status);
    r.set("reason", reason.empty() ? Value{Null{}} : Value{reason});
    if (!r.has("checksum")) r.set("checksum", Null{});
    return r;
}

std::vector<std::pair<std::string, Value>> gemm(const std::string& dtype, int64_t threads) {
    std::vector<std::pair<std::string, Value>> p;
    if (threads) p.emplace_back("threads", threads);
    p.emplace_back("dtype", dtype);
    p.emplace_back("size", int64_t{1024});
    return p;
}

std::vector<std::pair<std::string, Value>> membw(int64_t size, int64_t threads) {
    std::vector<std::pair<std::string, Value>> p;
    if (threads) p.emplace_back("threads", threads);
    p.emplace_back("op", std::string("triad"));
    p.emplace_back("size_bytes", size);
    return p;
}

std::vector<std::pair<std::string, Value>> llm_params(const std::string& phase, int64_t n, int64_t threads,
                                              const std::string& model = "small", const std::string& type = "q4_0") {
    std::vector<std::pair<std::string, Value>> p;
    if (threads) p.emplace_back("threads", threads);
    p.emplace_back("model", model);
    p.emplace_back("type", type);
    p.emplace_back("seed", int64_t{1});
    p.emplace_back("phase", phase);
    p.emplace_back(phase == "prefill" ? "n_prompt" : "n_gen", n);
    p.emplace_back("depth", int64_t{0});
    return p;
}

std::vector<std::pair<std::string, Value>> transfer(const std::string& mode, int64_t threads) {
    std::vector<std::pair<std::string, Value>> p;
    if (threads) p.emplace_back("threads", threads);
    p.emplace_back("direction", std::string("h2d"));
    p.emplace_back("mode", mode);
    p.emplace_back("size_bytes", int64_t{64} << 20);
    return p;
}

std::vector<std::pair<std::string, Value>> latency(int64_t threads) {
    std::vector<std::pair<std::string, Value>> p;
    if (threads) p.emplace_back("threads", threads);
    p.emplace_back("op", std::string("dispatch"));
    return p;
}

std::vector<std::pair<std::string, Value>> gflops(double g, double peak_pct) {
    return {{"flops", 2147483648.0}, {"bytes", 12582912.0}, {"gflops", g}, {"gbps", g * 12582912.0 / 2147483648.0},
            {"peak_pct", peak_pct}, {"peak_method", std::string("spec")}, {"checksum", std::string("1.5e+03")}};
}

std::vector<Record> mac_records() {
    return {
        make(MAC_GPU, "gemm", gemm("f32", 0), gflops(9000, 65)),
        make(MAC_GPU, "gemm", gemm("bf16", 0), gflops(14000, 50)),
        make(MAC_GPU, "gemm", gemm("fp8", 0), {}, "skipped", "metal: no fp8 GEMM on this GPU"),
        // STREAM triad counts 2 FLOPs per 24 bytes: the row is still a bandwidth.
        make(MAC_GPU, "membw", membw(int64_t{256} << 20, 0),
             {{"flops", 22369621.0}, {"bytes", 268435456.0}, {"gflops", 29.2}, {"gbps", 350.0}}),
        make(MAC_GPU, "membw", membw(16384, 0), {{"gbps", 120.0}}),
        make(MAC_GPU, "llm", llm_params("prefill", 128, 0),
             {{"flops", 2.6e10}, {"bytes", 7.2e7}, {"gflops", 3000.0}, {"gbps", 8.3}, {"tokens_per_s", 1500.0},
              {"ttft_ms", 85.3}, {"mfu_pct", 40.0}, {"bandwidth_gbps", 400.0}, {"power_w", 45.0}, {"energy_j", 3.8},
              {"energy_reason", Null{}}, {"checksum", std::string("5895")}}),
        make(MAC_GPU, "llm", llm_params("decode", 32, 0),
             {{"flops", 5.0e9}, {"bytes", 2.3e9}, {"gflops", 15.0}, {"gbps", 6.9}, {"tokens_per_s", 95.0},
              {"mbu_pct", 55.0}, {"bandwidth_gbps", 400.0}, {"power_w", 30.0}, {"energy_j", 10.1},
              {"energy_reason", Null{}}, {"checksum", std::string("a1b2c3d4e5f60718")}}),
        make(MAC_GPU, "transfer", transfer("zero-copy", 0), {{"bytes", 67108864.0}, {"gbps", 60.0}, {"latency_us", 1118.0}}),
        make(MAC_GPU, "transfer", transfer("pinned", 0), {}, "skipped",
             "unified memory: no host<->device copy exists (zero-copy); see the zero-copy rows"),
        make(MAC_GPU, "latency", latency(0), {{"latency_us", 8.0}}),
        make(MAC_CPU, "gemm", gemm("f32", 12), gflops(600, 80)),
    };
}

std::vector<Record> box_records() {
    return {
        make(BOX_CUDA, "gemm", {}, {}, "skipped", "cuda: not available (libversus-cuda.so not found)"),
        make(BOX_CUDA, "llm", {}, {}, "skipped", "cuda: not available (libversus-cuda.so not found)"),
        make(BOX_CPU, "gemm", gemm("f32", 8), gflops(800, 40)),
        make(BOX_CPU, "gemm", gemm("f32", 16), gflops(1400, 70)),
        make(BOX_CPU, "gemm", gemm("bf16", 16), gflops(1100, 27.5)),
        make(BOX_CPU, "gemm", gemm("fp8", 16), {}, "skipped", "no CPU GEMM kernel for this dtype"),
        make(BOX_CPU, "membw", membw(int64_t{256} << 20, 16), {{"gbps", 60.0}}),
        make(BOX_CPU, "membw", membw(16384, 16), {{"gbps", 900.0}, {"mdape_pct", 7.0}, {"unstable", true}}),
        make(BOX_CPU, "llm", llm_params("prefill", 128, 16),
             {{"flops", 2.6e10}, {"bytes", 7.2e7}, {"gflops", 600.0}, {"gbps", 1.7}, {"tokens_per_s", 300.0},
              {"ttft_ms", 426.7}, {"mfu_pct", 30.0}, {"bandwidth_gbps", 60.0}, {"checksum", std::string("5895")}}),
        make(BOX_CPU, "llm", llm_params("decode", 32, 16),
             {{"flops", 5.0e9}, {"bytes", 2.3e9}, {"gflops", 3.9}, {"gbps", 1.8}, {"tokens_per_s", 25.0},
              {"mbu_pct", 60.0}, {"bandwidth_gbps", 60.0}, {"checksum", std::string("a1b2c3d4e5f60718")}}),
        make(BOX_CPU, "llm", llm_params("decode", 32, 16, "llama-70b", "q8_0"), {}, "skipped", "needs 70.10 GiB, 58.40 GiB available"),
        make(BOX_CPU, "transfer", transfer("zero-copy", 16), {{"bytes", 67108864.0}, {"gbps", 20.0}, {"latency_us", 3355.0}}),
        make(BOX_CPU, "latency", latency(16), {{"latency_us", 2.0}}),
        // A newer versus on the same machine: its own generation, never matched with the rows above.
        make(BOX_CPU, "gemm", gemm("f32", 16), gflops(1500, 75), "ok", "", "0.2.0", "2026-11-27T00:00:00Z"),
    };
}

report::Inputs fixture_inputs() {
    report::Inputs in;
    for (auto& r : mac_records()) {
        in.records.push_back(r);
        in.record_files.push_back("mac.jsonl");
    }
    for (auto& r : box_records()) {
        in.records.push_back(r);
        in.record_files.push_back("box.jsonl");
    }
    in.files = {"mac.jsonl: 11 records", "box.jsonl: 14 records"};
    return in;
}

const report::Row* find_row(const report::Generation& g, const std::string& workload, const std::string& label) {
    for (const auto& r : g.rows)
        if (r.workload == workload && r.label == label) return &r;
    return nullptr;
}

int system_index(const report::Comparison& c, const std::string& label) {
    for (size_t i = 0; i < c.systems.size(); ++i)
        if (c.systems[i].label == label) return static_cast<int>(i);
    return -1;
}

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::filesystem::path tmpdir() {
    const auto d = std::filesystem::temp_directory_path() / ("versus-compare-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    return d;
}

std::string write_file(const std::string& name, const std::string& text) {
    const auto p = tmpdir() / name;
    std::ofstream(p) << text;
    return p.string();
}

std::string jsonl(const std::vector<Record>& records) {
    std::string out;
    for (const auto& r : records) out += r.to_json().dump() + "\n";
    return out;
}

struct Run {
    int code;
    std::string out, err;
};

Run run_versus(const std::string& args) {
    const auto dir = tmpdir();
    const std::string cmd = std::string(VERSUS_BINARY) + " " + args + " >" + (dir / "stdout").string() + " 2>" +
                            (dir / "stderr").string();
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read((dir / "stdout").string()), read((dir / "stderr").string())};
}

nlohmann::ordered_json generate_json(const std::vector<std::vector<std::pair<int, double>>>& steps) {
    nlohmann::ordered_json j;
    j["model"] = "tiny q8_0";
    j["prompt"] = {1, 415, 2211};
    nlohmann::ordered_json s = nlohmann::ordered_json::array();
    std::vector<int> tokens;
    for (const auto& top : steps) {
        nlohmann::ordered_json t5 = nlohmann::ordered_json::array();
        for (const auto& [id, logit] : top) t5.push_back({id, logit});
        s.push_back({{"id", top.front().first}, {"piece", "x"}, {"top5", t5}});
        tokens.push_back(top.front().first);
    }
    j["tokens"] = tokens;
    j["steps"] = s;
    return j;
}

}  // namespace

TEST(Compare, IdentityIgnoresWhereAndThreads) {
    const Record a = make(MAC_GPU, "gemm", gemm("f32", 0), gflops(1, 1));
    const Record b = make(BOX_CPU, "gemm", gemm("f32", 16), gflops(1, 1));
    const Record c = make(BOX_CPU, "gemm", gemm("bf16", 16), gflops(1, 1));
    EXPECT_EQ(report::test_identity(a), report::test_identity(b));
    EXPECT_NE(report::test_identity(b), report::test_identity(c));
    EXPECT_EQ(report::test_identity(a), "gemm|dtype=f32,size=1024");
    EXPECT_EQ(report::test_label(a), "dtype=f32 size=1024");
    EXPECT_EQ(report::test_label(make(BOX_CPU, "llm", llm_params("decode", 32, 16), {})), "small q4_0 tg32");
    EXPECT_EQ(report::test_label(make(BOX_CPU, "membw", membw(int64_t{256} << 20, 16), {})), "op=triad size=256M");
    // A GGUF file is the same test wherever it lies.
    Record g1 = make(MAC_GPU, "llm", {{"gguf", std::string("/Users/a/models/m.gguf")}, {"phase", std::string("decode")}}, {});
    Record g2 = make(BOX_CPU, "llm", {{"threads", int64_t{8}}, {"gguf", std::string("/home/b/m.gguf")}, {"phase", std::string("decode")}}, {});
    EXPECT_EQ(report::test_identity(g1), report::test_identity(g2));
}

TEST(Compare, MatchesTheSameTestAcrossMachines) {
    const auto c = report::compare(fixture_inputs(), {});
    ASSERT_GE(c.generations.size(), 1u);
    const auto& g = c.generations[0];
    EXPECT_EQ(g.versus_version, "0.1.0");
    const auto* f32 = find_row(g, "gemm", "dtype=f32 size=1024");
    ASSERT_NE(f32, nullptr);
    EXPECT_EQ(f32->ok_cells(), 3);  // mac metal, mac cpu, box cpu
    EXPECT_EQ(f32->unit, "GFLOP/s");
    const int mac = system_index(c, "mac metal"), box = system_index(c, "box cpu");
    ASSERT_GE(mac, 0);
    ASSERT_GE(box, 0);
    EXPECT_DOUBLE_EQ(f32->cells[mac].value, 9000);
    // The box ran a thread sweep: the best thread count is kept, and the cell says which.
    EXPECT_DOUBLE_EQ(f32->cells[box].value, 1400);
    EXPECT_EQ(f32->cells[box].note, "@16t");
    EXPECT_NEAR(f32->cells[box].error, 14, 1e-9);  // MdAPE 1%
    // Skipped everywhere: no comparison row (the support table says why).
    EXPECT_EQ(find_row(g, "gemm", "dtype=fp8 size=1024"), nullptr);
    // Numbered machines: those with a measurement, in order of appearance; the unavailable backend has none.
    EXPECT_EQ(c.systems[mac].number, 1);
    EXPECT_EQ(c.systems[system_index(c, "mac cpu")].number, 2);
    EXPECT_EQ(c.systems[box].number, 3);
    EXPECT_EQ(c.systems[system_index(c, "box cuda")].number, 0);
    EXPECT_EQ(c.baseline, mac);
}

TEST(Compare, LatestRecordPerThreadCountWins) {
    auto in = fixture_inputs();
    in.records.push_back(make(BOX_CPU, "gemm", gemm("f32", 16), gflops(1200, 60), "ok", "", "0.1.0", "2026-11-26T05:00:00Z"));
    in.record_files.push_back("box.jsonl");
    const auto c = report::compare(std::move(in), {});
    const auto* f32 = find_row(c.generations[0], "gemm", "dtype=f32 size=1024");
    ASSERT_NE(f32, nullptr);
    EXPECT_DOUBLE_EQ(f32->cells[system_index(c, "box cpu")].value, 1200);
}

TEST(Compare, VersionsAreNotMixed) {
    const auto c = report::compare(fixture_inputs(), {});
    ASSERT_EQ(c.generations.size(), 2u);
    EXPECT_EQ(c.generations[0].versus_version, "0.1.0");
    EXPECT_EQ(c.generations[1].versus_version, "0.2.0");
    ASSERT_EQ(c.generations[1].rows.size(), 1u);
    EXPECT_EQ(c.generations[1].rows[0].ok_cells(), 1);
    EXPECT_DOUBLE_EQ(c.generations[1].rows[0].cells[system_index(c, "box cpu")].value, 1500);
    const auto tables = report::comparison_tables(c);
    ASSERT_FALSE(tables.empty());
    EXPECT_NE(tables.back().title.find("0.2.0"), std::string::npos);
}

TEST(Compare, RatiosAgainstTheBaseline) {
    report::Options opt;
    opt.baseline = 3;  // box cpu
    const auto c = report::compare(fixture_inputs(), opt);
    EXPECT_EQ(c.systems[c.baseline].label, "box cpu");
    for (const auto& t : report::comparison_tables(c)) {
        if (t.id == "compare-1-gemm") {
            const auto col = std::find(t.header.begin(), t.header.end(), "[1]/[3]") - t.header.begin();
            ASSERT_LT(static_cast<size_t>(col), t.header.size());
            EXPECT_EQ(t.rows[0][col], "6.43x");  // 9000 / 1400
        }
        if (t.id == "compare-1-latency") {
            const auto col = std::find(t.header.begin(), t.header.end(), "[1]/[3]") - t.header.begin();
            ASSERT_LT(static_cast<size_t>(col), t.header.size());
            EXPECT_EQ(t.rows[0][col], "0.25x");  // a latency: 2 us / 8 us, times as fast
        }
    }
    opt.baseline = 9;
    EXPECT_THROW(report::compare(fixture_inputs(), opt), UsageError);
}

TEST(Compare, BoundFromTheRecords) {
    const auto c = report::compare(fixture_inputs(), {});
    const auto& g = c.generations[0];
    EXPECT_EQ(find_row(g, "llm", "small q4_0 tg32")->bound, "bandwidth (MBU 55-60%)");
    EXPECT_EQ(find_row(g, "llm", "small q4_0 pp128")->bound, "compute (MFU 30-40%)");
    EXPECT_EQ(find_row(g, "gemm", "dtype=f32 size=1024")->bound, "compute (65-80% of peak)");
    EXPECT_EQ(find_row(g, "latency", "op=dispatch")->bound, "overhead");
    EXPECT_EQ(find_row(g, "membw", "op=triad size=256M")->bound, "bandwidth");
}

TEST(Compare, PredictedColumnsUseThePredictor) {
    report::Options opt;
    opt.predict = {"rtx-4090"};
    const auto c = report::compare(fixture_inputs(), opt);
    ASSERT_EQ(c.platforms.size(), 1u);
    const auto& g = c.generations[0];
    const auto& p = c.platforms[0];

    predict::LlmQuery q;
    q.model_name = "small";
    q.model = llm::preset_config("small");
    q.ftype = llm::parse_file_type("q4_0");
    q.ftype.pure = true;
    q.n_prompt = 1;
    q.n_gen = 32;
    const auto pred = predict::predict_llm(p, q, predict::Calibration::builtin());
    const auto* decode = find_row(g, "llm", "small q4_0 tg32");
    ASSERT_TRUE(decode->predicted[0].value.has_value());
    EXPECT_DOUBLE_EQ(decode->predicted[0].value->value, pred.decode->tokens_per_s.value);
    EXPECT_FALSE(decode->predicted[0].bound.empty());
    EXPECT_TRUE(decode->predicted[0].joules_per_token.has_value());

    const auto* f32 = find_row(g, "gemm", "dtype=f32 size=1024");
    ASSERT_TRUE(f32->predicted[0].value.has_value());
    EXPECT_DOUBLE_EQ(f32->predicted[0].value->value, predict::predict_gemm(p, "f32").value.value);
    const auto* dram = find_row(g, "membw", "op=triad size=256M");
    ASSERT_TRUE(dram->predicted[0].value.has_value());
    EXPECT_DOUBLE_EQ(dram->predicted[0].value->value, predict::predict_bandwidth(p).value.value);
    const auto* cache = find_row(g, "membw", "op=triad size=16K");
    EXPECT_FALSE(cache->predicted[0].value.has_value());
    EXPECT_EQ(cache->predicted[0].note, "cache-sized");

    EXPECT_THROW(report::compare(fixture_inputs(), {{"no-such-gpu"}, 1}), UsageError);
}

TEST(Compare, HeadlineTablesComeFromTheData) {
    report::Options opt;
    opt.predict = {"rtx-4090"};
    const auto c = report::compare(fixture_inputs(), opt);
    std::map<std::string, report::Table> t;
    for (auto& x : report::headline_tables(c)) t[x.id] = x;
    ASSERT_EQ(t.size(), 8u);
    // The framework and product-need tables come with the headline tables, each need backed by the records.
    ASSERT_TRUE(t.count("frameworks") && t.count("needs-evidence"));
    bool bandwidth_from_dram = false;
    for (const auto& row : t["needs-evidence"].rows)
        for (const auto& cell : row)
            if (cell.find("measured: 350 GB/s") != std::string::npos) bandwidth_from_dram = cell.find("16384") == std::string::npos;
    EXPECT_TRUE(bandwidth_from_dram) << "the bandwidth need is judged at each machine's largest working set";
    // Architecture: bandwidth at the largest working set, the budget from a refusal, transfer modes.
    const auto& arch = t["architecture"];
    ASSERT_GE(arch.rows.size(), 4u);
    EXPECT_EQ(arch.rows[0][2], "350 (triad 256M)");
    EXPECT_EQ(arch.rows[0][4], "zero-copy 60 GB/s");
    EXPECT_EQ(arch.rows[2][3], "58.40 GiB (from a refusal)");
    EXPECT_NE(arch.rows.back()[0].find("rtx-4090"), std::string::npos);
    // Energy: power and J/token where measured, the reason where not.
    const auto& energy = t["energy"];
    bool found = false;
    for (const auto& row : energy.rows)
        for (const auto& cell : row) found = found || cell.find("30 W, 0.316 J/token") != std::string::npos;
    EXPECT_TRUE(found);
    bool reason = false;
    for (const auto& n : energy.notes) reason = reason || n.find("powercap") != std::string::npos;
    EXPECT_TRUE(reason);
    // Support: skipped rows with their reason, the unavailable backend for each variant.
    const auto& support = t["support"];
    bool fp8 = false, cuda = false;
    for (const auto& row : support.rows)
        for (const auto& cell : row) {
            fp8 = fp8 || cell == "skipped: no CPU GEMM kernel for this dtype";
            cuda = cuda || cell.find("cuda: not available") != std::string::npos;
        }
    EXPECT_TRUE(fp8);
    EXPECT_TRUE(cuda);
    // Needs: every cell names a figure.
    for (const auto& row : t["needs"].rows) {
        EXPECT_TRUE(row[1] == "-" || row[1].find_first_of("0123456789") != std::string::npos) << row[1];
        EXPECT_NE(row[4], "");
    }
}

TEST(Compare, GenerateParity) {
    const auto a = report::parse_generate(generate_json({{{5, 10.0}, {7, 9.0}, {9, 8.0}, {11, 7.0}, {13, 6.0}},
                                                         {{6, 12.0}, {8, 11.0}, {10, 9.0}, {12, 8.0}, {14, 7.0}},
                                                         {{3, 12.0}, {4, 11.9}, {10, 9.0}, {12, 8.0}, {14, 7.0}}}),
                                          "a.json");
    const auto same = report::compare_generate(a, a);
    EXPECT_EQ(same.top1_agree, 3u);
    EXPECT_EQ(same.first_divergence, -1);
    EXPECT_DOUBLE_EQ(same.max_abs_diff, 0);
    EXPECT_NEAR(same.kl_mean, 0, 1e-12);
    EXPECT_DOUBLE_EQ(same.top5_overlap, 1);

    const auto b = report::parse_generate(generate_json({{{5, 10.1}, {7, 9.0}, {9, 8.0}, {11, 7.0}, {13, 6.0}},
                                                         {{6, 12.0}, {8, 11.0}, {10, 9.0}, {12, 8.0}, {15, 7.5}},
                                                         {{4, 12.0}, {3, 11.9}, {10, 9.0}, {12, 8.0}, {14, 7.0}}}),
                                          "b.json");
    const auto p = report::compare_generate(a, b);
    EXPECT_EQ(p.steps, 3u);
    EXPECT_EQ(p.top1_agree, 2u);
    EXPECT_EQ(p.first_divergence, 2);
    EXPECT_EQ(p.compared_steps, 3u);
    EXPECT_NEAR(p.max_abs_diff, 0.1, 1e-9);
    EXPECT_GT(p.kl_mean, 0);
    EXPECT_GE(p.kl_max, p.kl_mean);
    EXPECT_LT(p.top5_overlap, 1);

    EXPECT_THROW(report::parse_generate(nlohmann::ordered_json{{"steps", 3}}, "x"), std::runtime_error);
}

TEST(Compare, ReadsEveryFormatAndReportsBadLines) {
    const auto mac = write_file("mac.jsonl", jsonl(mac_records()) + R"({"schema_version":1,"workload":"gemm","ho)" "\n");
    nlohmann::ordered_json arr = nlohmann::ordered_json::array();
    for (const auto& r : box_records()) arr.push_back(r.to_json());
    const auto box = write_file("box.json", arr.dump(2));
    const auto gen_a = write_file("gen-a.json", generate_json({{{5, 10.0}, {7, 9.0}}}).dump(2));
    const auto gen_b = write_file("gen-b.json", generate_json({{{5, 10.0}, {7, 9.5}}}).dump(2));
    const auto in = report::load_inputs({mac, box, gen_a, gen_b});
    EXPECT_EQ(in.records.size(), mac_records().size() + box_records().size());
    EXPECT_EQ(in.generate_runs.size(), 2u);
    ASSERT_EQ(in.problems.size(), 1u);
    EXPECT_NE(in.problems[0].find("mac.jsonl:12:"), std::string::npos) << in.problems[0];
    const auto c = report::compare(in, {});
    ASSERT_EQ(c.parity.size(), 1u);
    EXPECT_NEAR(c.parity[0].max_abs_diff, 0.5, 1e-12);
}

TEST(Compare, BadInputIsAUsageError) {
    EXPECT_THROW(report::load_inputs({}), UsageError);
    EXPECT_THROW(report::load_inputs({write_file("notes.txt", "hello\nworld\n")}), UsageError);
    Record future = make(MAC_GPU, "gemm", gemm("f32", 0), gflops(1, 1));
    future.set("schema_version", int64_t{99});
    const auto f = write_file("future.jsonl", jsonl({future}));
    try {
        report::load_inputs({f});
        FAIL() << "a file of records from the future was accepted";
    } catch (const UsageError& e) {
        EXPECT_NE(std::string(e.what()).find("update versus"), std::string::npos) << e.what();
    }
    // Beside readable records, the newer ones are skipped and said so.
    const auto in = report::load_inputs({f, write_file("ok.jsonl", jsonl(mac_records()))});
    EXPECT_EQ(in.records.size(), mac_records().size());
    ASSERT_EQ(in.problems.size(), 1u);
    EXPECT_NE(in.problems[0].find("schema version 99"), std::string::npos);
}

TEST(Compare, HtmlIsOneSelfContainedFile) {
    report::Options opt;
    opt.predict = {"rtx-4090", "m4-max-40c"};
    const auto c = report::compare(fixture_inputs(), opt);
    const std::string h = report::render_html(c);
    EXPECT_EQ(h.rfind("<!DOCTYPE html>", 0), 0u);
    for (const char* id : {"id=\"machines\"", "id=\"architecture\"", "id=\"performance\"", "id=\"energy\"",
                           "id=\"support\"", "id=\"needs\"", "id=\"charts\"", "id=\"side-by-side\"", "id=\"audit\"",
                           "id=\"versus-data\""})
        EXPECT_NE(h.find(id), std::string::npos) << id;
    // Nothing is fetched: no external scripts, styles or images.
    EXPECT_EQ(h.find("src=\"http"), std::string::npos);
    EXPECT_EQ(h.find("href=\"http"), std::string::npos);
    // Every <script> closes where it should: no "</script" inside one.
    size_t open = 0, close = 0;
    for (size_t p = h.find("<script"); p != std::string::npos; p = h.find("<script", p + 1)) ++open;
    for (size_t p = h.find("</script"); p != std::string::npos; p = h.find("</script", p + 1)) ++close;
    EXPECT_EQ(open, close);
    const bool charts = report::charts_compiled_in();
    EXPECT_NE(h.find(charts ? "<meta name=\"versus-charts\" content=\"yes\">" : "Charts unavailable"), std::string::npos);
    if (charts) {
        EXPECT_NE(h.find("id=\"roofline-1\""), std::string::npos);
    }
    // The chart data parses and holds the measured and predicted series.
    const size_t a = h.find('>', h.find("id=\"versus-data\"")) + 1, b = h.find("</script>", a);
    const auto data = nlohmann::json::parse(h.substr(a, b - a));
    EXPECT_EQ(data["tokens"]["labels"].size(), 2u);
    EXPECT_EQ(data["platforms"].size(), 2u);
    EXPECT_GE(data["rooflines"].size(), 2u);

    report::HtmlOptions tables_only;
    tables_only.charts = false;
    const std::string t = report::render_html(c, tables_only);
    EXPECT_NE(t.find("Charts unavailable"), std::string::npos);
    EXPECT_EQ(t.find("id=\"roofline-1\""), std::string::npos);
    // Text from the records is escaped.
    EXPECT_EQ(report::html_escape("<b>&\"'"), "&lt;b&gt;&amp;&quot;&#39;");
}

const report::Table& table_of(const std::vector<report::Table>& all, const std::string& id) {
    for (const auto& t : all)
        if (t.id == id) return t;
    throw std::runtime_error("no table " + id);
}

bool any_note(const report::Table& t, const std::string& part) {
    return std::any_of(t.notes.begin(), t.notes.end(), [&](const std::string& n) { return n.find(part) != std::string::npos; });
}

TEST(CompareCost, MeasuredAndPredictedRowsWithTheirInputs) {
    report::Options opt;
    opt.predict = {"rtx-4090", "h100-sxm", "m4-max-40c@128"};
    const auto c = report::compare(fixture_inputs(), opt);
    const auto t = table_of(report::headline_tables(c), "cost");
    std::map<std::string, std::vector<std::string>> by;  // machine -> row, for the decode test
    for (const auto& row : t.rows)
        if (row[0] == "small q4_0 tg32") by[row[1]] = row;
    // The Mac's metal device is the M2 Max (38-core GPU), priced at its largest configuration: by hand,
    // (2999 / (3 x 8760) + 30 W x 0.15 / 1000) / (95 x 3600) x 1e6 = 0.347 USD per million; 95 x 1000 / 2999 = 31.7.
    ASSERT_TRUE(by.count("[1] mac metal as m2-max-38c@96")) << t.rows.size();
    const auto& mac = by["[1] mac metal as m2-max-38c@96"];
    EXPECT_EQ(mac[2], "95 tokens/s");
    EXPECT_EQ(mac[3], "31.7");
    EXPECT_EQ(mac[4], "0.347");
    EXPECT_TRUE(any_note(t, "purchase 2999 USD")) << t.notes.front();
    EXPECT_TRUE(any_note(t, "30 W at 0.15 USD/kWh"));
    // Predicted platforms carry the prediction's range; a cloud part has no per-1000 figure.
    const std::string rtx = "rtx-4090@24 (predicted)", h100 = "h100-sxm@80 (predicted)";
    ASSERT_TRUE(by.count(rtx) && by.count(h100) && by.count("m4-max-40c@128 (predicted)"));
    EXPECT_NE(by[rtx][4].find('('), std::string::npos);
    EXPECT_EQ(by[h100][3], "-");
    EXPECT_TRUE(any_note(t, "cloud "));
    // Prefill rows are not generated tokens; the CPU box has no price, and says so.
    for (const auto& row : t.rows) EXPECT_EQ(row[0].find("pp128"), std::string::npos) << row[0];
    EXPECT_TRUE(any_note(t, "No cost for [3] box cpu: no launch or cloud price for ryzen-7950x"));
    // The predictor's own function gives the same figure for a predicted platform.
    const auto* decode = find_row(c.generations[0], "llm", "small q4_0 tg32");
    const auto want = predict::generated_tokens_cost(c.platforms[0], *decode->predicted[0].value,
                                                     decode->predicted[0].watts, c.cost);
    EXPECT_EQ(by[rtx][4], predict::format_estimate(want.figures[0].value));
    // JSON carries every entry with the figures and their inputs.
    const auto j = report::to_json(c);
    ASSERT_GE(j["cost"].size(), 4u);
    EXPECT_EQ(j["cost"][0]["figures"][0]["what"], "cost per million generated tokens");
}

TEST(CompareCost, CurrencyEnergyPriceAndBasisAreParameters) {
    report::Options opt;
    opt.predict = {"rtx-4090"};
    opt.cost.currency = predict::parse_currency("EUR=0.5");
    opt.cost.energy_price_per_kWh = 0;
    opt.cost.basis = predict::CostBasis::CLOUD;
    opt.cost.utilisation = 0.5;
    auto in = fixture_inputs();
    in.records.push_back(make(BOX_CPU, "train-resnet50", {{"threads", int64_t{16}}, {"dataset", std::string("cifar-10")}},
                              {{"images_per_s", 1.08}}));
    in.record_files.push_back("box.jsonl");
    const auto c = report::compare(std::move(in), opt);
    const auto t = table_of(report::headline_tables(c), "cost");
    EXPECT_EQ(t.header[4], "cost per million (EUR)");
    // A training row: the predictor's epoch time gives a cost per epoch.
    ASSERT_EQ(t.header[5], "cost per epoch (EUR)");
    EXPECT_TRUE(std::any_of(t.rows.begin(), t.rows.end(), [](const auto& r) {
        return r[0].starts_with("train-resnet50") && r[1] == "rtx-4090@24 (predicted)" && r[5] != "-";
    }));
    ASSERT_FALSE(t.rows.empty());
    EXPECT_TRUE(any_note(t, "EUR/GPU-hour"));
    EXPECT_TRUE(any_note(t, "at 50% use"));
    // The Mac has no cloud price: it says so instead of a figure.
    EXPECT_TRUE(any_note(t, "no cloud price for m2-max-38c"));
    const auto bad = report::compare(fixture_inputs(), {{}, 1, {predict::CostBasis::AUTO, {}, 0.15, 0.0, 3}});
    EXPECT_THROW(report::headline_tables(bad), UsageError);
}

TEST(CompareCost, MeasuredPlatformByDeviceName) {
    EXPECT_EQ(report::measured_platform("cuda", "NVIDIA GeForce RTX 4090")->id, "rtx-4090");
    EXPECT_EQ(report::measured_platform("metal", "Apple M2 Max")->id, "m2-max-38c");
    // The CPU backend on a Mac names the chip: never a measurement of its GPU.
    EXPECT_FALSE(report::measured_platform("cpu", "Apple M2 Max").has_value());
    EXPECT_FALSE(report::measured_platform("cpu", "Intel(R) Xeon(R) Platinum 8375C").has_value());
    EXPECT_FALSE(report::measured_platform("cuda", "").has_value());
}

TEST(CompareCaution, FromRecordsRunContextAndProbe) {
    // The fixture: release builds, one unstable row on the box, no run context.
    auto c = report::compare(fixture_inputs(), {});
    const int box = system_index(c, "box cpu"), mac = system_index(c, "mac metal");
    EXPECT_NE(c.systems[box].caution.find("1 of 10 rows unstable"), std::string::npos) << c.systems[box].caution;
    EXPECT_EQ(c.systems[mac].caution, "VM and load at run time not recorded");
    // The probe of this machine says it is a VM: results of its host name are known to be.
    report::HostFindings here;
    here.host = "box";
    here.vm = true;
    here.vm_kind = "kvm";
    report::Options opt;
    opt.here = &here;
    c = report::compare(fixture_inputs(), opt);
    EXPECT_EQ(c.systems[box].caution, "virtual machine (kvm, probed now on this host); 1 of 10 rows unstable (MdAPE "
                                      "above 5%); load at run time not recorded");
    EXPECT_EQ(c.systems[mac].caution.find("virtual machine"), std::string::npos);
    // The report `versus run` writes beside its results: its warnings, without their advice; a debug build.
    auto records = box_records();
    for (auto& r : records) {
        r.set("run_id", std::string("run-42"));
        r.set("build_type", std::string("Debug"));
    }
    const auto path = write_file("ctx.jsonl", jsonl(records));
    write_file("ctx.md", "# versus run run-42\n\n- **versus**: 0.1.0 (Debug, gcc)\n- **load**: 3.10 2.00 1.00\n"
                         "- **warning**: not a Release build (Debug): timings are not representative\n"
                         "- **warning**: busy machine: load average 3.10 on 2 threads; close other programs\n"
                         "- **warning**: virtual machine (kvm): shared hosts drift; compare ratios\n\n# results\n"
                         "- **warning**: not part of the block\n");
    auto in = report::load_inputs({path});
    ASSERT_EQ(in.run_contexts.size(), 1u);
    EXPECT_EQ(in.run_contexts[0].run_id, "run-42");
    c = report::compare(std::move(in), opt);
    const auto& s = c.systems[system_index(c, "box cpu")].caution;
    EXPECT_EQ(s, "a Debug build; busy machine: load average 3.10 on 2 threads; virtual machine (kvm); 1 of 10 rows "
                 "unstable (MdAPE above 5%)");
    // A report of another run, or none at all: nothing read.
    write_file("ctx.md", "# versus run run-7\n- **warning**: virtual machine (kvm): x\n");
    EXPECT_TRUE(report::load_inputs({path}).run_contexts.empty());
    EXPECT_FALSE(report::read_run_context((tmpdir() / "missing.md").string()).has_value());
    // Every output says it: the machines table's notes, the HTML context card.
    const auto m = report::machines_table(c);
    EXPECT_TRUE(any_note(m, "Caution for [1] box cpu: a Debug build")) << m.notes.back();
    EXPECT_NE(report::render_html(c).find("<p class=\"caution\">Caution: a Debug build; busy machine"), std::string::npos);
}

TEST(CompareHtml, SortableTablesAndChartDataTables) {
    report::Options opt;
    opt.predict = {"rtx-4090"};
    const auto c = report::compare(fixture_inputs(), opt);
    const std::string h = report::render_html(c);
    // Every table sorts; the sorting script and the self-check the browser test reads are inline.
    EXPECT_EQ(h.find("<table>"), std::string::npos);
    EXPECT_NE(h.find("<table class=\"sortable\">"), std::string::npos);
    EXPECT_NE(h.find("window.versusSelfTest"), std::string::npos);
    EXPECT_NE(h.find("id=\"cost\""), std::string::npos);
    if (report::charts_compiled_in()) {
        size_t charts = 0, data = 0;
        for (size_t p = h.find("<div class=\"chart\">"); p != std::string::npos; p = h.find("<div class=\"chart\">", p + 1)) {
            ++charts;
            // The data table follows its chart directly.
            const std::string next = "</div>\n<details class=\"chart-data\">";
            if (h.compare(h.find("</div>", p), next.size(), next) == 0) ++data;
        }
        EXPECT_GE(charts, 4u);
        EXPECT_EQ(data, charts);
    }
    // A bar chart's table: one column per series, predictions with their range.
    const auto spec = nlohmann::ordered_json::parse(
        R"J({"unit":"tokens/s","labels":["tg32","pp128"],"series":[{"name":"[1] mac","values":[95.0,null]},)J"
        R"J({"name":"x (predicted)","values":[100.0,2000.0],"low":[80.0,1500.0],"high":[120.0,2500.0]}]})J");
    const auto t = report::detail::bar_chart_table(spec, "tokens per second");
    ASSERT_EQ(t.header.size(), 3u);
    EXPECT_EQ(t.header[2], "x (predicted) (tokens/s)");
    EXPECT_EQ(t.rows[0][1], "95");
    EXPECT_EQ(t.rows[1][1], "-");
    EXPECT_EQ(t.rows[1][2], "2000 (1500-2500)");
    // A roofline's table: the points with their intensity and bandwidth, the roofs with their ridge.
    report::DeviceRoofline d{"[1] mac", 0, {{10.0, 500.0, "gemm"}}, {"mac", 1000.0, 100.0, "measured"}};
    const auto r = report::detail::roofline_table(d, {{"rtx-4090", 82580.0, 1008.0, "spec"}});
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[0][3], "50");
    EXPECT_EQ(r.rows[1][1], "10 (ridge)");
    EXPECT_EQ(r.rows[2][0], "roof of rtx-4090");
}

TEST(Compare, GoldenMarkdown) {
    const std::string path = std::string(VERSUS_TEST_DATA) + "/golden/compare.md";
    const std::string got = report::render_text(report::compare(fixture_inputs(), {}), true);
    if (std::getenv("VERSUS_UPDATE_GOLDEN")) {
        std::ofstream(path) << got;
        GTEST_SKIP() << "golden file rewritten: " << path;
    }
    EXPECT_EQ(got, read(path)) << "golden mismatch for " << path;
}

TEST(Compare, CommandLine) {
    auto r = run_versus("compare");
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;

    r = run_versus("compare " + write_file("garbage.txt", "not,a,results,file\n1,2,3,4\n"));
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("HINT"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());

    const auto mac = write_file("cli-mac.jsonl", jsonl(mac_records()));
    const auto box = write_file("cli-box.jsonl", jsonl(box_records()) + "{\"trunc");
    r = run_versus("compare " + mac + " " + box + " --predict rtx-4090 -o md");
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("## Side by side: gemm"), std::string::npos);
    EXPECT_NE(r.out.find("rtx-4090 (predicted)"), std::string::npos);
    EXPECT_NE(r.err.find("cli-box.jsonl:15:"), std::string::npos) << r.err;

    const auto html = (tmpdir() / "report.html").string();
    r = run_versus("compare " + mac + " " + box + " --html " + html);
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(read(html).find("</html>"), std::string::npos);

    r = run_versus("compare " + mac + " -o json");
    EXPECT_EQ(r.code, 0) << r.err;
    const auto j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["machines"].size(), 2u);

    r = run_versus("compare " + mac + " --baseline 7");
    EXPECT_EQ(r.code, 2);
    r = run_versus("compare " + mac + " -o xml");
    EXPECT_EQ(r.code, 2);
}

TEST(MachineComparison, BandwidthIsTheDramSizedTriad) {
    // `versus run` measures the triad from 16 KiB (an L1 figure, several times DRAM's) to a DRAM-sized set:
    // beside other machines' predicted DRAM bandwidth only the largest working set means the same thing.
    auto triad = [](int64_t size, double gbps) {
        Record r;
        r.set("workload", std::string("membw"));
        r.set("op", std::string("triad"));
        r.set("size_bytes", size);
        r.set("gbps", gbps);
        r.set("status", std::string("ok"));
        return r;
    };
    const std::vector<Record> records = {triad(16 << 10, 309.0), triad(int64_t{256} << 20, 17.08),
                                         triad(int64_t{4} << 20, 95.0)};
    const std::string table = report::machine_comparison(records, {"rtx-4090"}, false);
    EXPECT_NE(table.find("triad, 256M working set"), std::string::npos) << table;
    EXPECT_NE(table.find("17.1"), std::string::npos) << table;
    EXPECT_EQ(table.find("309"), std::string::npos) << table;
}
