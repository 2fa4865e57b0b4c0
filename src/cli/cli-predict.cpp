#include "cli/cli-predict.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "base/io.hpp"
#include "cli/cli-cost.hpp"
#include "core/params.hpp"
#include "core/printers.hpp"
#include "core/results-file.hpp"
#include "llm/gguf.hpp"
#include "predict/backtest.hpp"
#include "predict/collective.hpp"
#include "predict/cost.hpp"
#include "predict/fit.hpp"
#include "predict/local.hpp"
#include "predict/split.hpp"
#include "predict/throughput.hpp"
#include "predict/training.hpp"
#include "system/sysinfo.hpp"

namespace versus::cli {

struct PredictCommands {
    CLI::App* predict = nullptr;
    CLI::App* calibrate = nullptr;
    // predict
    std::string model = "llama-7b", gguf, type = "q4_0", on, backtest, calibration, format = "table", set;
    std::string workload = "llm", dtype = "f16", dataset = "imagenet-1k", precision;
    int64_t seq = 1024;
    // several GPUs
    int gpus = 1;
    std::string system, size = "1G", split = "layer";
    int64_t micro_batch = 8;
    CLI::Option* model_opt = nullptr;
    int64_t n_prompt = 512, n_gen = 128, depth = 0, ctx = 0;
    double host_ram = 0, wired_limit = 0;
    // cost
    CostFlags cost;
    // calibrate
    std::string from, results, out;
};

namespace {

predict::Calibration chosen_calibration(const std::string& arg) {
    if (arg.empty()) return predict::Calibration::builtin();
    if (arg == "none") return predict::Calibration::none();
    return predict::Calibration::from_csv(base::read_file(arg), arg);
}

// A real file's shape and bytes: its own tensors, whatever mix of types they hold.
predict::LlmQuery query_from_gguf(const std::string& path) {
    const auto f = llm::GgufFile::open(path);
    predict::LlmQuery q;
    q.model = llm::config_from_gguf(f);
    q.model_name = q.model.name.empty() ? path : q.model.name;
    llm::WeightSummary w;
    std::map<llm::GgmlType, uint64_t> by_type;
    for (const auto& t : f.tensors()) {
        w.total_bytes += t.n_bytes;
        if (t.name == "token_embd.weight") w.embd_bytes = t.n_bytes;
        if (t.name == "output.weight") w.output_bytes = t.n_bytes;
        if (t.name.find("ffn_up") != std::string::npos) by_type[t.type] += t.n_bytes;
    }
    q.file_weights = w;
    // The format class the kernels see is the one of the bulk of the matrices.
    llm::GgmlType bulk = llm::GgmlType::F16;
    uint64_t most = 0;
    for (const auto& [t, b] : by_type)
        if (b > most) bulk = t, most = b;
    q.ftype = {std::string(llm::ggml_type_name(bulk)), bulk, false, true};
    return q;
}

// Cost lines after a platform's other lines, each naming its inputs.
void print_cost(const predict::CostReport& r, bool md) {
    for (const auto& line : predict::cost_lines(r)) std::cout << (md ? "  - " : "    ") << line << "\n";
}

std::vector<predict::Platform> parse_targets(const std::string& on) {
    std::vector<predict::Platform> out;
    std::stringstream list(on);
    for (std::string id; std::getline(list, id, ',');)
        out.push_back(id == "local" ? predict::load_local(predict::default_calibration_path()).platform
                                    : predict::resolve_platform(id));
    if (out.empty()) throw UsageError("--on", "no platform given", "e.g. --on rtx-4090,h100-sxm");
    return out;
}


// ---- several GPUs ---------------------------------------------------------------------------------------------

predict::Estimate scaled(const predict::Estimate& e, double k) { return {e.value * k, e.low * k, e.high * k}; }

std::string topology_text(const predict::Topology& t) {
    std::string s = t.nodes > 1 ? fmt::format("{} nodes x {} GPUs, {}", t.nodes, t.gpus_per_node, t.intra.name)
                                : fmt::format("{} GPUs, {}", t.gpus, t.intra.name);
    if (t.inter) s += " | " + t.inter->name;
    return s;
}

void print_rests_on(const std::string& id, const std::string& head, const std::vector<std::string>& rests_on, bool md) {
    std::cout << (md ? "\n- **" : "\n") << id << (md ? "**" : "") << (head.empty() ? "" : ": " + head) << "\n";
    for (const auto& r : rests_on) std::cout << (md ? "  - " : "    ") << r << "\n";
}

nlohmann::ordered_json est_json(const predict::Estimate& e) {
    return nlohmann::ordered_json{{"value", e.value}, {"low", e.low}, {"high", e.high}};
}

const predict::System* chosen_system(const PredictCommands& c) {
    return c.system.empty() ? nullptr : &predict::resolve_system(c.system);
}

// One all-reduce of --size per GPU on --gpus GPUs of each platform: ring and tree (the alpha-beta model).
int predict_allreduce_cmd(const PredictCommands& c, const std::vector<predict::Platform>& targets, bool md) {
    const double bytes = static_cast<double>(core::parse_size("--size", c.size));
    std::vector<predict::AllReducePrediction> preds;
    for (const auto& p : targets) preds.push_back(predict::predict_allreduce(p, c.gpus, bytes, chosen_system(c)));
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& a : preds)
            out.push_back({{"platform", a.platform_id}, {"gpus", a.topo.gpus}, {"nodes", a.topo.nodes},
                           {"gpus_per_node", a.topo.gpus_per_node}, {"topology", topology_text(a.topo)},
                           {"bytes", a.bytes}, {"ring_s", est_json(a.ring_s)}, {"tree_s", est_json(a.tree_s)},
                           {"best", predict::allreduce_algo_name(a.best)}, {"busbw_GBps", est_json(scaled(a.busbw_Bps, 1e-9))},
                           {"rests_on", a.rests_on}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& a : preds)
        rows.push_back({a.platform_id, topology_text(a.topo), predict::format_estimate(scaled(a.ring_s, 1e3)),
                        predict::format_estimate(scaled(a.tree_s, 1e3)), predict::allreduce_algo_name(a.best),
                        predict::format_estimate(scaled(a.busbw_Bps, 1e-9))});
    std::cout << (md ? "### " : "") << "predicted: all-reduce of " << c.size << " per GPU on " << c.gpus << " GPUs"
              << (md ? "\n\n" : "\n");
    std::cout << core::render_grid({"platform", "GPUs and links", "ring ms", "tree ms", "faster", "busbw GB/s"}, rows,
                                   {false, false, true, true, false, true}, md);
    for (const auto& a : preds) print_rests_on(a.platform_id, "", a.rests_on, md);
    return 0;
}

// Data-parallel training of a GPT-style model on --gpus GPUs: step time, tokens/s over all GPUs, scaling efficiency.
int predict_data_parallel_cmd(const PredictCommands& c, const std::vector<predict::Platform>& targets, bool md) {
    const std::string model = c.model_opt && c.model_opt->count() ? c.model : "gpt2-124m";
    std::vector<predict::DataParallelPrediction> preds;
    for (const auto& p : targets)
        preds.push_back(predict::predict_data_parallel(p, model, c.seq, c.micro_batch, c.gpus, chosen_system(c)));
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& d : preds)
            out.push_back({{"platform", d.platform_id}, {"gpus", d.topo.gpus}, {"topology", topology_text(d.topo)},
                           {"gradient_bytes", d.gradient_bytes}, {"compute_s", est_json(d.compute_s)},
                           {"allreduce_s", est_json(d.allreduce_s)}, {"step_s", est_json(d.step_s)},
                           {"tokens_per_s", est_json(d.tokens_per_s)},
                           {"scaling_efficiency", est_json(d.scaling_efficiency)}, {"rests_on", d.rests_on}});
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& d : preds)
        rows.push_back({d.platform_id, topology_text(d.topo), predict::format_estimate(scaled(d.compute_s, 1e3)),
                        predict::format_estimate(scaled(d.allreduce_s, 1e3)), predict::format_estimate(scaled(d.step_s, 1e3)),
                        predict::format_estimate(d.tokens_per_s), predict::format_estimate(scaled(d.scaling_efficiency, 100))});
    std::cout << (md ? "### " : "") << "predicted: data-parallel " << model << " training on " << c.gpus << " GPUs, "
              << c.micro_batch << " x " << c.seq << " tokens per GPU and step" << (md ? "\n\n" : "\n");
    std::cout << core::render_grid({"platform", "GPUs and links", "compute ms", "all-reduce ms", "step ms", "tokens/s",
                                    "scaling %"},
                                   rows, {false, false, true, true, true, true, true}, md);
    for (const auto& d : preds) print_rests_on(d.platform_id, "", d.rests_on, md);
    return 0;
}

// LLM inference with the layers split over --gpus GPUs of each platform (llama.cpp's -sm layer).
int predict_split_cmd(const PredictCommands& c, const predict::LlmQuery& q, const std::vector<predict::Platform>& targets,
                      const std::vector<predict::Calibration>& cals, const predict::PredictOptions& opt, bool md) {
    if (c.split != "layer")
        throw UsageError("--split", fmt::format("'{}' is not a split the predictor models", c.split),
                         "use --split layer (consecutive blocks on consecutive GPUs)");
    std::vector<predict::SplitPrediction> preds;
    for (size_t i = 0; i < targets.size(); ++i) preds.push_back(predict::predict_llm_split(targets[i], q, c.gpus, cals[i], opt));
    const std::string pp = fmt::format("pp{}", q.n_prompt), tg = fmt::format("tg{}", q.n_gen);
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (const auto& s : preds) {
            nlohmann::ordered_json j{{"platform", s.platform_id}, {"gpus", s.gpus},      {"model", q.model_name},
                                     {"type", q.ftype.name},      {"fits", s.fits},      {"placement", s.summary},
                                     {"link", s.link.name},       {"budget_bytes", s.budget_bytes}};
            if (s.prefill) {
                j["prefill_tokens_per_s"] = est_json(s.prefill->tokens_per_s);
                j["decode_tokens_per_s"] = est_json(s.decode->tokens_per_s);
            }
            j["rests_on"] = s.rests_on;
            out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& s : preds)
        rows.push_back({s.platform_id, fmt::format("{} x {}", s.gpus, s.link.name), s.fits ? "yes" : "no",
                        s.prefill ? predict::format_estimate(s.prefill->tokens_per_s) : "-",
                        s.decode ? predict::format_estimate(s.decode->tokens_per_s) : "-"});
    std::cout << (md ? "### " : "") << "predicted: " << q.model_name << " " << q.ftype.name << " " << pp << " " << tg
              << ", layers split over " << c.gpus << " GPUs" << (md ? "\n\n" : "\n");
    std::cout << core::render_grid({"platform", "GPUs", "fits", pp + " t/s", tg + " t/s"}, rows,
                                   {false, false, false, true, true}, md);
    for (const auto& s : preds) print_rests_on(s.platform_id, s.summary + " [" + s.budget_rule + "]", s.rests_on, md);
    return 0;
}

// A training prediction in predict_other's shape: --precision (default: mixed on GPUs, fp32 on CPUs), --gpus.
predict::ThroughputPrediction training_prediction(const PredictCommands& c, const predict::Platform& p, std::string* what) {
    const bool gpt = c.workload == "train-gpt";
    const std::string model = !gpt ? c.dataset : c.model_opt && c.model_opt->count() ? c.model : "gpt2-124m";
    predict::TrainingQuery q;
    q.model = predict::training_model(c.workload, model, gpt ? c.seq : 0);
    q.precision = !c.precision.empty() ? predict::parse_train_precision(c.precision)
                  : p.device_kind == predict::DeviceKind::CPU ? predict::TrainPrecision::FP32
                                                              : predict::TrainPrecision::MIXED;
    q.gpus = c.gpus;
    const auto cal = p.id == "local" ? predict::load_local(predict::default_calibration_path()).training
                                     : predict::TrainingCalibration::builtin();
    *what = fmt::format("{} training{} ({}{})", gpt ? model : "ResNet-50 on " + c.dataset,
                        gpt ? fmt::format(" at sequence {}", q.model.seq) : "", predict::train_precision_name(q.precision),
                        c.gpus > 1 ? fmt::format(", {} GPUs", c.gpus) : "");
    return predict::to_throughput(predict::predict_training(p, q, cal), q.model.unit);
}

// GEMM, bandwidth and training: one figure per platform, from spec peaks and assumed or calibrated shares of them.
int predict_other(const PredictCommands& c, const std::vector<predict::Platform>& targets, bool md) {
    if (c.workload == "allreduce") return predict_allreduce_cmd(c, targets, md);
    if (c.workload == "train-gpt" && c.gpus > 1) return predict_data_parallel_cmd(c, targets, md);
    std::vector<predict::ThroughputPrediction> preds;
    std::string what;
    for (const auto& p : targets) {
        if (c.workload == "gemm") {
            preds.push_back(predict::predict_gemm(p, c.dtype));
            what = c.dtype + " GEMM";
        } else if (c.workload == "membw") {
            preds.push_back(predict::predict_bandwidth(p));
            what = "memory bandwidth";
        } else if (c.workload == "train-resnet50" || c.workload == "train-gpt") {
            preds.push_back(training_prediction(c, p, &what));
        } else {
            throw UsageError("--workload", fmt::format("unknown workload '{}'", c.workload),
                             "llm, gemm, membw, train-resnet50, train-gpt or allreduce");
        }
    }
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        auto est = [](const predict::Estimate& e) { return nlohmann::ordered_json{{"value", e.value}, {"low", e.low}, {"high", e.high}}; };
        for (size_t i = 0; i < preds.size(); ++i) {
            const auto& t = preds[i];
            nlohmann::ordered_json j;
            j["platform"] = t.platform_id;
            j["workload"] = c.workload;
            j["unit"] = t.figure;
            j["value"] = est(t.value);
            if (t.epoch_s) j["epoch_s"] = est(*t.epoch_s);
            if (t.joules_per_op) j["joules_per_op"] = est(*t.joules_per_op);
            j["bound"] = t.bound;
            j["rests_on"] = t.rests_on;
            j["cost"] = predict::cost_json(predict::throughput_cost(targets[i], t, cost_options(c.cost)));
            out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }
    std::vector<std::string> header = {"platform", preds.front().figure, "epoch s", "J per op", "bound"};
    std::vector<std::vector<std::string>> rows;
    for (const auto& t : preds)
        rows.push_back({t.platform_id, predict::format_estimate(t.value), t.epoch_s ? predict::format_estimate(*t.epoch_s) : "-",
                        t.joules_per_op ? predict::format_estimate(*t.joules_per_op) : "-", t.bound});
    std::cout << (md ? "### " : "") << "predicted: " << what << (md ? "\n\n" : "\n");
    std::cout << core::render_grid(header, rows, {false, true, true, true, false}, md);
    for (size_t i = 0; i < preds.size(); ++i) {
        const auto& t = preds[i];
        std::cout << (md ? "\n- **" : "\n") << t.platform_id << (md ? "**\n" : "\n");
        for (const auto& r : t.rests_on) std::cout << (md ? "  - " : "    ") << r << "\n";
        print_cost(predict::throughput_cost(targets[i], t, cost_options(c.cost)), md);
    }
    return 0;
}

// A back-test's rows as JSON or a table, after their errors on stderr; exit 2 when no row could be evaluated.
template <typename Row>
int print_backtest(const PredictCommands& c, const std::vector<Row>& rows, bool md,
                   nlohmann::ordered_json (*json)(const std::vector<Row>&), std::string (*table)(const std::vector<Row>&, bool)) {
    int bad = 0;
    for (const auto& r : rows)
        if (!r.error.empty()) {
            ++bad;
            std::fprintf(stderr, "[%s:%d] %s\n", c.backtest.c_str(), r.line, r.error.c_str());
        }
    if (c.format == "json")
        std::cout << json(rows).dump(2) << "\n";
    else
        std::cout << table(rows, md);
    if (bad == static_cast<int>(rows.size())) {
        std::fprintf(stderr, "[%s] no row could be evaluated. HINT: see the errors above\n", c.backtest.c_str());
        return EXIT_USAGE;
    }
    return 0;
}

// Training rows (platform,workload,model,precision,batch,measured): one entry per row, then the summary.
int training_backtest(const PredictCommands& c, bool md) {
    auto rows = predict::parse_training_backtest(base::read_file(c.backtest), c.backtest, c.set);
    const auto cal = c.calibration == "none"   ? predict::TrainingCalibration{}
                     : c.calibration.empty() ? predict::TrainingCalibration::builtin()
                                               : predict::TrainingCalibration::from_csv(base::read_file(c.calibration), c.calibration);
    predict::evaluate_training_backtest(rows, cal);
    return print_backtest(c, rows, md, &predict::training_backtest_json, &predict::training_backtest_table);
}

// Each row of a back-test CSV (inference or training rows) predicted, with its error.
int predict_backtest(const PredictCommands& c, const predict::Calibration& cal, const predict::PredictOptions& opt, bool md) {
    const std::string text = base::read_file(c.backtest);
    if (predict::is_training_backtest(text)) return training_backtest(c, md);
    auto rows = predict::parse_backtest(text, c.backtest, c.set);
    predict::evaluate_backtest(rows, cal, opt);
    return print_backtest(c, rows, md, &predict::backtest_json, &predict::backtest_table);
}

int cmd_predict(const PredictCommands& c) {
    const auto cal = chosen_calibration(c.calibration);
    predict::PredictOptions opt;
    opt.host_ram_GB = c.host_ram;
    opt.apple_wired_limit_GB = c.wired_limit;
    const bool md = c.format == "md";
    if (c.format != "table" && c.format != "md" && c.format != "json")
        throw UsageError("-o", fmt::format("predict prints table, md or json, not '{}'", c.format), "use -o table, md or json");

    if (!c.backtest.empty()) return predict_backtest(c, cal, opt, md);
    if (c.on.empty()) throw UsageError("--on", "no platform given", "e.g. --on m2-ultra-76c@192,rtx-4090,h100-sxm (`versus specs list`)");
    if (c.workload != "llm") return predict_other(c, parse_targets(c.on), md);
    predict::LlmQuery q;
    if (!c.gguf.empty()) {
        q = query_from_gguf(c.gguf);
    } else {
        q.model_name = c.model;
        q.model = llm::preset_config(c.model);
        q.ftype = llm::parse_file_type(c.type);
    }
    q.n_prompt = c.n_prompt;
    q.n_gen = c.n_gen;
    q.depth = c.depth;
    q.n_ctx = c.ctx;

    std::vector<predict::Platform> targets;
    std::vector<predict::Calibration> cals;
    std::stringstream list(c.on);
    for (std::string id; std::getline(list, id, ',');) {
        if (id == "local") {
            auto l = predict::load_local(predict::default_calibration_path());
            targets.push_back(l.platform);
            cals.push_back(l.calibration);
        } else {
            targets.push_back(predict::resolve_platform(id));
            cals.push_back(cal);
        }
    }
    if (targets.empty()) throw UsageError("--on", "no platform given", "e.g. --on rtx-4090,h100-sxm");

    if (c.gpus > 1) return predict_split_cmd(c, q, targets, cals, opt, md);
    std::vector<predict::LlmPrediction> preds;
    for (size_t i = 0; i < targets.size(); ++i) preds.push_back(predict::predict_llm(targets[i], q, cals[i], opt));

    const std::string pp = fmt::format("pp{}", q.n_prompt), tg = fmt::format("tg{}", q.n_gen);
    const std::string what = fmt::format("{} {} {}{}{}", q.model_name, q.ftype.name, pp, tg != "tg0" ? " " + tg : "",
                                         q.depth ? fmt::format(" at depth {}", q.depth) : "");
    if (c.format == "json") {
        nlohmann::ordered_json out = nlohmann::ordered_json::array();
        for (size_t i = 0; i < preds.size(); ++i) {
            const auto& p = preds[i];
            nlohmann::ordered_json j;
            j["platform"] = p.platform_id;
            j["name"] = targets[i].name;
            j["memory_GB"] = targets[i].memory_GB;
            j["model"] = q.model_name;
            j["type"] = q.ftype.name;
            j["n_prompt"] = q.n_prompt;
            j["n_gen"] = q.n_gen;
            j["depth"] = q.depth;
            j["fits"] = p.plan.fits;
            j["fits_device"] = p.plan.fits_device;
            j["layers_on_device"] = p.plan.layers_on_device;
            j["n_layer"] = p.plan.n_layer;
            j["need_bytes"] = p.plan.need_bytes();
            j["weight_bytes"] = p.plan.weight_bytes;
            j["kv_bytes"] = p.plan.kv_bytes;
            j["budget_bytes"] = p.plan.budget_bytes;
            j["budget_rule"] = p.plan.budget_rule;
            j["placement"] = p.plan.summary;
            auto est = [](const predict::Estimate& e) { return nlohmann::ordered_json{{"value", e.value}, {"low", e.low}, {"high", e.high}}; };
            if (p.prefill) {
                j["prefill_tokens_per_s"] = est(p.prefill->tokens_per_s);
                j["prefill_bound"] = predict::bound_name(p.prefill->bound);
                j["decode_tokens_per_s"] = est(p.decode->tokens_per_s);
                j["decode_bound"] = predict::bound_name(p.decode->bound);
                j["ttft_ms"] = est(*p.ttft_ms);
            }
            if (p.joules_per_token) {
                j["joules_per_token"] = est(*p.joules_per_token);
                j["watts"] = est(*p.watts);
            }
            j["rests_on"] = p.rests_on;
            j["cost"] = predict::cost_json(predict::llm_cost(targets[i], p, cost_options(c.cost)));
            out.push_back(j);
        }
        std::cout << out.dump(2) << "\n";
        return 0;
    }

    std::vector<std::string> header = {"platform", "memory", "fits", pp + " t/s", tg + " t/s", "TTFT ms", "J/token", "bound pp/tg"};
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 0; i < preds.size(); ++i) {
        const auto& p = preds[i];
        std::vector<std::string> row = {p.platform_id, fmt::format("{:g} GB", targets[i].memory_GB),
                                        p.plan.fits_device ? "yes" : (p.plan.fits ? "offload" : "no")};
        if (p.prefill) {
            row.push_back(predict::format_estimate(p.prefill->tokens_per_s));
            row.push_back(predict::format_estimate(p.decode->tokens_per_s));
            row.push_back(predict::format_estimate(*p.ttft_ms));
            row.push_back(p.joules_per_token ? predict::format_estimate(*p.joules_per_token) : "-");
            row.push_back(fmt::format("{}/{}", predict::bound_name(p.prefill->bound), predict::bound_name(p.decode->bound)));
        } else {
            row.resize(header.size(), "-");
        }
        rows.push_back(std::move(row));
    }
    std::cout << (md ? "### " : "") << "predicted: " << what << (md ? "\n\n" : "\n");
    std::cout << core::render_grid(header, rows, {false, true, false, true, true, true, true, false}, md);
    for (size_t i = 0; i < preds.size(); ++i) {
        const auto& p = preds[i];
        std::cout << (md ? "\n- **" : "\n") << p.platform_id << (md ? "**: " : ": ") << p.plan.summary
                  << " [" << p.plan.budget_rule << "]\n";
        for (const auto& r : p.rests_on) std::cout << (md ? "  - " : "    ") << r << "\n";
        print_cost(predict::llm_cost(targets[i], p, cost_options(c.cost)), md);
    }
    return 0;
}

// Writes a fitted table to -o, or stdout.
void write_table(const PredictCommands& c, const std::string& table, int used) {
    const std::string text = "# versus calibrate --from " + c.from + (c.set.empty() ? "" : " --set " + c.set) + "\n" + table;
    if (c.out.empty()) {
        std::cout << text;
        return;
    }
    std::ofstream f(c.out);
    f << text;
    if (!f) throw UsageError(c.out, "cannot write the calibration", "choose a writable -o");
    std::fprintf(stderr, "wrote %s (fitted on %d rows)\n", c.out.c_str(), used);
}

int cmd_calibrate(const PredictCommands& c) {
    if (!c.from.empty() && predict::is_training_backtest(base::read_file(c.from))) {
        const auto rows = predict::parse_training_backtest(base::read_file(c.from), c.from, c.set);
        int used = 0;
        for (const auto& r : rows) {
            if (!r.error.empty()) std::fprintf(stderr, "[%s:%d] %s (row left out)\n", c.from.c_str(), r.line, r.error.c_str());
            else ++used;
        }
        if (used == 0) throw UsageError(c.from, "no measured row to fit on", "give a back-test CSV with measurements");
        write_table(c, predict::fit_training_calibration(rows).to_csv(), used);
        return 0;
    }
    if (!c.from.empty()) {
        auto rows = predict::parse_backtest(base::read_file(c.from), c.from, c.set);
        int used = 0;
        for (const auto& r : rows) {
            if (!r.error.empty())
                std::fprintf(stderr, "[%s:%d] %s (row left out)\n", c.from.c_str(), r.line, r.error.c_str());
            else if (!r.measured_oom)
                ++used;
        }
        if (used == 0) throw UsageError(c.from, "no measured row to fit on", "give a back-test CSV with measurements");
        write_table(c, predict::fit_calibration(rows).to_csv(), used);
        return 0;
    }
    const std::filesystem::path results = c.results.empty() ? core::default_results_path() : std::filesystem::path(c.results);
    const auto read = core::read_results(results);
    for (const auto& p : read.problems) std::fprintf(stderr, "%s\n", p.c_str());
    const auto sys = system::probe_system();
    const auto local = predict::calibrate_local(read.records, sys.hostname, static_cast<double>(sys.mem_total_bytes) / (1u << 30));
    const std::filesystem::path out = c.out.empty() ? predict::default_calibration_path() : std::filesystem::path(c.out);
    predict::save_local(local, out);
    std::cout << fmt::format("calibrated {} on {} llm rows and {} training rows at {} threads: bandwidth {:.1f} GB/s, peak "
                             "{:.3g} TFLOPS f32, {:.3g} TOPS int8\n",
                             local.platform.name, local.n_rows, local.n_training_rows, local.threads,
                             local.platform.mem_bw_GBps, local.platform.fp32_TFLOPS.value_or(0),
                             local.platform.int8_TOPS.value_or(0));
    std::cout << local.calibration.to_csv() << local.training.to_csv();
    std::fprintf(stderr, "wrote %s; predict with --on local\n", out.c_str());
    return 0;
}

}  // namespace

PredictCommands* add_predict_commands(CLI::App& app) {
    static PredictCommands c;
    c.predict = app.add_subcommand("predict", "predict LLM speed, fit and energy on platforms you do not have");
    auto* p = c.predict;
    c.model_opt = p->add_option("-m,--model", c.model,
                                "llm: synthetic preset (llama-7b, llama-70b, ...); train-gpt: gpt2-124m, bert-large, ...")
                      ->capture_default_str();
    p->add_option("-w,--workload", c.workload, "llm, gemm, membw, train-resnet50, train-gpt or allreduce")->capture_default_str();
    p->add_option("--gpus", c.gpus, "GPUs of each platform: llm splits the layers, train-gpt runs data-parallel, "
                                    "allreduce spans them")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    p->add_option("--system", c.system, "the node the GPUs sit in (a system id of data/specs/systems.csv, e.g. dgx-h100)");
    p->add_option("--size", c.size, "allreduce: bytes per GPU (nccl-tests' size), e.g. 256M or 1G")->capture_default_str();
    p->add_option("--split", c.split, "llm on several GPUs: how the model is split (layer)")->capture_default_str();
    p->add_option("--micro-batch", c.micro_batch, "train-gpt on several GPUs: sequences per GPU and step")
        ->check(CLI::Range(int64_t{1}, int64_t{1} << 16))->capture_default_str();
    p->add_option("--dtype", c.dtype, "gemm: f32, f16, bf16 or int8")->capture_default_str();
    p->add_option("--dataset", c.dataset, "train-resnet50: imagenet-1k or cifar-10")->capture_default_str();
    p->add_option("--seq", c.seq, "train-gpt: sequence length")->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
    p->add_option("--precision", c.precision, "training: fp32, tf32 or mixed (default: mixed on GPUs, fp32 on CPUs)");
    p->add_option("--gguf", c.gguf, "take the shape and bytes from a GGUF file instead");
    p->add_option("--type", c.type, "file type as llama.cpp names it: " + llm::file_type_names())->capture_default_str();
    p->add_option("--on", c.on, "platform ids, comma-separated (`versus specs list`; id@GB for a memory size; local)");
    p->add_option("-p,--n-prompt", c.n_prompt, "prompt tokens (prefill)")->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
    p->add_option("-n,--n-gen", c.n_gen, "generated tokens (decode)")->check(CLI::Range(int64_t{1}, int64_t{1} << 20))->capture_default_str();
    p->add_option("-d,--depth", c.depth, "context depth before the test")->check(CLI::Range(int64_t{0}, int64_t{1} << 24))->capture_default_str();
    p->add_option("--ctx", c.ctx, "KV cache size in tokens (default: depth + prompt + generated)")->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    p->add_option("--host-ram", c.host_ram, "host RAM beside a discrete GPU, GiB (default: max(64, 2 x VRAM))")->check(CLI::Range(1.0, 65536.0));
    p->add_option("--wired-limit", c.wired_limit, "Apple: GPU working-set limit raised with iogpu.wired_limit_mb, GiB")->check(CLI::Range(1.0, 65536.0));
    p->add_option("--calibration", c.calibration, "calibration CSV from `versus calibrate --from`, or none for the bare roofline");
    p->add_option("--backtest", c.backtest, "CSV of measured figures: predict each row and print the errors");
    p->add_option("--set", c.set, "with --backtest: only the rows whose `set` column is this (fit, holdout)");
    p->add_option("-o,--output", c.format, "table, md or json")->capture_default_str();
    add_cost_options(p, c.cost);

    c.calibrate = app.add_subcommand("calibrate", "fit the predictor: on this machine's results, or on a back-test CSV (--from)");
    c.calibrate->add_option("--from", c.from, "back-test CSV to fit the per-family table on");
    c.calibrate->add_option("--set", c.set, "with --from: fit only on the rows whose `set` column is this");
    c.calibrate->add_option("--results", c.results, "results file to read (default ~/.local/share/versus/results.jsonl)");
    c.calibrate->add_option("-o,--output", c.out, "where to write (default: stdout with --from, else ~/.local/share/versus/calibration.json)");
    return &c;
}

int run_predict_commands(PredictCommands* c) {
    if (*c->predict) return cmd_predict(*c);
    if (*c->calibrate) return cmd_calibrate(*c);
    return -1;
}

}  // namespace versus::cli
