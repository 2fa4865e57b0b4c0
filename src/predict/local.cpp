#include "predict/local.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "core/results-file.hpp"
#include "predict/backtest.hpp"

namespace versus::predict {

namespace {

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

LocalCalibration calibrate_local(const std::vector<core::Record>& records, const std::string& host, double memory_GB) {
    std::vector<const core::Record*> llm;
    int threads = 0;
    for (const auto& r : records) {
        if (r.str("workload") != "llm" || r.str("status") != "ok" || r.str("backend") != "cpu" || r.str("host") != host)
            continue;
        if (!r.str("gguf").empty() || r.num("tokens_per_s") <= 0 || r.num("bandwidth_gbps") <= 0) continue;
        llm.push_back(&r);
        threads = std::max(threads, static_cast<int>(r.integer("threads")));
    }
    std::erase_if(llm, [&](const core::Record* r) { return r->integer("threads") != threads; });
    if (llm.empty())
        throw UsageError("calibrate", fmt::format("no llm rows of host '{}' in the results", host),
                         "run `versus run` or `versus bench llm` first");

    LocalCalibration out;
    out.host = host;
    out.threads = threads;
    Platform& p = out.platform;
    p.id = "local";
    p.name = llm.front()->str("cpu", "this machine") + fmt::format(" ({} threads, measured)", threads);
    p.vendor = "cpu";
    p.family = "local";
    p.device_kind = DeviceKind::CPU;
    p.memory_kind = MemoryKind::HOST;
    p.memory_GB = memory_GB;
    p.memory_options_GB = {memory_GB};
    p.source = "versus measurements on " + host;

    std::vector<double> bw, peak_f, peak_q;
    std::vector<BacktestRow> rows;
    for (const auto* r : llm) {
        bw.push_back(r->num("bandwidth_gbps"));
        BacktestRow b;
        try {
            b.query.model = llm::preset_config(r->str("model"));
            llm::FileType ft = llm::parse_file_type(r->str("type"));
            ft.pure = true;  // versus's synthetic models keep every matrix in the one type
            b.query.ftype = ft;
        } catch (const UsageError&) {
            continue;
        }
        b.phase = r->str("phase") == "prefill" ? Phase::PREFILL : Phase::DECODE;
        b.query.depth = r->integer("depth");
        b.query.n_prompt = b.phase == Phase::PREFILL ? r->integer("n_prompt") : 0;
        b.query.n_gen = b.phase == Phase::DECODE ? r->integer("n_gen") : 0;
        b.measured_tps = r->num("tokens_per_s");
        if (b.phase == Phase::PREFILL && r->num("mfu_pct") > 0) {
            const double mid = static_cast<double>(b.query.depth + b.query.n_prompt / 2);
            const double rate = b.measured_tps * llm::flops_per_token(b.query.model, static_cast<int64_t>(mid));
            (type_class(b.query.ftype) == "f16" ? peak_f : peak_q).push_back(rate / (r->num("mfu_pct") / 100.0));
        }
        rows.push_back(std::move(b));
    }
    p.mem_bw_GBps = median(bw);
    if (!peak_f.empty()) p.fp32_TFLOPS = median(peak_f) / 1e12;
    if (!peak_q.empty()) p.int8_TOPS = median(peak_q) / 1e12;
    if (!p.fp32_TFLOPS) p.fp32_TFLOPS = p.int8_TOPS ? *p.int8_TOPS / 4 : 0.0;
    for (auto& b : rows) b.spec = p;
    out.calibration = fit_calibration(rows, "local");
    out.n_rows = static_cast<int>(rows.size());
    return out;
}

std::filesystem::path default_calibration_path() { return core::default_results_path().parent_path() / "calibration.json"; }

void save_local(const LocalCalibration& c, const std::filesystem::path& path) {
    nlohmann::ordered_json j;
    const Platform& p = c.platform;
    j["host"] = c.host;
    j["threads"] = c.threads;
    j["rows"] = c.n_rows;
    j["name"] = p.name;
    j["memory_GB"] = p.memory_GB;
    j["mem_bw_GBps"] = p.mem_bw_GBps;
    j["fp32_TFLOPS"] = p.fp32_TFLOPS.value_or(0);
    j["int8_TOPS"] = p.int8_TOPS.value_or(0);
    j["calibration"] = c.calibration.to_csv();
    std::error_code ec;
    std::filesystem::create_directories(path.parent_path(), ec);
    const auto tmp = path.string() + ".tmp";
    {
        std::ofstream f(tmp);
        f << j.dump(2) << "\n";
        if (!f) throw UsageError(path.string(), "cannot write the calibration", "choose a writable path");
    }
    std::filesystem::rename(tmp, path);
}

LocalCalibration load_local(const std::filesystem::path& path) {
    std::ifstream f(path);
    if (!f) throw UsageError(path.string(), "no calibration of this machine", "run `versus run`, then `versus calibrate`");
    nlohmann::json j = nlohmann::json::parse(f, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("calibration") || !j["calibration"].is_string())
        throw UsageError(path.string(), "not a calibration file", "write it again with `versus calibrate`");
    LocalCalibration c;
    c.host = j.value("host", "");
    c.threads = j.value("threads", 0);
    c.n_rows = j.value("rows", 0);
    Platform& p = c.platform;
    p.id = "local";
    p.name = j.value("name", "this machine");
    p.vendor = "cpu";
    p.family = "local";
    p.device_kind = DeviceKind::CPU;
    p.memory_kind = MemoryKind::HOST;
    p.memory_GB = j.value("memory_GB", 0.0);
    p.memory_options_GB = {p.memory_GB};
    p.mem_bw_GBps = j.value("mem_bw_GBps", 0.0);
    p.fp32_TFLOPS = j.value("fp32_TFLOPS", 0.0);
    if (j.value("int8_TOPS", 0.0) > 0) p.int8_TOPS = j.value("int8_TOPS", 0.0);
    p.source = "versus measurements on " + c.host;
    c.calibration = Calibration::from_csv(j["calibration"].get<std::string>(), path.string());
    return c;
}

}  // namespace versus::predict
