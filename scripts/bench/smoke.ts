#!/usr/bin/env bun
/**
 * How long `dist/llmctl smoke --local` takes, spawn to exit, with the default contract (five
 * queues) and no Redis: the target is under 5 s. Each run's own report gives the time between
 * starting the roles and the last check; the rest is loading the binary's modules and shutdown.
 * Usage: bun scripts/bench/smoke.ts [runs]   (needs dist/llmctl: bun run build)
 */
import { existsSync } from "node:fs";

const runs = Number(Bun.argv[2] ?? 10);
const binary = new URL("../../dist/llmctl", import.meta.url).pathname;
if (!existsSync(binary)) {
  console.error("dist/llmctl is missing: run `bun run build` first");
  process.exit(2);
}

// Nothing configures Redis or a config file: the built-in contract, as on a fresh machine.
const env: Record<string, string> = {};
for (const [key, value] of Object.entries(process.env)) if (value !== undefined && !/^(LLMCTL_|CELERY_)/.test(key)) env[key] = value;

const wall: number[] = [];
const reported: number[] = [];
for (let run = 0; run < runs + 1; run++) {
  const started = performance.now();
  const result = Bun.spawnSync([binary, "smoke", "--local", "--json"], { stdout: "pipe", stderr: "pipe", env, cwd: "/tmp" });
  const elapsed = performance.now() - started;
  if (result.exitCode !== 0) throw new Error(`smoke --local exited with ${result.exitCode}:\n${result.stdout.toString()}${result.stderr.toString()}`);
  if (run === 0) continue; // warms the page cache
  wall.push(elapsed);
  reported.push((JSON.parse(result.stdout.toString()) as { duration_ms: number }).duration_ms);
}

const at = (samples: number[], q: number) => [...samples].sort((a, b) => a - b)[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
const line = (label: string, samples: number[]) =>
  console.log(`${label.padEnd(40)} p50 ${(at(samples, 0.5) / 1000).toFixed(2)} s   max ${(Math.max(...samples) / 1000).toFixed(2)} s`);
console.log(`llmctl smoke --local, ${runs} runs`);
line("spawn to exit (wall)", wall);
line("roles started to last check (report)", reported);
