// refrun.mjs runs llama.cpp (through node-llama-cpp, on the CPU, offline) as a
// reference for lmgc's Go engine.
//
// Usage: node refrun.mjs < jobs.json > results.json
//
// stdin holds a JSON array of jobs, run in order with one llama.cpp
// instance:
//
//	{"model": "/abs/path.gguf", "tokens": [1, 2, ...], "generate": 0, "out": "/abs/out.bin"}
//
// With generate 0 the tokens are evaluated as one sequence and, for every
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
// A job {"model": "...", "texts": ["...", ...]} tokenizes each text
// instead, as llama_tokenize(text, add_special = false, parse_special =
// false); it has no out file.
//
// out is little-endian: uint32 vocabulary size V (or n_embd), uint32 rows R,
// then R rows of V float32 in token-id order. stdout gets a JSON array with,
// per job, the generated token ids (empty for generate 0), or the token ids
// of each text.
//
// Options through the environment: LMGC_LLAMACPP_KV (KV cache type: F16, as
// llama.cpp's default, or F32), LMGC_LLAMACPP_THREADS (default 1). Flash
// attention is always off.
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { readFileSync, writeFileSync } from "node:fs";

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
        if (typeof j.model === "string" && Array.isArray(j.texts)) {
            if (!j.texts.every((t) => typeof t === "string"))
                fail(`job ${i}: texts must be strings`);
            continue;
        }
        if (typeof j.model !== "string" || typeof j.out !== "string")
            fail(`job ${i}: model and out must be paths`);
        if (!Array.isArray(j.tokens) || j.tokens.length === 0 || !j.tokens.every((t) => Number.isInteger(t) && t >= 0))
            fail(`job ${i}: tokens must be a non-empty array of non-negative integers`);
        if (!Number.isInteger(j.generate) || j.generate < 0)
            fail(`job ${i}: generate must be a non-negative integer`);
        if (j.hidden === true && j.generate !== 0)
            fail(`job ${i}: hidden states are for generate 0 only`);
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

async function runJob(llama, job, what) {
    const model = await llama.loadModel({ modelPath: job.model, gpuLayers: 0, useMmap: false });
    try {
        if (Array.isArray(job.texts))
            return job.texts.map((t) => model.tokenize(t, false));
        if (job.hidden === true)
            return await runHidden(model, job, what);
        // llama.cpp rounds the context up to a multiple of 256.
        const size = Math.ceil((job.tokens.length + job.generate) / 256) * 256;
        const context = await model.createContext({
            contextSize: size,
            batchSize: size,
            sequences: 1,
            flashAttention: false,
            threads,
            experimentalKvCacheKeyType: kv,
            experimentalKvCacheValueType: kv,
        });
        const seq = context.getSequence({ contextShift: { size: 0 } });
        const rows = [];
        const generated = [];
        if (job.generate === 0) {
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

// runHidden writes the final hidden state of every position, one decode per
// token.
async function runHidden(model, job, what) {
    const size = Math.ceil(job.tokens.length / 256) * 256;
    const context = await model.createContext({
        contextSize: size,
        batchSize: size,
        sequences: 1,
        flashAttention: false,
        threads,
        experimentalKvCacheKeyType: kv,
        experimentalKvCacheValueType: kv,
        _embeddings: true,
    });
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

const jobs = readJobs();
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const results = [];
for (const [i, job] of jobs.entries())
    results.push(await runJob(llama, job, `job ${i} (${job.model})`));
await llama.dispose();
process.stdout.write(JSON.stringify(results) + "\n");
