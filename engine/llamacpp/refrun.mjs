// refrun.mjs runs llama.cpp (through node-llama-cpp, on the CPU, offline) as a
// reference for lmgc's Go engine.
//
// Usage: node refrun.mjs < jobs.json > results.json
//
// stdin holds a JSON array of jobs, run in order with one llama.cpp
// instance:
//
//	{"model": "/abs/path.gguf", "tokens": [1, 2, ...], "generate": 0, "incremental": false, "out": "/abs/out.bin"}
//
// With generate 0 the tokens are evaluated as one sequence (in one batch, or
// with incremental one token per evaluation) and, for every
// position i, the distribution of the next token given tokens[0..i] is
// written: the softmax over the full vocabulary of llama.cpp's logits at
// position i, exactly as node-llama-cpp's controlledEvaluate hands it out
// with greedy sampling (temperature 0; no top-k/top-p/min-p, penalties or
// bias). With generate n > 0 the tokens are a prompt: after it, n tokens are
// generated greedily (argmax, end-of-sequence included), one evaluation per
// token, and the distribution each was chosen from is written.
//
// With "hidden": true (and generate 0) the tokens are evaluated one at a
// time in an embeddings context and, for every position, llama.cpp's final
// hidden state (its t_embd: the output RMSNorm of the last layer, the input
// of the output projection) is written instead: n_embd float32 per row.
// This is much cheaper than probabilities for large vocabularies (node-
// llama-cpp hands each distribution to JavaScript as an array of pairs).
//
// A job {"model": ..., "texts": ["...", ...], "out": ...} instead tokenizes
// each text with llama.cpp's tokenizer (common_tokenize with add_special and
// parse_special false, as llama.cpp's test-tokenizer-0) and writes to out a
// JSON array holding, per text, its token ids.
//
// out is little-endian: uint32 vocabulary size V (or n_embd), uint32 rows R,
// then R rows of V float32 in token-id order. stdout gets a JSON object
// (below) with, per job, the generated token ids (empty for generate 0 and
// for tokenization).
//
// A job {"model": ..., "texts": ["...", ...], "out": ...} instead tokenizes
// each text with llama.cpp's tokenizer (common_tokenize with add_special and
// parse_special false, as llama.cpp's test-tokenizer-0) and writes to out a
// JSON array holding, per text, its token ids.
//
// Options through the environment: LMGC_LLAMACPP_KV (KV cache type: F16, as
// llama.cpp's default, or F32), LMGC_LLAMACPP_THREADS (default 1),
// LMGC_LLAMACPP_VARIANT (a CPU variant of ggml to force, see below; default:
// the one ggml picks). Flash attention is always off.
//
// CPU variants: node-llama-cpp's binaries package holds one
// libggml-cpu-<variant>.so per x86 micro-architecture (haswell, zen4,
// sapphirerapids, x64, ...). ggml loads every such file of the binaries
// directory, asks each for its score on this CPU (0: an instruction it needs
// is missing) and keeps the best. To force a variant, refrun.mjs builds a
// temporary binaries directory of symbolic links to the package's files in
// which that variant is the only libggml-cpu-*.so, and a module resolve hook
// makes node-llama-cpp's import of the binaries package return that
// directory. The variant that was actually loaded is read back from
// /proc/self/maps and reported on stdout (see below); a variant this CPU
// cannot run (score 0) loads none, and refrun.mjs exits with status 3.
//
// stdout: {"variant": "<loaded variant>", "generated": [[ids of job 0], ...]}.
import { readFileSync, writeFileSync, readdirSync, mkdtempSync, mkdirSync, symlinkSync, rmSync } from "node:fs";
import * as nodeModule from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cpuLib, loadedVariants } from "./ggmlcpu.mjs";

function fail(msg) {
    process.stderr.write(`refrun: ${msg}\n`);
    process.exit(2);
}

function readJobs() {
    let jobs;
    try {
        jobs = JSON.parse(readFileSync(0, "utf8"));
    } catch (e) {
        fail(`reading jobs from stdin: ${e.message}`);
    }
    if (!Array.isArray(jobs) || jobs.length === 0)
        fail("stdin must hold a non-empty JSON array of jobs");
    for (const [i, j] of jobs.entries()) {
        if (typeof j.model !== "string" || typeof j.out !== "string")
            fail(`job ${i}: model and out must be paths`);
        if (j.texts !== undefined) {
            if (!Array.isArray(j.texts) || !j.texts.every((t) => typeof t === "string"))
                fail(`job ${i}: texts must be an array of strings`);
            continue;
        }
        if (!Array.isArray(j.tokens) || j.tokens.length === 0 || !j.tokens.every((t) => Number.isInteger(t) && t >= 0))
            fail(`job ${i}: tokens must be a non-empty array of non-negative integers`);
        if (!Number.isInteger(j.generate) || j.generate < 0)
            fail(`job ${i}: generate must be a non-negative integer`);
        if (j.hidden === true && j.generate !== 0)
            fail(`job ${i}: hidden states are for generate 0 only`);
        if (j.incremental != null && typeof j.incremental !== "boolean")
            fail(`job ${i}: incremental must be true or false`);
    }
    return jobs;
}

const kv = process.env.LMGC_LLAMACPP_KV || "F16";
const threads = Number(process.env.LMGC_LLAMACPP_THREADS || "1");
const greedy = { temperature: 0 };
const withProbs = { generateNext: { token: true, probabilities: true, options: greedy } };

// rowsToBuffer lays out probability maps as refrun's output file.
function rowsToBuffer(rows, what) {
    const nVocab = rows[0].size;
    const buf = Buffer.alloc(8 + 4 * nVocab * rows.length);
    buf.writeUInt32LE(nVocab, 0);
    buf.writeUInt32LE(rows.length, 4);
    rows.forEach((p, i) => {
        if (p.size !== nVocab)
            fail(`${what}, row ${i}: ${p.size} probabilities for a vocabulary of ${nVocab}`);
        const base = 8 + 4 * nVocab * i;
        for (const [tok, pr] of p) {
            if (tok < 0 || tok >= nVocab)
                fail(`${what}, row ${i}: token id ${tok} outside the vocabulary`);
            buf.writeFloatLE(pr, base + 4 * tok);
        }
    });
    return buf;
}

async function tokenizeJob(llama, job) {
    const model = await llama.loadModel({ modelPath: job.model, gpuLayers: 0, vocabOnly: true });
    try {
        const ids = job.texts.map((t) => model.tokenize(t, false));
        writeFileSync(job.out, JSON.stringify(ids));
        return [];
    } finally {
        await model.dispose();
    }
}

async function runJob(llama, job, what) {
    if (job.texts !== undefined)
        return tokenizeJob(llama, job);
    const model = await llama.loadModel({ modelPath: job.model, gpuLayers: 0, useMmap: false });
    try {
        if (job.hidden === true)
            return await runHidden(model, job, what);
        const context = await newContext(model, job.tokens.length + job.generate);
        const seq = context.getSequence({ contextShift: { size: 0 } });
        const rows = [];
        const generated = [];
        if (job.generate === 0 && job.incremental) {
            for (const [i, t] of job.tokens.entries()) {
                const res = await seq.controlledEvaluate([[t, withProbs]]);
                const p = res[0]?.next?.probabilities;
                if (p == null)
                    fail(`${what}: no probabilities for position ${i}`);
                rows.push(p);
            }
        } else if (job.generate === 0) {
            const res = await seq.controlledEvaluate(job.tokens.map((t) => [t, withProbs]));
            for (let i = 0; i < job.tokens.length; i++) {
                const p = res[i]?.next?.probabilities;
                if (p == null)
                    fail(`${what}: no probabilities for position ${i}`);
                rows.push(p);
            }
        } else {
            let input = job.tokens.map((t, i) => (i === job.tokens.length - 1 ? [t, withProbs] : t));
            while (generated.length < job.generate) {
                const res = await seq.controlledEvaluate(input);
                const next = res[input.length - 1]?.next;
                if (next?.token == null || next.probabilities == null)
                    fail(`${what}: nothing generated at step ${generated.length}`);
                generated.push(next.token);
                rows.push(next.probabilities);
                input = [[next.token, withProbs]];
            }
        }
        writeFileSync(job.out, rowsToBuffer(rows, what));
        await context.dispose();
        return generated;
    } finally {
        await model.dispose();
    }
}

// newContext makes the one-sequence context every job evaluates in: room for
// positions tokens in one batch (llama.cpp rounds the context up to a
// multiple of 256), no flash attention, the KV cache type of
// LMGC_LLAMACPP_KV; extra adds options.
function newContext(model, positions, extra = {}) {
    const size = Math.ceil(positions / 256) * 256;
    return model.createContext({
        contextSize: size,
        batchSize: size,
        sequences: 1,
        flashAttention: false,
        threads,
        experimentalKvCacheKeyType: kv,
        experimentalKvCacheValueType: kv,
        ...extra,
    });
}

// runHidden writes the final hidden state of every position, one decode per
// token.
async function runHidden(model, job, what) {
    const context = await newContext(model, job.tokens.length, { _embeddings: true });
    try {
        const seq = context.getSequence({ contextShift: { size: 0 } });
        let buf = null;
        let n = 0;
        for (const [i, t] of job.tokens.entries()) {
            for await (const _ of seq.evaluate([t], { _noSampling: true }))
                break;
            if (seq.nextTokenIndex !== i + 1)
                fail(`${what}: ${seq.nextTokenIndex} tokens in the context after token ${i}`);
            const e = context._ctx.getEmbedding(1);
            if (buf == null) {
                n = e.length;
                buf = Buffer.alloc(8 + 4 * n * job.tokens.length);
                buf.writeUInt32LE(n, 0);
                buf.writeUInt32LE(job.tokens.length, 4);
            }
            if (e.length !== n)
                fail(`${what}: hidden state of ${e.length} values at position ${i}, ${n} before`);
            for (let j = 0; j < n; j++)
                buf.writeFloatLE(e[j], 8 + 4 * (n * i + j));
        }
        writeFileSync(job.out, buf);
        return [];
    } finally {
        await context.dispose();
    }
}

const binsPackage = "@node-llama-cpp/linux-x64";

// forceVariant makes node-llama-cpp load the binaries of a temporary
// directory whose only CPU variant is the given one; it returns the
// directory, to be removed at exit.
function forceVariant(variant) {
    if (!/^[A-Za-z0-9_]+$/.test(variant))
        fail(`LMGC_LLAMACPP_VARIANT=${JSON.stringify(variant)} is not a variant name`);
    if (typeof nodeModule.register !== "function" || typeof import.meta.resolve !== "function")
        fail(`forcing a CPU variant needs Node 20.6 or later (module.register, import.meta.resolve); this is ${process.version}`);
    const pkgDir = path.dirname(path.dirname(fileURLToPath(import.meta.resolve(binsPackage))));
    const version = JSON.parse(readFileSync(path.join(pkgDir, "package.json"), "utf8")).version;
    const bins = path.join(pkgDir, "bins");
    const tmp = mkdtempSync(path.join(tmpdir(), "lmgc-llamacpp-variant-"));
    let found = false;
    const have = [];
    for (const folder of readdirSync(bins)) {
        const src = path.join(bins, folder);
        const dst = path.join(tmp, folder);
        mkdirSync(dst);
        for (const f of readdirSync(src)) {
            const m = cpuLib.exec(f);
            if (m) {
                have.push(m[1]);
                if (m[1] !== variant)
                    continue;
                found = true;
            }
            symlinkSync(path.join(src, f), path.join(dst, f));
        }
    }
    if (!found) {
        rmSync(tmp, { recursive: true, force: true });
        fail(`no CPU variant ${variant} in ${bins} (there are: ${[...new Set(have)].sort().join(", ")})`);
    }
    const shim = `export function getBinsDir() { return ${JSON.stringify({ binsDir: tmp, packageVersion: version })}; }`;
    const shimURL = "data:text/javascript," + encodeURIComponent(shim);
    const hooks = `export async function resolve(specifier, context, next) {
        if (specifier === ${JSON.stringify(binsPackage)})
            return { url: ${JSON.stringify(shimURL)}, shortCircuit: true };
        return next(specifier, context);
    }`;
    nodeModule.register("data:text/javascript," + encodeURIComponent(hooks));
    return tmp;
}

// unsupported exits with status 3: the forced variant does not run here.
function unsupported(why) {
    process.stderr.write(`refrun: CPU variant ${variant} does not run on this CPU (${why})\n`);
    process.exit(3);
}

const jobs = readJobs();
const variant = process.env.LMGC_LLAMACPP_VARIANT || "";
const tmpBins = variant === "" ? null : forceVariant(variant);
if (tmpBins != null)
    process.on("exit", () => rmSync(tmpBins, { recursive: true, force: true }));
const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
let llama;
try {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error, progressLogs: false });
} catch (e) {
    if (variant === "")
        fail(`loading llama.cpp: ${e.message}`);
    // node-llama-cpp tests its binary in a child process first; with a
    // variant whose score on this CPU is 0 ggml loads no CPU backend there
    // and the test fails.
    unsupported(`${e.message}`);
}
const loaded = loadedVariants();
if (loaded.length === 0) {
    if (variant !== "")
        unsupported("ggml loaded no CPU backend");
    fail("ggml loaded no CPU backend");
}
if (loaded.length > 1 || (variant !== "" && loaded[0] !== variant))
    fail(`CPU variants loaded: ${loaded.join(", ")}; wanted ${variant || "one"}`);
const results = [];
for (const [i, job] of jobs.entries())
    results.push(await runJob(llama, job, `job ${i} (${job.model})`));
await llama.dispose();
process.stdout.write(JSON.stringify({ variant: loaded[0], generated: results }) + "\n");
