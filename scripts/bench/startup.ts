#!/usr/bin/env bun
/**
 * Start-up time of the compiled binary. `--version` must not load the subcommands (they are
 * imported lazily); `config validate` loads the config stack and shows what laziness saves.
 * Usage: bun scripts/bench/startup.ts [runs]   (builds dist/llmctl first if missing)
 */
import { existsSync } from "node:fs";

const runs = Number(Bun.argv[2] ?? 40);
const binary = new URL("../../dist/llmctl", import.meta.url).pathname;
if (!existsSync(binary)) {
  console.error("dist/llmctl is missing: run `bun run build` first");
  process.exit(2);
}

function time(argv: string[]): number[] {
  const samples: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    const started = performance.now();
    const result = Bun.spawnSync(argv, { stdout: "ignore", stderr: "ignore", env: { ...process.env, LLMCTL_CONFIG: "" } });
    const elapsed = performance.now() - started;
    if (result.exitCode !== 0) throw new Error(`${argv.join(" ")} exited with ${result.exitCode}`);
    if (i >= 3) samples.push(elapsed); // the first runs warm the page cache
  }
  return samples.sort((a, b) => a - b);
}

function summary(samples: number[]): { p50: number; p95: number; mean: number } {
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { p50: at(0.5), p95: at(0.95), mean: samples.reduce((a, b) => a + b, 0) / samples.length };
}

const cases: Array<[string, string[]]> = [
  ["/bin/true (process spawn floor)", ["/bin/true"]],
  ["llmctl --version", [binary, "--version"]],
  ["llmctl --help", [binary, "--help"]],
  ["llmctl config validate (loads the config stack)", [binary, "config", "validate"]],
];
const results = cases.map(([label, argv]) => ({ label, ...summary(time(argv)) }));
console.log(`runs per case: ${runs}`);
for (const result of results) {
  console.log(`${result.label.padEnd(50)} p50 ${result.p50.toFixed(1).padStart(6)} ms   p95 ${result.p95.toFixed(1).padStart(6)} ms`);
}
const version = results[1]!;
const validate = results[3]!;
console.log(`ratio --version / config validate (p50): ${(version.p50 / validate.p50).toFixed(2)}`);
