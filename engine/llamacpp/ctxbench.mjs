// ctxbench.mjs times llama.cpp (through node-llama-cpp, on the CPU, offline)
// at lmgc's own context lengths: the reference of bench_ctx_test.go
// (TestBenchContext, build tag enginebench). It is a benchmark, not a test.
//
// Usage: node ctxbench.mjs < job.json > result.json
//
// stdin holds one JSON job:
//
//	{"model": "/abs/path.gguf", "threads": 2, "flashAttention": false,
//	 "runs": [{"mode": "prompt", "batch": 512, "logits": "last", "sequences": [[1, 2, ...]]},
//	          {"mode": "lockstep", "logits": "all", "sequences": [[...], [...], ...]}]}
//
// Each run gets a fresh context: as many sequences as the run has (llama.cpp's
// n_seq_max), each with room for the longest of them (llama.cpp's KV cache is
// then one stream per sequence, n_ctx = that room times the sequences, rounded
// up to 256), an F16 KV cache, the given flash attention, n_batch = n_ubatch =
// the run's batch (node-llama-cpp sets both to its batchSize). The tokens go
// straight to llama.cpp's batch API (node-llama-cpp's native
// initBatch/addToBatch/decodeBatch: one llama_decode per decodeBatch, no
// sampling, no logits copied to JavaScript):
//
//   - prompt: prompt processing. The sequences one after another, each in
//     llama_decode calls of batch tokens (the last may be shorter). logits
//     "last" asks llama.cpp for the logits of each call's last token only
//     (what llama.cpp's prompt processing does), "all" for every token.
//   - lockstep: lmgc's decode schedule. Every llama_decode holds the next
//     token of each sequence that has one left (one token per sequence, a
//     batch of up to n_seq_max tokens), each with its logits; batch is
//     ignored (the number of sequences). With "maxSeconds": S > 0 the run
//     stops after the first step that ends S seconds or more after its
//     start (a loaded machine): "depth" says how many steps were done, and
//     the speed is that of the shallower, cheaper positions.
//
// Only the llama_decode calls are timed (not the model load, not the context
// creation, not one untimed warm-up llama_decode of one token, removed from
// the KV cache before the run, as llama-bench warms up). stdout: {"variant": "<ggml CPU variant>", "runs": [{"positions",
// "decodes", "depth" (lock-step steps done), "wall" (s), "cpu" (s, user+system of this process), "contextSize"
// (per sequence), "batchSize", "threads"}, ...], "maxRSS" (bytes)}.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { loadedVariants } from "./ggmlcpu.mjs";

function fail(msg) {
    process.stderr.write(`ctxbench: ${msg}\n`);
    process.exit(2);
}

let job;
try {
    // Read asynchronously: a large job on a pipe makes readFileSync(0) fail
    // with EAGAIN.
    const chunks = [];
    for await (const c of process.stdin)
        chunks.push(c);
    job = JSON.parse(Buffer.concat(chunks).toString("utf8"));
} catch (e) {
    fail(`reading the job from stdin: ${e.message}`);
}
if (typeof job?.model !== "string" || !Array.isArray(job.runs) || job.runs.length === 0)
    fail("the job needs a model path and a non-empty array of runs");
const threads = Number.isInteger(job.threads) && job.threads > 0 ? job.threads : 1;
for (const [i, r] of job.runs.entries()) {
    if (r.mode !== "prompt" && r.mode !== "lockstep")
        fail(`run ${i}: mode must be prompt or lockstep`);
    if (!Array.isArray(r.sequences) || r.sequences.length === 0 ||
        !r.sequences.every((s) => Array.isArray(s) && s.length > 0 && s.every((t) => Number.isInteger(t) && t >= 0)))
        fail(`run ${i}: sequences must be non-empty arrays of token ids`);
    if (r.mode === "prompt" && !(Number.isInteger(r.batch) && r.batch > 0))
        fail(`run ${i}: prompt mode needs a positive batch`);
    if (r.logits !== "last" && r.logits !== "all")
        fail(`run ${i}: logits must be last or all`);
}

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
const model = await llama.loadModel({ modelPath: job.model, gpuLayers: 0, useMmap: false });
const results = [];
for (const [i, r] of job.runs.entries()) {
    const seqs = r.sequences;
    const longest = Math.max(...seqs.map((s) => s.length));
    const batchSize = r.mode === "prompt" ? Math.min(r.batch, longest) : seqs.length;
    const context = await model.createContext({
        contextSize: longest,
        batchSize,
        sequences: seqs.length,
        flashAttention: job.flashAttention === true,
        threads,
        experimentalKvCacheKeyType: "F16",
        experimentalKvCacheValueType: "F16",
    });
    const ctx = context._ctx;
    ctx.setThreads(threads);
    // Untimed warm-up, as llama-bench's: one token decoded and removed.
    ctx.initBatch(1);
    ctx.addToBatch(0, 0, Uint32Array.of(seqs[0][0]), Uint32Array.of(0));
    await ctx.decodeBatch();
    if (!ctx.removeTokenCellsFromSequence(0, 0, -1) || ctx.getSequenceKvCacheMaxPosition(0) !== -1)
        fail(`run ${i}: the warm-up token stayed in the KV cache`);
    let decodes = 0, positions = 0, depth = longest;
    const t0 = performance.now(), c0 = process.cpuUsage();
    if (r.mode === "prompt") {
        for (const [s, toks] of seqs.entries()) {
            for (let lo = 0; lo < toks.length; lo += batchSize) {
                const part = toks.slice(lo, lo + batchSize);
                const logits = r.logits === "all" ? part.map((_, j) => j) : [part.length - 1];
                ctx.initBatch(part.length);
                ctx.addToBatch(s, lo, Uint32Array.from(part), Uint32Array.from(logits));
                await ctx.decodeBatch();
                decodes++;
                positions += part.length;
            }
        }
    } else {
        const one = Uint32Array.of(0);
        const limit = Number(r.maxSeconds) > 0 ? t0 + 1000 * Number(r.maxSeconds) : Infinity;
        for (let step = 0; step < longest && performance.now() < limit; step++) {
            const live = seqs.filter((toks) => step < toks.length).length;
            ctx.initBatch(live);
            for (const [s, toks] of seqs.entries()) {
                if (step < toks.length)
                    ctx.addToBatch(s, step, Uint32Array.of(toks[step]), one);
            }
            await ctx.decodeBatch();
            decodes++;
            positions += live;
        }
        depth = decodes;
    }
    const wall = (performance.now() - t0) / 1000, c = process.cpuUsage(c0);
    for (const [s, toks] of seqs.entries()) {
        const last = ctx.getSequenceKvCacheMaxPosition(s);
        if (last !== Math.min(toks.length, depth) - 1)
            fail(`run ${i}, sequence ${s}: the KV cache ends at position ${last}, want ${Math.min(toks.length, depth) - 1}`);
    }
    results.push({ mode: r.mode, positions, decodes, depth, wall, cpu: (c.user + c.system) / 1e6,
        contextSize: context.contextSize, batchSize: context.batchSize, threads: ctx.getThreads() });
    await context.dispose();
}
const variants = loadedVariants();
await model.dispose();
await llama.dispose();
process.stdout.write(JSON.stringify({ variant: variants.join(","), runs: results,
    maxRSS: process.resourceUsage().maxRSS * 1024 }) + "\n");
