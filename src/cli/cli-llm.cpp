#include "cli/cli-llm.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "backend/backend.hpp"
#include "backend/cpu/thread-pool.hpp"
#include "base/error.hpp"
#include "core/params.hpp"
#include "llm/config.hpp"
#include "llm/generate.hpp"
#include "llm/model-io.hpp"
#include "llm/model.hpp"
#include "llm/offload.hpp"
#include "llm/tokenizer.hpp"
#include "system/sysinfo.hpp"

namespace versus::cli {

struct LlmCommands {
    CLI::App* generate = nullptr;
    CLI::App* model = nullptr;
    CLI::App* create = nullptr;
    CLI::App* quantize = nullptr;
    CLI::App* info = nullptr;

    // generate
    std::string gguf, preset, type = "q4_0", tokens, format = "table", dump_logits, prompt, prompt_file;
    uint64_t seed = 1;
    int n_gen = 32, threads = 0;
    int64_t ctx = 0, gpu_layers = 0;
    bool bos = false;
    // model create / quantize / info
    std::string out, in_path, out_path, info_path, info_format = "table", tokenizer_json;
};

namespace {

llm::GgmlType parse_type(const std::string& name) {
    const auto* t = llm::ggml_type_info(name);
    if (!t || !t->supported)
        throw UsageError("--type", fmt::format("'{}' is not a weight type versus computes with", name),
                         "choose from " + llm::ggml_supported_type_names());
    return t->type;
}

std::vector<int32_t> parse_tokens(const std::string& text) {
    std::vector<int32_t> ids;
    const core::ParamSpec spec{"tokens", "tokens", core::ParamKind::INT, "", {}, "", "", 0, INT32_MAX};
    if (text.empty()) return ids;
    // Lists only: a range of token ids would be a mistake more often than not.
    size_t start = 0;
    while (start <= text.size()) {
        size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        const std::string item = text.substr(start, comma - start);
        if (item.find('-', 1) != std::string::npos)
            throw UsageError("--tokens", fmt::format("'{}' is not a token id", item), "give ids separated by commas");
        for (const auto& v : core::parse_sweep(spec, item)) ids.push_back(static_cast<int32_t>(std::get<int64_t>(v)));
        start = comma + 1;
    }
    return ids;
}

// What `generate` prints when it does not stream: JSON with every step's top-5, or a table of the steps.
struct GenerateHeader {
    std::string label, arch, types;
    int threads = 0;
    int64_t gpu_layers = 0, n_layer = 0;
    bool gpu_output = false;
    std::string gpu_where;  // empty: the CPU only
    std::vector<int32_t> prompt;
    double load_s = 0;
};

void print_generated(const LlmCommands& o, const llm::GenerateOutput& g, const GenerateHeader& h) {
    using J = nlohmann::ordered_json;
    auto dump = [](const std::string& text) {
        return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    };
    J steps = J::array();
    for (const auto& s : g.steps) {
        J t5 = J::array();
        for (const auto& [id, logit] : s.top5) t5.push_back({id, logit});
        steps.push_back({{"id", s.id}, {"piece", s.piece}, {"top5", t5}});
    }
    if (o.format == "json") {
        J j;
        j["model"] = h.label;
        j["arch"] = h.arch;
        j["types"] = h.types;
        j["threads"] = h.threads;
        j["gpu_layers"] = h.gpu_layers;
        if (!h.gpu_where.empty()) j["gpu"] = h.gpu_where;
        j["prompt"] = h.prompt;
        j["tokens"] = g.tokens;
        j["text"] = g.text;
        j["steps"] = steps;
        j["load_s"] = h.load_s;
        j["prefill_ms"] = g.prefill_s * 1e3;
        j["decode_tokens_per_s"] = g.decode_tokens_per_s();
        std::cout << j.dump(2, ' ', false, J::error_handler_t::replace) << "\n";
        return;
    }
    std::cout << fmt::format("model   {} ({}, {})\nprompt  {} tokens, {} threads{}\n", h.label, h.arch, h.types,
                             h.prompt.size(), h.threads,
                             h.gpu_where.empty() ? ""
                                                 : fmt::format(", {} of {} blocks{} on {}", h.gpu_layers, h.n_layer,
                                                               h.gpu_output ? " + output" : "", h.gpu_where));
    for (size_t i = 0; i < g.steps.size(); ++i)
        std::cout << fmt::format("{:>4}  {:>7}  {:<16}  top5 {}\n", i, g.tokens[i], dump(g.steps[i].piece),
                                 steps[i]["top5"].dump());
    std::cout << fmt::format("text    {}\nload {:.2f} s, prefill {:.1f} ms, decode {:.2f} tokens/s\n", dump(g.text),
                             h.load_s, g.prefill_s * 1e3, g.decode_tokens_per_s());
}

int cmd_generate(LlmCommands& o) {
    if (o.gguf.empty() == o.preset.empty())
        throw UsageError("generate", "give exactly one of --gguf FILE or --model PRESET", "e.g. --model tiny --type q8_0");
    if (o.format != "table" && o.format != "json")
        throw UsageError("-o", fmt::format("generate prints table or json, not '{}'", o.format), "use -o json");
    const int threads = o.threads > 0 ? o.threads : cpu::ThreadPool::available_threads();
    std::vector<int32_t> prompt = parse_tokens(o.tokens);
    const bool text_prompt = !o.prompt.empty() || !o.prompt_file.empty();
    if (text_prompt && (!o.tokens.empty() || (!o.prompt.empty() && !o.prompt_file.empty())))
        throw UsageError("generate", "give one of --tokens, --prompt and --prompt-file", "ids or text, not both");
    if (text_prompt && o.gguf.empty())
        throw UsageError("--prompt", "a text prompt needs a model file's vocabulary", "use --gguf FILE, or --tokens with a preset");
    std::unique_ptr<llm::Tokenizer> tok;

    // Refuse before allocating anything that cannot fit.
    std::unique_ptr<llm::Model> model;
    llm::ModelConfig cfg;
    llm::WeightSummary weights;
    llm::LayerBytes layer_bytes;
    std::string label;
    if (!o.gguf.empty()) {
        auto f = llm::GgufFile::open(o.gguf);
        cfg = llm::config_from_gguf(f);
        // The vocabulary, for a text prompt and for printing text: a file without one still runs on ids.
        if (text_prompt) {
            tok = std::make_unique<llm::Tokenizer>(llm::Tokenizer::from_gguf(f));
            prompt = tok->encode(o.prompt_file.empty() ? o.prompt : llm::read_utf8_file(o.prompt_file, "--prompt-file"),
                                 true, true);
        } else if (f.has("tokenizer.ggml.model")) {
            try {
                tok = std::make_unique<llm::Tokenizer>(llm::Tokenizer::from_gguf(f));
            } catch (const UsageError&) {  // pieces are still printed from the raw vocabulary
            }
        }
        for (const auto& t : f.tensors()) weights.total_bytes += t.n_bytes;
        layer_bytes = llm::layer_bytes(cfg, [&](const llm::TensorSpec& t) {
            const auto* info = f.find_tensor(t.name);
            return info ? info->n_bytes : uint64_t{0};
        });
        label = o.gguf;
    } else {
        cfg = llm::preset_config(o.preset);
        weights = llm::weight_summary(cfg, parse_type(o.type));
        layer_bytes = llm::layer_bytes(cfg, parse_type(o.type));
        label = o.preset + " " + o.type;
    }
    if (o.bos) prompt.insert(prompt.begin(), static_cast<int32_t>(cfg.bos_id >= 0 ? cfg.bos_id : 1));
    if (prompt.empty()) throw UsageError("--tokens", "no prompt tokens", "give ids like --tokens 1,415,2211, or --bos");
    if (static_cast<int64_t>(prompt.size()) + o.n_gen > cfg.n_ctx_train)
        throw UsageError("generate", fmt::format("a prompt of {} tokens and {} generated ones exceed the model's context of {}",
                                                 prompt.size(), o.n_gen, cfg.n_ctx_train),
                         "shorten the prompt or lower -n");
    const int64_t n_ctx = o.ctx > 0 ? o.ctx : static_cast<int64_t>(prompt.size()) + o.n_gen;
    if (n_ctx < static_cast<int64_t>(prompt.size()) + o.n_gen)
        throw UsageError("--ctx", fmt::format("{} positions cannot hold {} prompt + {} generated tokens", n_ctx,
                                              prompt.size(), o.n_gen),
                         "raise --ctx or lower -n");
    const int64_t n_batch = std::min<int64_t>(512, static_cast<int64_t>(prompt.size()));
    // Blocks on the GPU: the CUDA backend must be there, and the device must hold them with their KV cache.
    std::vector<backend::BackendSlot> backends;
    backend::Backend* gpu = nullptr;
    const llm::OffloadPlan plan = llm::plan_offload(cfg, layer_bytes, o.gpu_layers, n_ctx, n_batch);
    if (plan.n_layers > 0) {
        backends = backend::load_backends();
        auto slot = std::find_if(backends.begin(), backends.end(), [](const auto& s) { return s.name == "cuda"; });
        if (slot == backends.end() || !slot->backend || slot->backend->device_count() < 1)
            throw UsageError("--gpu-layers",
                             llm::no_gpu_message(plan.n_layers, slot == backends.end() ? "not built for this platform"
                                                                : slot->backend ? "no CUDA device"
                                                                                : slot->reason),
                             "drop --gpu-layers to run on the CPU");
        gpu = slot->backend.get();
        const versus_device_info info = gpu->device_info(0);
        llm::check_offload_fit(label, cfg, layer_bytes, plan, n_ctx, n_batch, info.name, info.mem_budget_bytes);
    }
    // A mapped file's pages count as weights: they must fit in memory to run at speed. The KV cache of the
    // blocks on the GPU lives there.
    llm::check_fit(label, weights, llm::kv_cache_bytes(cfg, n_ctx) - plan.kv_bytes, llm::working_bytes(cfg, n_batch, n_ctx),
                   system::memory_available_bytes());

    const auto t_load = std::chrono::steady_clock::now();
    model = std::make_unique<llm::Model>(o.gguf.empty()
                                             ? llm::Model::synthetic(cfg, parse_type(o.type), o.seed)
                                             : llm::Model::load(o.gguf));
    const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
    cpu::ThreadPool pool(threads);
    llm::Session session(*model, n_ctx, n_batch, pool,
                         gpu ? llm::make_device_layers(*gpu, 0, *model, plan.n_layers, n_ctx, n_batch) : nullptr);

    std::unique_ptr<FILE, int (*)(FILE*)> dump(nullptr, &std::fclose);
    if (!o.dump_logits.empty()) {
        dump.reset(std::fopen(o.dump_logits.c_str(), "wb"));
        if (!dump) throw UsageError(o.dump_logits, "cannot open for writing", "choose a writable --dump-logits path");
    }
    // A text prompt streams the text as it is generated (table output) and stops at the end of the turn.
    const bool stream = text_prompt && o.format == "table";
    llm::GenerateOptions gen;
    gen.n_gen = o.n_gen;
    gen.stop_at_end = text_prompt;
    gen.dump_logits = dump.get();
    if (stream) {
        std::fputs(tok->decode(prompt, false).c_str(), stdout);
        std::fflush(stdout);
        gen.on_text = [](const std::string& bytes) {
            std::fputs(bytes.c_str(), stdout);
            std::fflush(stdout);
        };
    }
    const llm::GenerateOutput g = llm::greedy_generate(session, *model, prompt, tok.get(), gen);
    if (stream) {
        std::fprintf(stderr, "\n[generate] %zu prompt tokens, %zu generated, load %.2f s, prefill %.1f ms, decode %.2f tokens/s\n",
                     prompt.size(), g.tokens.size(), load_s, g.prefill_s * 1e3, g.decode_tokens_per_s());
        return 0;
    }
    print_generated(o, g, GenerateHeader{label, cfg.arch, model->type_label(), threads, plan.n_layers, cfg.n_layer,
                                         plan.output, gpu ? session.front_where() : "", prompt, load_s});
    return 0;
}

int cmd_info(const LlmCommands& o) {
    const auto f = llm::GgufFile::open(o.info_path);
    const auto cfg = llm::config_from_gguf(f);
    std::map<std::string, uint64_t> by_type;
    uint64_t total = 0;
    for (const auto& t : f.tensors()) {
        by_type[llm::ggml_type_name(t.type)] += t.n_bytes;
        total += t.n_bytes;
    }
    nlohmann::ordered_json j;
    j["file"] = o.info_path;
    j["gguf_version"] = f.version();
    j["file_bytes"] = f.file_size();
    j["arch"] = cfg.arch;
    j["name"] = cfg.name;
    j["n_vocab"] = cfg.n_vocab;
    j["n_embd"] = cfg.n_embd;
    j["n_layer"] = cfg.n_layer;
    j["n_head"] = cfg.n_head;
    j["n_head_kv"] = cfg.n_head_kv;
    j["head_dim"] = cfg.head_dim;
    j["n_ff"] = cfg.n_ff;
    j["n_ctx_train"] = cfg.n_ctx_train;
    j["rope_base"] = cfg.rope_base;
    j["rope_scaling"] = cfg.rope_scaling;
    j["tensors"] = f.tensors().size();
    j["weight_bytes"] = total;
    j["bytes_by_type"] = by_type;
    j["metadata_keys"] = f.metadata().size();
    if (o.info_format == "json") {
        std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
    } else {
        for (const auto& [k, v] : j.items()) std::cout << fmt::format("{:<14} {}\n", k, v.is_string() ? v.get<std::string>() : v.dump());
    }
    return 0;
}

}  // namespace

LlmCommands* add_llm_commands(CLI::App& app) {
    static LlmCommands c;
    c.generate = app.add_subcommand("generate", "greedy generation from token ids, with a per-step logits fingerprint");
    c.generate->add_option("--gguf", c.gguf, "GGUF model file");
    c.generate->add_option("-m,--model", c.preset, "synthetic preset instead of a file (tiny, small, llama-7b, ...)");
    c.generate->add_option("--type", c.type, "weight type of the preset")->capture_default_str();
    c.generate->add_option("--seed", c.seed, "seed of the preset's weights")->capture_default_str();
    c.generate->add_option("--tokens", c.tokens, "prompt token ids, fed exactly as given: 1,415,2211");
    c.generate->add_flag("--bos", c.bos, "prepend the model's BOS token");
    c.generate->add_option("--prompt", c.prompt, "prompt text, tokenized with the file's vocabulary (BOS as it asks)");
    c.generate->add_option("--prompt-file", c.prompt_file, "prompt text from a UTF-8 file");
    c.generate->add_option("-n", c.n_gen, "tokens to generate")->check(CLI::Range(1, 1 << 20))->capture_default_str();
    c.generate->add_option("-t,--threads", c.threads, "threads (default: all available)")->check(CLI::Range(1, 4096));
    c.generate->add_option("--ctx", c.ctx, "context length (default: prompt + n)")->check(CLI::Range(int64_t{1}, int64_t{1} << 24));
    c.generate->add_option("-o,--output", c.format, "table or json")->capture_default_str();
    c.generate->add_option("--dump-logits", c.dump_logits, "write every step's logits as raw little-endian f32");
    c.generate->add_option("--gpu-layers,--ngl", c.gpu_layers,
                           "blocks on the GPU (CUDA), the rest on the CPU; >= the model's blocks: all and the output")
        ->check(CLI::Range(int64_t{0}, int64_t{1} << 20))
        ->capture_default_str();

    c.model = app.add_subcommand("model", "create, quantize and inspect GGUF model files");
    c.model->require_subcommand(1);
    c.create = c.model->add_subcommand("create", "write a synthetic preset as a GGUF file other tools load");
    c.create->add_option("--preset", c.preset, "preset name")->required();
    c.create->add_option("--type", c.type, "weight type")->capture_default_str();
    c.create->add_option("--seed", c.seed, "seed of the weights")->capture_default_str();
    c.create->add_option("-o,--output", c.out, "GGUF file to write")->required();
    c.create->add_option("--tokenizer", c.tokenizer_json,
                         "a Hugging Face tokenizer.json whose vocabulary the file carries (the model's vocabulary "
                         "grows to its size)");
    c.quantize = c.model->add_subcommand("quantize", "re-quantize a GGUF model's matrices");
    c.quantize->add_option("in", c.in_path, "input GGUF")->required();
    c.quantize->add_option("out", c.out_path, "output GGUF")->required();
    c.quantize->add_option("--type", c.type, "target type")->required();
    c.quantize->add_option("-t,--threads", c.threads, "threads")->check(CLI::Range(1, 4096));
    c.info = c.model->add_subcommand("info", "a GGUF model's shape, types and sizes");
    c.info->add_option("file", c.info_path, "GGUF file")->required();
    c.info->add_option("-o,--output", c.info_format, "table or json")->capture_default_str();
    return &c;
}

int run_llm_commands(LlmCommands* c) {
    if (*c->generate) return cmd_generate(*c);
    if (*c->create) {
        auto cfg = llm::preset_config(c->preset);
        std::optional<llm::HfVocabulary> vocab;
        if (!c->tokenizer_json.empty()) {
            vocab = llm::read_hf_tokenizer(c->tokenizer_json);
            cfg.n_vocab = std::max<int64_t>(cfg.n_vocab, static_cast<int64_t>(vocab->tokens.size()));
            cfg.bos_id = vocab->bos.value_or(-1);
            cfg.eos_id = vocab->eos.value_or(-1);
        }
        llm::write_synthetic_gguf(cfg, parse_type(c->type), c->seed, c->out, vocab ? &*vocab : nullptr);
        std::fprintf(stderr, "wrote %s\n", c->out.c_str());
        return 0;
    }
    if (*c->quantize) {
        cpu::ThreadPool pool(c->threads > 0 ? c->threads : cpu::ThreadPool::available_threads());
        llm::quantize_gguf(c->in_path, c->out_path, parse_type(c->type), pool);
        std::fprintf(stderr, "wrote %s\n", c->out_path.c_str());
        return 0;
    }
    if (*c->info) return cmd_info(*c);
    return -1;
}

}  // namespace versus::cli
