// tokenizer-compare.mjs: llama.cpp's tokenizer (npm node-llama-cpp, the GGUF loaded vocabulary-only) on every
// string of a corpus, plain and with special tokens parsed, against the ids versus wrote for the same
// strings (one JSON array per line, `versus tokenize --lines`). Prints the differences; exit 1 if any.
//   node tokenizer-compare.mjs LABEL MODEL.gguf CORPUS.jsonl VERSUS_PLAIN VERSUS_SPECIAL
import {readFileSync} from "node:fs";
import {getLlama} from "node-llama-cpp";

const [label, modelPath, corpusPath, plainPath, specialPath] = process.argv.slice(2);
const lines = (p) => readFileSync(p, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
const corpus = lines(corpusPath);
const ours = {plain: lines(plainPath), special: lines(specialPath)};
const llama = await getLlama({gpu: false, build: "never", skipDownload: true, logLevel: "error"});
const model = await llama.loadModel({modelPath, vocabOnly: true});
let differences = 0;
for (const [mode, special] of [["plain", false], ["special", true]]) {
    if (ours[mode].length !== corpus.length) {
        console.log(`${label}: versus gave ${ours[mode].length} lines for ${corpus.length} strings (${mode})`);
        process.exit(1);
    }
    corpus.forEach((text, i) => {
        const theirs = Array.from(model.tokenize(text, special));
        const mine = ours[mode][i];
        if (theirs.length === mine.length && theirs.every((t, k) => t === mine[k])) return;
        if (++differences <= 10) {
            let k = 0;
            while (k < mine.length && mine[k] === theirs[k]) k++;
            console.log(`${label} ${mode} #${i} ${JSON.stringify(text.slice(0, 120))}: first difference at token ${k}: ` +
                `versus ${JSON.stringify(mine.slice(k, k + 8))} llama.cpp ${JSON.stringify(theirs.slice(k, k + 8))}`);
        }
    });
}
console.log(`${label}: ${corpus.length} strings x 2 modes, ${differences} differences`);
await model.dispose();
await llama.dispose();
process.exit(differences > 0 ? 1 : 0);
