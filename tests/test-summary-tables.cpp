// The comparison's summary tables as data: the compiled-in framework and need tables parse, with a
// source on every row; a bad file is refused naming its line; and each cell carries the figure that
// backs it — the best measured row per machine, a fused/naive ratio, a prediction with its range — or
// says there is no evidence and why.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "core/record.hpp"
#include "record-rows.hpp"
#include "report/summary-tables.hpp"

namespace {

using versus::core::Record;
using versus::core::Value;
using versus::report::PlatformFigure;

using versus::testing::ok_row;

// The figure cell of the row whose first column is `first`.
std::string figure(const versus::report::Table& t, const std::string& first) {
    const auto col = std::find(t.header.begin(), t.header.end(), "figure") - t.header.begin();
    for (const auto& r : t.rows)
        if (r[0] == first) return r[col];
    ADD_FAILURE() << "no row " << first;
    return {};
}

const std::string HEADER = "id,need,source,evidence,workload,match,ratio,field,unit,better,show,figure,figure_params,reason\n";

std::string parse_error(const std::string& csv) {
    try {
        versus::report::parse_summary_data(csv, "t.csv");
    } catch (const versus::UsageError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

TEST(SummaryTables, BuiltinTablesParseWithSources) {
    const auto& fw = versus::report::builtin_frameworks();
    std::vector<std::string> names;
    for (const auto& r : fw.rows) {
        names.push_back(r.cells.at(0));
        EXPECT_TRUE(r.source.starts_with("https://")) << r.id;
    }
    for (const char* want : {"cuDNN", "TensorRT", "FlashAttention", "bitsandbytes", "NCCL", "MLX", "Core ML / Neural Engine"})
        EXPECT_NE(std::find(names.begin(), names.end(), want), names.end()) << want;
    const auto& needs = versus::report::builtin_needs();
    EXPECT_GE(needs.rows.size(), 8u);
    for (const auto& r : needs.rows) EXPECT_FALSE(r.source.empty()) << r.id;
    // The tables render with no records and no predictions: every figure says why it is missing.
    for (const auto& t : versus::report::summary_tables({}, {}))
        for (const auto& r : t.rows) EXPECT_NE(r[r.size() - 2].find("no evidence here: "), std::string::npos) << r[0];
}

TEST(SummaryTables, BadFilesNameTheirLine) {
    const std::string good = "a,x,https://x,measured;predicted,llm,phase=decode,,tokens_per_s,t/s,higher,model,"
                             "llm_decode_tokens_per_s,model=llama-7b,why\n";
    EXPECT_EQ(versus::report::parse_summary_data(HEADER + good, "t.csv").rows.size(), 1u);
    EXPECT_NE(parse_error(HEADER + good + good).find("[t.csv:3] id 'a' appears twice"), std::string::npos);
    EXPECT_NE(parse_error(HEADER + "b,x,https://x,guessed,,,,,,,,,,why\n").find("[t.csv:2] b: unknown evidence 'guessed'"),
              std::string::npos);
    EXPECT_NE(parse_error(HEADER + "b,x,https://x,measured,llm,,,,,higher,,,,why\n").find("t.csv:2"), std::string::npos);  // no field
    EXPECT_NE(parse_error(HEADER + "b,x,https://x,predicted,,,,,,,,warp_speed,,why\n").find("figure 'warp_speed'"), std::string::npos);
    EXPECT_NE(parse_error(HEADER + "b,x,,none,,,,,,,,,,why\n").find("b has no source"), std::string::npos);
    EXPECT_NE(parse_error(HEADER + "b,x,https://x,ratio,attention,,impl=naive,median_ns,x,higher,,,,why\n").find("PARAM=NUMERATOR"),
              std::string::npos);
    EXPECT_NE(parse_error(HEADER + "b,x,https://x,none,,phase,,,,,,,,why\n").find("not key=value"), std::string::npos);
    EXPECT_NE(parse_error("id,need,source\nb,x,y\n").find("[t.csv:1] no column 'evidence'"), std::string::npos);
    EXPECT_NE(parse_error(HEADER + "b,x,\"https://x,none\n").find("t.csv:2"), std::string::npos);  // unterminated quote
    EXPECT_NE(parse_error(HEADER).find("holds no row"), std::string::npos);
}

TEST(SummaryTables, CellsCarryTheBackingFigure) {
    auto decode = [](const std::string& host, const std::string& backend, const std::string& device, double tps) {
        return ok_row(host, backend, device, "llm",
                   {{"phase", std::string("decode")}, {"model", std::string("llama-7b")}, {"type", std::string("q4_0")},
                    {"tokens_per_s", tps}});
    };
    auto attention = [](const std::string& impl, int64_t seq, double ns) {
        return ok_row("box", "cpu", "Intel Xeon", "attention",
                   {{"impl", impl}, {"phase", std::string("prefill")}, {"seq", seq}, {"median_ns", ns},
                    {"flops", static_cast<double>(seq * seq)},
                    {"key", "heads=32,impl=" + impl + ",phase=prefill,seq=" + std::to_string(seq)}});
    };
    const std::vector<Record> records = {decode("mac", "metal", "Apple M3 Max", 38.2), decode("mac", "metal", "Apple M3 Max", 30),
                                         decode("pc", "cuda", "NVIDIA GeForce RTX 4090", 150),
                                         attention("naive", 512, 4e6), attention("fused", 512, 2e6),
                                         attention("naive", 2048, 80e6), attention("fused", 2048, 20e6)};
    // A stand-in for the predictor: one platform with a fixed range for every figure.
    const versus::report::PredictedFigures predicted = [](const std::string&, const versus::report::KeyValues&) {
        return std::vector<PlatformFigure>{{"m4-max-40c@128", {45, 40, 50}}};
    };
    const auto tables = versus::report::summary_tables(records, predicted);
    ASSERT_EQ(tables.size(), 2u);
    const auto& needs = tables[1];
    const std::string llm = figure(needs, "privacy and local inference (chat on your own machine)");
    EXPECT_NE(llm.find("measured: 150 tokens/s on NVIDIA GeForce RTX 4090 (cuda, pc), model llama-7b, type q4_0; "
                       "38.2 tokens/s on Apple M3 Max (metal, mac)"),
              std::string::npos)
        << llm;
    EXPECT_NE(llm.find("predicted: m4-max-40c@128 45 (40-50) tokens/s"), std::string::npos) << llm;
    const std::string att = figure(needs, "long contexts (attention)");
    EXPECT_NE(att.find("4x faster fused on Intel Xeon (cpu, box), seq 2048"), std::string::npos) << att;  // the largest pair
    EXPECT_NE(figure(needs, "on-device apps (iPhone, iPad, Mac)").find("no evidence here: versus has no Core ML backend"),
              std::string::npos);
    EXPECT_NE(figure(needs, "models larger than a consumer card's VRAM").find("predicted: m4-max-40c@128"), std::string::npos);
    const auto& fw = tables[0];
    EXPECT_NE(figure(fw, "FlashAttention").find("4x faster fused"), std::string::npos);
    EXPECT_NE(figure(fw, "TensorRT").find("no evidence here: versus has no TensorRT path"), std::string::npos);
}

TEST(SummaryTables, PredictorFiguresForPlatforms) {
    const auto f = versus::report::predictor_figures({"m4-max-40c@128", "rtx-4090"});
    const auto decode = f("llm_decode_tokens_per_s", {{"model", "llama-7b"}, {"type", "q4_0"}});
    ASSERT_EQ(decode.size(), 2u);
    EXPECT_EQ(decode[0].platform, "m4-max-40c@128");
    EXPECT_GT(decode[1].value.value, decode[0].value.value);  // the 4090 decodes a 7B faster
    EXPECT_LE(decode[0].value.low, decode[0].value.value);
    EXPECT_EQ(f("nvlink_GBps", {}).size(), 0u);  // neither has NVLink
    EXPECT_GT(f("gpu_budget_GB", {})[0].value.value, 80);  // 3/4 of 128 GB and more
    EXPECT_ANY_THROW(versus::report::predictor_figures({"no-such-chip"}));
}
