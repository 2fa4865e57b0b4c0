#include "llm/tokenizer-json.hpp"

#include <cctype>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/error.hpp"
#include "llm/tokenizer.hpp"

namespace versus::llm {
namespace {

using Json = nlohmann::json;

// The split expressions of the pre-tokenizers llama.cpp knows, as tokenizer.json files write them.
struct KnownSplit {
    const char* regex;
    const char* pre;
};
constexpr KnownSplit KNOWN_SPLITS[] = {
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "llama-bpe"},
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "qwen2"},
    {R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)",
     "qwen35"},
};

Json read_json(const std::filesystem::path& path, const std::string& place) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw UsageError(place, fmt::format("{}: cannot open", path.string()), "check the path of --tokenizer");
    try {
        return Json::parse(in);
    } catch (const Json::exception& e) {
        throw UsageError(place, fmt::format("{}: not valid JSON ({})", path.string(), e.what()),
                         "give the tokenizer.json of a Hugging Face model");
    }
}

// A token named in tokenizer_config.json: a string, or {"content": "..."}.
std::optional<std::string> token_name(const Json& config, const char* key) {
    auto it = config.find(key);
    if (it == config.end() || it->is_null()) return std::nullopt;
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object() && it->contains("content") && (*it)["content"].is_string()) return (*it)["content"].get<std::string>();
    return std::nullopt;
}

// llama.cpp's converter marks added tokens that look like control tokens as control even when not special.
bool looks_special(const std::string& t) {
    return t == "<pad>" || t == "<mask>" || (t.starts_with("<|") && t.ends_with("|>")) ||
           (t.starts_with("<\xef\xbd\x9c") && t.ends_with("\xef\xbd\x9c>")) || (t.starts_with("<unused") && t.ends_with(">"));
}

bool is_byte_piece(const std::string& t) {
    return t.size() == 6 && t.starts_with("<0x") && t.back() == '>' && std::isxdigit(static_cast<unsigned char>(t[3])) &&
           std::isxdigit(static_cast<unsigned char>(t[4]));
}

// The pre-tokenizer of a byte-level vocabulary, from its pre_tokenizer section.
std::string pre_name(const Json& pre, const std::string& place) {
    std::vector<const Json*> steps;
    if (pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers"))
        for (const Json& p : pre["pretokenizers"]) steps.push_back(&p);
    else if (pre.is_object())
        steps.push_back(&pre);
    std::string regex;
    bool byte_level = false, byte_level_regex = false;
    for (const Json* p : steps) {
        const std::string type = p->value("type", "");
        if (type == "Split" && p->contains("pattern") && (*p)["pattern"].contains("Regex"))
            regex = (*p)["pattern"]["Regex"].get<std::string>();
        if (type == "ByteLevel") {
            byte_level = true;
            byte_level_regex = p->value("use_regex", true);
        }
    }
    if (!byte_level)
        throw UsageError(place, "a BPE model without byte_fallback and without a ByteLevel pre-tokenizer",
                         "versus reads byte-level BPE (Llama 3, Qwen) and SentencePiece-style BPE (Llama 2) vocabularies");
    if (regex.empty() && byte_level_regex) return "gpt-2";
    for (const auto& k : KNOWN_SPLITS)
        if (regex == k.regex) return k.pre;
    throw UsageError(place, fmt::format("the pre-tokenizer's split expression is not one versus knows: {}", regex),
                     "supported: the splits of Llama 3 (llama-bpe), Qwen2/3 (qwen2), Qwen3.5 (qwen35) and GPT-2");
}

// The BPE model's merges as "a b" strings; files hold them so (older ones) or as ["a", "b"] pairs.
std::vector<std::string> read_merges(const Json& list, const std::string& place) {
    std::vector<std::string> merges;
    merges.reserve(list.size());
    for (const Json& e : list) {
        if (e.is_string())
            merges.push_back(e.get<std::string>());
        else if (e.is_array() && e.size() == 2 && e[0].is_string() && e[1].is_string())
            merges.push_back(e[0].get<std::string>() + " " + e[1].get<std::string>());
        else
            throw UsageError(place, fmt::format("merge {} is neither \"a b\" nor [\"a\", \"b\"]", merges.size()),
                             "the file is damaged");
    }
    return merges;
}

}  // namespace

HfVocabulary read_hf_tokenizer(const std::filesystem::path& tokenizer_json) {
    const std::string place = "--tokenizer " + tokenizer_json.string();
    const Json j = read_json(tokenizer_json, "--tokenizer");
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
        throw UsageError(place, "no \"model\" section", "give the tokenizer.json of a Hugging Face model");
    const Json& m = j["model"];
    const std::string type = m.value("type", "BPE");
    if (type != "BPE")
        throw UsageError(place, fmt::format("tokenizer model type '{}' is not supported", type),
                         "versus reads BPE vocabularies: byte-level (Llama 3, Qwen) or with byte_fallback (Llama 2, Mistral)");
    if (!m.contains("vocab") || !m["vocab"].is_object() || !m.contains("merges") || !m["merges"].is_array())
        throw UsageError(place, "the BPE model has no vocab object or merges array", "the file is damaged");

    HfVocabulary v;
    const bool spm = m.value("byte_fallback", false);
    v.model = spm ? "llama" : "gpt2";
    // Pieces by id: the model's vocabulary, then the added tokens (which may also redefine ids).
    std::map<int64_t, std::string> by_id;
    for (const auto& [text, id] : m["vocab"].items())
        if (id.is_number_integer()) by_id[id.get<int64_t>()] = text;
    std::map<int64_t, bool> added;  // id -> special
    if (j.contains("added_tokens") && j["added_tokens"].is_array())
        for (const Json& a : j["added_tokens"]) {
            if (!a.contains("id") || !a.contains("content")) continue;
            const int64_t id = a["id"].get<int64_t>();
            by_id[id] = a["content"].get<std::string>();
            added[id] = a.value("special", false);
        }
    if (by_id.empty() || by_id.begin()->first < 0 || by_id.rbegin()->first > (int64_t{1} << 24))
        throw UsageError(place, "the vocabulary is empty or has ids outside [0, 2^24]", "the file is damaged");
    const size_t n = static_cast<size_t>(by_id.rbegin()->first) + 1;
    v.tokens.resize(n);
    v.types.assign(n, TOKEN_TYPE_UNUSED);
    for (size_t i = 0; i < n; ++i) v.tokens[i] = fmt::format("[PAD{}]", i);
    std::map<std::string, int32_t> id_of;
    for (const auto& [id, text] : by_id) {
        v.tokens[static_cast<size_t>(id)] = text;
        id_of[text] = static_cast<int32_t>(id);
        int32_t t = TOKEN_TYPE_NORMAL;
        if (auto a = added.find(id); a != added.end())
            t = a->second || looks_special(text) ? TOKEN_TYPE_CONTROL : TOKEN_TYPE_USER_DEFINED;
        else if (spm && is_byte_piece(text))
            t = TOKEN_TYPE_BYTE;
        v.types[static_cast<size_t>(id)] = t;
    }
    std::vector<std::string> merges = read_merges(m["merges"], place);
    if (spm) {
        // A piece scores minus the rank of the first merge that makes it; other pieces score 0.
        v.scores.assign(n, 0.0f);
        std::vector<bool> scored(n, false);
        for (size_t r = 0; r < merges.size(); ++r) {
            const size_t space = merges[r].find(' ', 1);
            if (space == std::string::npos) continue;
            auto it = id_of.find(merges[r].substr(0, space) + merges[r].substr(space + 1));
            if (it == id_of.end() || scored[static_cast<size_t>(it->second)]) continue;
            scored[static_cast<size_t>(it->second)] = true;
            v.scores[static_cast<size_t>(it->second)] = -static_cast<float>(r + 1);
        }
        if (auto unk = m.find("unk_token"); unk != m.end() && unk->is_string())
            if (auto it = id_of.find(unk->get<std::string>()); it != id_of.end()) {
                v.unk = it->second;
                v.types[static_cast<size_t>(it->second)] = TOKEN_TYPE_UNKNOWN;
            }
        const std::string norm = j.contains("normalizer") ? j["normalizer"].dump() : "";
        const std::string pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"].dump() : "";
        v.add_space_prefix = norm.find("\"Prepend\"") != std::string::npos ||
                             (pre.find("Metaspace") != std::string::npos && pre.find("\"never\"") == std::string::npos);
        v.pre = "default";
    } else {
        v.pre = pre_name(j.contains("pre_tokenizer") ? j["pre_tokenizer"] : Json(), place);
        v.merges = std::move(merges);
    }
    // BOS/EOS: the post-processor's template (a special token before or after the sequence), then
    // tokenizer_config.json beside the file.
    const auto find_id = [&](const std::string& text) -> std::optional<int32_t> {
        auto it = id_of.find(text);
        return it == id_of.end() ? std::nullopt : std::optional<int32_t>(it->second);
    };
    if (j.contains("post_processor") && j["post_processor"].is_object() &&
        j["post_processor"].value("type", "") == "TemplateProcessing" && j["post_processor"].contains("single")) {
        const Json& single = j["post_processor"]["single"];
        for (size_t i = 0; i < single.size(); ++i) {
            if (!single[i].contains("SpecialToken")) continue;
            const auto id = find_id(single[i]["SpecialToken"].value("id", ""));
            if (!id) continue;
            if (i == 0) {
                v.bos = id;
                v.add_bos = true;
            } else if (i + 1 == single.size()) {
                v.eos = id;
                v.add_eos = true;
            }
        }
    }
    const std::filesystem::path config_path = tokenizer_json.parent_path() / "tokenizer_config.json";
    if (std::filesystem::exists(config_path)) {
        const Json c = read_json(config_path, "--tokenizer");
        const auto named = [&](const char* key, std::optional<int32_t>& id) {
            if (auto name = token_name(c, key))
                if (auto found = find_id(*name)) id = found;
        };
        named("bos_token", v.bos);
        named("eos_token", v.eos);
        named("unk_token", v.unk);
        named("pad_token", v.pad);
        if (c.contains("add_bos_token") && c["add_bos_token"].is_boolean()) v.add_bos = c["add_bos_token"].get<bool>();
        if (c.contains("add_eos_token") && c["add_eos_token"].is_boolean()) v.add_eos = c["add_eos_token"].get<bool>();
    }
    if (spm) {
        if (!v.bos) v.bos = find_id("<s>");
        if (!v.eos) v.eos = find_id("</s>");
    }
    return v;
}

void set_vocabulary_metadata(GgufWriter& w, const HfVocabulary& v, int64_t n_vocab) {
    std::vector<std::string> tokens = v.tokens;
    std::vector<int32_t> types = v.types;
    std::vector<float> scores = v.scores;
    for (auto i = static_cast<int64_t>(tokens.size()); i < n_vocab; ++i) {
        tokens.push_back(fmt::format("[PAD{}]", i));
        types.push_back(TOKEN_TYPE_UNUSED);
        if (!scores.empty()) scores.push_back(0.0f);
    }
    w.set_string("tokenizer.ggml.model", v.model);
    w.set_string("tokenizer.ggml.pre", v.pre);
    w.set_strings("tokenizer.ggml.tokens", tokens);
    if (!scores.empty()) w.set_array("tokenizer.ggml.scores", scores);
    w.set_array("tokenizer.ggml.token_type", types);
    if (!v.merges.empty()) w.set_strings("tokenizer.ggml.merges", v.merges);
    if (v.bos) w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(*v.bos));
    if (v.eos) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(*v.eos));
    if (v.unk) w.set_u32("tokenizer.ggml.unknown_token_id", static_cast<uint32_t>(*v.unk));
    if (v.pad) w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(*v.pad));
    if (v.add_bos) w.set_bool("tokenizer.ggml.add_bos_token", *v.add_bos);
    if (v.add_eos) w.set_bool("tokenizer.ggml.add_eos_token", *v.add_eos);
    if (v.model == "llama") w.set_bool("tokenizer.ggml.add_space_prefix", v.add_space_prefix);
}

}  // namespace versus::llm
