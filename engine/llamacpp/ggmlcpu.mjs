// ggmlcpu.mjs: ggml's CPU variants (one libggml-cpu-<variant>.so per x86
// micro-architecture in node-llama-cpp's binaries package), shared by
// refrun.mjs and ctxbench.mjs.
import { readFileSync } from "node:fs";
import path from "node:path";

// cpuLib matches a CPU variant's library name; group 1 is the variant.
export const cpuLib = /^libggml-cpu-([A-Za-z0-9_]+)\.so$/;

// loadedVariants lists the CPU variants of ggml mapped into this process.
export function loadedVariants() {
    const seen = new Set();
    for (const line of readFileSync("/proc/self/maps", "utf8").split("\n")) {
        const m = cpuLib.exec(path.basename(line.trim().split(/\s+/).slice(5).join(" ")));
        if (m)
            seen.add(m[1]);
    }
    return [...seen].sort();
}
