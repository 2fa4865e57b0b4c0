#include "llm/generate.hpp"

#include <algorithm>
#include <chrono>

namespace versus::llm {

namespace {

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// The step's token and top-5 fingerprint; ties go to the lower id, so every engine picks the same.
GenerateStep choose(std::span<const float> logits, const std::vector<std::string>& vocab) {
    std::vector<int32_t> idx(logits.size());
    for (size_t k = 0; k < idx.size(); ++k) idx[k] = static_cast<int32_t>(k);
    const size_t top = std::min<size_t>(5, idx.size());
    std::partial_sort(idx.begin(), idx.begin() + static_cast<long>(top), idx.end(),
                      [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    GenerateStep s;
    s.id = idx[0];
    s.piece = s.id < static_cast<int32_t>(vocab.size()) ? vocab[s.id] : "";
    for (size_t k = 0; k < top; ++k) s.top5.emplace_back(idx[k], logits[idx[k]]);
    return s;
}

}  // namespace

double GenerateOutput::decode_tokens_per_s() const {
    const auto n = static_cast<double>(tokens.size());
    return n > 1 && decode_s > 0 ? (n - 1) / decode_s : 0.0;
}

std::string piece_text(const std::string& piece) {
    if (piece.size() == 6 && piece.rfind("<0x", 0) == 0 && piece.back() == '>') {
        const int b = std::stoi(piece.substr(3, 2), nullptr, 16);
        return std::string(1, static_cast<char>(b));
    }
    std::string out;
    for (size_t i = 0; i < piece.size();) {
        if (piece.compare(i, 3, "\xe2\x96\x81") == 0) {
            out += ' ';
            i += 3;
        } else {
            out += piece[i++];
        }
    }
    return out;
}

GenerateOutput greedy_generate(Session& session, const Model& model, std::span<const int32_t> prompt,
                               const Tokenizer* tok, const GenerateOptions& opt) {
    GenerateOutput out;
    const auto t0 = std::chrono::steady_clock::now();
    std::span<const float> logits = session.eval(prompt);
    out.prefill_s = seconds_since(t0);
    const auto t1 = std::chrono::steady_clock::now();
    for (int i = 0; i < opt.n_gen; ++i) {
        if (opt.dump_logits) std::fwrite(logits.data(), sizeof(float), logits.size(), opt.dump_logits);
        GenerateStep s = choose(logits, model.vocab());
        const int32_t next = s.id;
        const std::string bytes = tok ? tok->piece(next, false) : piece_text(s.piece);
        out.text += bytes;
        out.tokens.push_back(next);
        out.steps.push_back(std::move(s));
        if (opt.on_text) opt.on_text(bytes);
        if (tok && opt.stop_at_end && tok->is_end_of_generation(next)) break;
        if (i + 1 < opt.n_gen) logits = session.eval(std::span<const int32_t>(&next, 1));
    }
    out.decode_s = seconds_since(t1);
    return out;
}

}  // namespace versus::llm
