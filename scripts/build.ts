#!/usr/bin/env bun
/**
 * Builds the single executable: `bun run build` → dist/llmctl for this machine (linux-x64 on
 * the build hosts). Cross-compile with `bun run build --target linux-arm64`, which writes
 * dist/llmctl-linux-arm64.
 */
import { parseArgs } from "node:util";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";

const TARGETS = ["linux-x64", "linux-arm64", "linux-x64-musl", "linux-arm64-musl"] as const;

const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { target: { type: "string" }, outfile: { type: "string" } },
});

const target = values.target;
if (target !== undefined && !TARGETS.includes(target as (typeof TARGETS)[number])) {
  console.error(`error: --target ${target} is not supported; use one of ${TARGETS.join(", ")}`);
  process.exit(2);
}
const outfile = values.outfile ?? (target ? `dist/llmctl-${target}` : "dist/llmctl");
mkdirSync(dirname(outfile), { recursive: true });

const started = performance.now();
const result = await Bun.build({
  // The lock-renewal thread is its own entry point so that the compiled binary can start it.
  entrypoints: ["src/main.ts", "src/worker/lock-renewal-thread.ts"],
  compile: { outfile, ...(target ? { target: `bun-${target}` as Bun.Build.CompileTarget } : {}) },
  minify: true,
  sourcemap: "linked",
  bytecode: true,
  format: "esm",
  define: { "process.env.NODE_ENV": '"production"' },
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
const size = Bun.file(outfile).size;
console.log(`built ${outfile} (${(size / 1024 / 1024).toFixed(1)} MiB) in ${Math.round(performance.now() - started)} ms`);
