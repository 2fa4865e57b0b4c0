// llama-cpp.mjs: llama.cpp (through the npm package node-llama-cpp, prebuilt CPU or CUDA binaries, offline)
// as the reference versus is measured against, on the same GGUF file and thread count.
//   node llama-cpp.mjs speed  MODEL THREADS N_PROMPT N_GEN [DEPTH] -> {"pp_tokens_per_s":..,"tg_tokens_per_s":..}
//   node llama-cpp.mjs greedy MODEL THREADS IDS N_GEN              -> {"tokens":[...]}
//   node llama-cpp.mjs tokenize MODEL TEXT_FILE REPS               -> {"bytes":..,"tokens":..,"best_s":..,"mb_per_s":..,"mb_per_cpu_s":..}
// IDS is a comma-separated list fed as given (no BOS added). DEPTH (llama-bench's -d): that many tokens are in
// the context before each timed test (evaluated untimed). LLAMA_FLASH_ATTENTION=on uses llama.cpp's flash
// attention (default off; its CPU flash attention is slower for decode at depth, so compare both). tokenize loads
// the vocabulary only and times model.tokenize on the whole file (no special tokens parsed), best of REPS after a
// warm-up.
import {readFileSync} from "node:fs";
import {getLlama} from "node-llama-cpp";

const [mode, modelPath, threadsArg, a, b, depthArg] = process.argv.slice(2);
if (!mode || !modelPath) {
    console.error("usage: node llama-cpp.mjs speed|greedy MODEL THREADS ...");
    process.exit(2);
}
if (mode === "tokenize") {
    const llama = await getLlama({gpu: false, build: "never", skipDownload: true, logLevel: "error"});
    const model = await llama.loadModel({modelPath, vocabOnly: true});
    const text = readFileSync(threadsArg, "utf8");
    const reps = Number(a || 5);
    let tokens = model.tokenize(text, false).length, best = Infinity, bestCpu = Infinity;
    for (let r = 0; r < reps; r++) {
        const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
        tokens = model.tokenize(text, false).length;
        const c = process.cpuUsage(c0);
        bestCpu = Math.min(bestCpu, (c.user + c.system) / 1e6);  // the process's CPU time (tokenize runs on one thread)
        best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const bytes = Buffer.byteLength(text, "utf8");
    console.log(JSON.stringify({bytes, tokens, best_s: best, mb_per_s: bytes / best / 1e6, mb_per_cpu_s: bytes / bestCpu / 1e6}));
    await model.dispose();
    await llama.dispose();
    process.exit(0);
}
const threads = Number(threadsArg || 1);
// LLAMA_GPU=cuda: llama.cpp's prebuilt CUDA binaries (@node-llama-cpp/linux-x64-cuda) with every layer on
// the GPU, or LLAMA_GPU_LAYERS of them.
const gpu = process.env.LLAMA_GPU || false;
const gpuLayers = !gpu ? 0 : process.env.LLAMA_GPU_LAYERS ? Number(process.env.LLAMA_GPU_LAYERS) : "max";
const flashAttention = process.env.LLAMA_FLASH_ATTENTION === "on";
const llama = await getLlama({gpu, build: "never", skipDownload: true, maxThreads: threads, logLevel: "error"});
const model = await llama.loadModel({modelPath, gpuLayers});

async function contextFor(size, batch) {
    return model.createContext({contextSize: size, batchSize: batch, threads, sequences: 1, flashAttention});
}

if (mode === "speed") {
    const nPrompt = Number(a), nGen = Number(b), depth = Number(depthArg || 0);
    // Prompt ids: a fixed spread over the vocabulary, avoiding the first special tokens.
    const idAt = (i) => 3 + ((i * 7919) % 30000);
    const ids = Array.from({length: depth + nPrompt}, (_, i) => idAt(i));
    const out = {threads, n_prompt: nPrompt, n_gen: nGen, depth, flash_attention: flashAttention};
    // The context before a test: depth tokens, evaluated untimed in batches of 512.
    async function fill(seq) {
        for (let i = 0; i < depth; i += 512) await seq.evaluateWithoutGeneratingNewTokens(ids.slice(i, Math.min(depth, i + 512)));
    }
    if (nPrompt > 0) {
        const ctx = await contextFor(depth + nPrompt + 8, Math.min(512, Math.max(nPrompt, depth > 0 ? 512 : 0)));
        const seq = ctx.getSequence();
        await seq.evaluateWithoutGeneratingNewTokens(ids.slice(0, 8));  // warm up
        await seq.clearHistory();
        await fill(seq);
        const t0 = process.hrtime.bigint();
        await seq.evaluateWithoutGeneratingNewTokens(ids.slice(depth, depth + nPrompt));
        out.pp_tokens_per_s = nPrompt / (Number(process.hrtime.bigint() - t0) / 1e9);
        await ctx.dispose();
    }
    if (nGen > 0) {
        const ctx = await contextFor(depth + nGen + 16, depth > 0 ? 512 : 8);
        const seq = ctx.getSequence();
        await fill(seq);
        let n = 0, t0 = 0n;
        for await (const tok of seq.evaluate([idAt(depth)], {temperature: 0})) {
            if (n === 0) t0 = process.hrtime.bigint();  // the first token includes the prompt pass
            if (++n > nGen) break;
        }
        out.tg_tokens_per_s = nGen / (Number(process.hrtime.bigint() - t0) / 1e9);
        await ctx.dispose();
    }
    console.log(JSON.stringify(out));
} else if (mode === "greedy") {
    const ids = a.split(",").map(Number);
    const nGen = Number(b);
    const ctx = await contextFor(ids.length + nGen + 8, 64);
    const seq = ctx.getSequence();
    const tokens = [];
    for await (const tok of seq.evaluate(ids, {temperature: 0})) {
        tokens.push(tok);
        if (tokens.length >= nGen) break;
    }
    console.log(JSON.stringify({tokens}));
    await ctx.dispose();
} else {
    console.error(`unknown mode ${mode}`);
    process.exit(2);
}
await model.dispose();
await llama.dispose();
