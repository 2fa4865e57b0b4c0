#include "cli/cli-tokenize.hpp"

#include <fstream>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "llm/gguf.hpp"
#include "llm/tokenizer.hpp"

namespace versus::cli {

struct TokenizeCommand {
    CLI::App* app = nullptr;
    std::string gguf, text, lines, format = "table";
    bool no_bos = false, no_parse_special = false;
};

namespace {

std::string json_string(const std::string& s) {
    return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int run(const TokenizeCommand& o) {
    if (o.format != "table" && o.format != "json")
        throw UsageError("-o", fmt::format("tokenize prints table or json, not '{}'", o.format), "use -o json");
    if (!o.lines.empty() && !o.text.empty())
        throw UsageError("tokenize", "give TEXT or --lines FILE, not both", "one at a time");
    const auto file = llm::GgufFile::open(o.gguf);
    const auto tok = llm::Tokenizer::from_gguf(file);
    const bool add_special = !o.no_bos, parse_special = !o.no_parse_special;
    if (!o.lines.empty()) {
        // One JSON string per line in, one JSON array of ids per line out.
        std::ifstream in(o.lines, std::ios::binary);
        if (!in) throw UsageError("--lines", fmt::format("cannot open {}", o.lines), "check the path");
        std::string line, out;
        for (size_t n = 1; std::getline(in, line); ++n) {
            nlohmann::json j;
            try {
                j = nlohmann::json::parse(line);
            } catch (const nlohmann::json::exception&) {
                throw UsageError("--lines", fmt::format("{}:{}: not a JSON string", o.lines, n), "one JSON string per line");
            }
            if (!j.is_string())
                throw UsageError("--lines", fmt::format("{}:{}: not a JSON string", o.lines, n), "one JSON string per line");
            out = "[";
            for (int32_t id : tok.encode(j.get<std::string>(), add_special, parse_special))
                out += (out.size() > 1 ? "," : "") + std::to_string(id);
            std::cout << out << "]\n";
        }
        return 0;
    }
    const std::vector<int32_t> ids = tok.encode(o.text, add_special, parse_special);
    if (o.format == "json") {
        nlohmann::ordered_json j;
        j["model"] = tok.model_name();
        j["pre"] = tok.pre_name();
        j["ids"] = ids;
        nlohmann::ordered_json pieces = nlohmann::ordered_json::array();
        for (int32_t id : ids) pieces.push_back(tok.piece(id));
        j["pieces"] = pieces;
        j["text"] = tok.decode(ids);
        std::cout << j.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << "\n";
        return 0;
    }
    std::cout << fmt::format("vocabulary  {} ({}{}), {} tokens\n", o.gguf, tok.model_name(),
                             tok.pre_name().empty() ? "" : ", pre " + tok.pre_name(), ids.size());
    for (int32_t id : ids)
        std::cout << fmt::format("{:>7}  {:<24}  {}\n", id, json_string(tok.token_text(id)), json_string(tok.piece(id)));
    return 0;
}

}  // namespace

TokenizeCommand* add_tokenize_command(CLI::App& app) {
    static TokenizeCommand c;
    c.app = app.add_subcommand("tokenize", "a model file's tokenizer on text: token ids and their pieces");
    c.app->add_option("--gguf", c.gguf, "GGUF model file (its tokenizer.ggml.* vocabulary)")->required();
    c.app->add_option("text", c.text, "the text");
    c.app->add_option("--lines", c.lines, "a file of JSON strings, one per line: prints one JSON array of ids per line");
    c.app->add_flag("--no-bos", c.no_bos, "no BOS/EOS even where the vocabulary asks for them");
    c.app->add_flag("--no-parse-special", c.no_parse_special, "control tokens written as text stay text");
    c.app->add_option("-o,--output", c.format, "table or json")->capture_default_str();
    return &c;
}

int run_tokenize_command(TokenizeCommand* c) {
    if (!*c->app) return -1;
    return run(*c);
}

}  // namespace versus::cli
