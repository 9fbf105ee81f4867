#!/usr/bin/env bun
/**
 * Throughput of the llmctl worker runtime (`start()` in src/worker/) against a raw BullMQ
 * Worker, on the same private redis-server, in one run: no-op jobs added up front, then drained
 * at concurrency 2 and 50. A worker runs for days, so a run's rate and CPU per job are those of
 * its steady state: from when the worker has started (llmctl's start() has returned: connected,
 * revocations read, renewal thread booted, heartbeat published) and a tenth of the jobs have
 * run, until the queue is empty. Start-up is reported apart: the time from the worker's
 * construction to its first job, and a second ratio over the whole run.
 *
 * Usage: bun scripts/bench/worker.ts [jobs-at-2] [jobs-at-50] [rounds] [--only raw|llmctl] [--concurrency N] [--calibrate]
 *   jobs-at-2       jobs per run at concurrency 2 (default 5000)
 *   jobs-at-50      jobs per run at concurrency 50 (default 20000)
 *   rounds          measured runs per side and concurrency (default 20), after one warm-up run of
 *                   each side; each round runs both sides back to back, swapping who goes first,
 *                   so an even number gives each side the first place equally often
 *   --only          run one side only (for `bun --cpu-prof`); prints no ratio
 *   --concurrency   run only this concurrency (2 or 50)
 *   --calibrate     run raw BullMQ on both sides (an A/A test): how far the ratio strays from 1
 *                   with identical code is this machine's resolution for the real comparison
 *
 * Both sides drain identical jobs: built by the producer's own code (payload, UUIDv7 ids,
 * attempts, removeOnComplete/removeOnFail retention), on a freshly obliterated queue. Printed:
 * each side's median and best rate, and the ratio llmctl/raw as the median of the rounds' ratios
 * (a round's two runs are seconds apart, so load from elsewhere mostly hits both), the same
 * with start-up included, CPU per job and the time to the first job. Run it under
 * `flock /tmp/llmctl-heavy.lock` on a shared machine.
 */
import { loadavg } from "node:os";
import { parseArgs } from "node:util";
import { Worker } from "bullmq";
import { Redis } from "ioredis";
import { openBroker } from "../../src/broker/broker.ts";
import { buildJobs, planEnqueue } from "../../src/broker/producer.ts";
import { defineTask } from "../../src/tasks/define.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start } from "../../src/worker/index.ts";
import { loadedConfig } from "../../test/helpers/config.ts";
import { startRedisServer } from "../../test/helpers/redis-server.ts";

type Side = "raw" | "llmctl";

const { values: flags, positionals } = parseArgs({
  args: Bun.argv.slice(2),
  allowPositionals: true,
  options: { only: { type: "string" }, concurrency: { type: "string" }, calibrate: { type: "boolean" } },
});
const sizes: Record<number, number> = { 2: Number(positionals[0] ?? 5000), 50: Number(positionals[1] ?? 20000) };
const rounds = Number(positionals[2] ?? 20);
const sides: Side[] = flags.only === "raw" || flags.only === "llmctl" ? [flags.only] : ["raw", "llmctl"];
/** With --calibrate both sides run raw BullMQ: the ratio then shows the benchmark's own noise. */
const label = (side: Side) => (side === "llmctl" && flags.calibrate ? "raw-again" : side);
const concurrencies = flags.concurrency ? [Number(flags.concurrency)] : [2, 50];
const WARM_UP_JOBS = 2000;
const QUEUE = "bench";
const PREFIX = "bench";

const redis = await startRedisServer();
const loaded = loadedConfig(`prefix: ${PREFIX}\nqueues: [${QUEUE}]\nworker: { heartbeat: 5s }\n`, redis.url);
/**
 * What the handlers of the current run saw. Its steady state begins once the worker has started
 * (llmctl's start() has returned, so its renewal thread has booted) and a tenth of the jobs have
 * run; rate and CPU per job are measured from there, start-up is reported apart.
 */
interface RunClock {
  jobs: number;
  settleJobs: number;
  startedUp: boolean;
  firstJobAt?: number;
  steadyAt?: number;
  steadyJobs: number;
  steadyCpu?: NodeJS.CpuUsage;
}
let clock: RunClock = { jobs: 0, settleJobs: 0, startedUp: false, steadyJobs: 0 };

function jobStarted(): void {
  const now = performance.now();
  clock.firstJobAt ??= now;
  clock.jobs++;
  if (clock.steadyAt === undefined && clock.startedUp && clock.jobs >= clock.settleJobs) {
    clock.steadyAt = now;
    clock.steadyJobs = clock.jobs;
    clock.steadyCpu = process.cpuUsage();
  }
}

const noop = defineTask({
  name: "bench.noop",
  handler: () => {
    jobStarted();
    return null;
  },
});
const registry = new TaskRegistry([noop], loaded.config);
const broker = await openBroker(loaded, "bench");
const connection = new Redis(redis.port, "127.0.0.1", { maxRetriesPerRequest: null });

async function fill(count: number): Promise<void> {
  await broker.queue(QUEUE).obliterate({ force: true });
  const plan = planEnqueue(loaded.config, registry, "bench.noop", {});
  for (let done = 0; done < count; done += 1000) {
    const batch = Array.from({ length: Math.min(1000, count - done) }, () => buildJobs(registry, "bench.noop", plan)).flat();
    await broker.flowProducer().addBulk(batch);
  }
}

async function drained(): Promise<void> {
  const queue = broker.queue(QUEUE);
  for (;;) {
    const counts = await queue.getJobCounts("waiting", "active", "prioritized");
    if ((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0) return;
    await Bun.sleep(5);
  }
}

/** How long each llmctl start() took (part of every llmctl run's time). */
const startMs: number[] = [];

/** CPU time of this process (all its threads) per job in steady state, in µs, for each run: steadier than rates when other work shares the machine. */
const cpuPerJob: Record<Side, number[]> = { raw: [], llmctl: [] };

interface Run {
  /** Jobs per second in steady state, until the queue is empty: the worker's throughput. */
  rate: number;
  /** Jobs per second from the worker's construction until the queue is empty (start-up included). */
  rateWithStart: number;
  /** From the worker's construction until its first job started. */
  firstJobMs: number;
}

async function run(side: Side, concurrency: number, count: number): Promise<Run> {
  await fill(count);
  clock = { jobs: 0, settleJobs: Math.ceil(count / 10), startedUp: false, steadyJobs: 0 };
  const cpuAtStart = process.cpuUsage();
  const started = performance.now();
  let close: () => Promise<void>;
  if (side === "raw" || flags.calibrate) {
    const workerConnection = connection.duplicate();
    const processor = async () => {
      jobStarted();
      return null;
    };
    const worker = new Worker(QUEUE, processor, { connection: workerConnection, prefix: PREFIX, concurrency });
    clock.startedUp = true;
    close = async () => {
      await worker.close();
      workerConnection.disconnect();
    };
  } else {
    const worker = await start({ loaded, registry, logger: silentLogger(), queues: QUEUE, concurrency, broker });
    startMs.push(performance.now() - started);
    clock.startedUp = true;
    close = () => worker.close();
  }
  await drained();
  const ended = performance.now();
  // A run too short to settle (start() returned after its jobs were done) counts from its first job.
  const steadyAt = clock.steadyAt ?? clock.firstJobAt ?? started;
  const steadyJobs = count - (clock.steadyAt === undefined ? 0 : clock.steadyJobs);
  const cpu = process.cpuUsage(clock.steadyCpu ?? cpuAtStart);
  cpuPerJob[side].push((cpu.user + cpu.system) / steadyJobs);
  await close();
  return { rate: steadyJobs / ((ended - steadyAt) / 1000), rateWithStart: count / ((ended - started) / 1000), firstJobMs: (clock.firstJobAt ?? started) - started };
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const best = (values: number[]) => Math.max(...values);
const rate = (value: number) => `${value.toFixed(0)} jobs/s`;

const load = () => loadavg().map((value) => value.toFixed(2)).join(" ");

console.log(`redis-server ${redis.port}, Bun ${Bun.version}; no-op jobs added before each run; ${rounds} rounds after a warm-up; load average ${load()}`);
for (const concurrency of concurrencies) {
  const count = sizes[concurrency] ?? sizes[50]!;
  for (const side of sides) await run(side, concurrency, Math.min(count, WARM_UP_JOBS));
  for (const side of sides) cpuPerJob[side].length = 0;
  const runs: Record<Side, Run[]> = { raw: [], llmctl: [] };
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? sides : [...sides].reverse();
    for (const side of order) runs[side].push(await run(side, concurrency, count));
  }
  const rates = (side: Side) => runs[side].map((one) => one.rate);
  const listed = sides.map((side) => `${label(side)} ${rates(side).map((value) => value.toFixed(0)).join(", ")}`).join("; ");
  const summary = sides.map((side) => `${label(side)} ${rate(median(rates(side)))} (best ${rate(best(rates(side))).replace(" jobs/s", "")})`).join("  ");
  const cpu = sides.map((side) => `${label(side)} ${median(cpuPerJob[side]).toFixed(0)}`).join(", ");
  const firstJob = sides.map((side) => `${label(side)} ${median(runs[side].map((one) => one.firstJobMs)).toFixed(0)} ms`).join(", ");
  let ratio = "";
  let ratios = "";
  if (sides.length === 2) {
    const roundRatios = (of: (one: Run) => number) => runs.llmctl.map((ours, round) => of(ours) / of(runs.raw[round]!));
    const throughput = roundRatios((one) => one.rate);
    ratio = `  ratio ${median(throughput).toFixed(3)} (of medians ${(median(rates("llmctl")) / median(rates("raw"))).toFixed(3)}; with start-up ${median(roundRatios((one) => one.rateWithStart)).toFixed(3)})`;
    ratios = `; ratios ${throughput.map((value) => value.toFixed(2)).join(", ")}`;
  }
  console.log(
    `concurrency ${String(concurrency).padStart(2)}: ${count} jobs, median  ${summary}${ratio}\n  runs: ${listed}${ratios}\n  CPU of this process per job (median µs): ${cpu}; worker start to first job (median): ${firstJob}`,
  );
}
if (startMs.length > 0) console.log(`llmctl start(): median ${median(startMs).toFixed(0)} ms`);
console.log(`load average after: ${load()}`);
connection.disconnect();
await broker.close();
await redis.stop();
// The test helper's redis-server leaves a handle that keeps the event loop alive, and this
// script must not hold the shared benchmark lock (flock) after it has printed its figures.
process.exit(0);
