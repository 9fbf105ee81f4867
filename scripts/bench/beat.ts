#!/usr/bin/env bun
/**
 * Dispatch latency of beat: from a fire time to its jobs being in Redis. Two beats (one active,
 * one standing by, as deployed) run per-second schedules against a private redis-server for the
 * given number of seconds (default 65): one schedule with a single target and one fanning out
 * to four hosts. "Enqueued" is when Redis appended the job's "added" event to the queue's event
 * stream — the stream entry id is Redis' own clock in milliseconds — so the figure covers the
 * beat's timer, its transaction and BullMQ's insert, and nothing the beat reports about itself.
 * Usage: bun scripts/bench/beat.ts [seconds]
 */
import { Redis } from "ioredis";
import { start } from "../../src/beat/index.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { loadedConfig } from "../../test/helpers/config.ts";
import { startRedisServer } from "../../test/helpers/redis-server.ts";

const seconds = Number(Bun.argv[2] ?? 65);
const redis = await startRedisServer();
const CONFIG = `prefix: bench
queues: [single]
workers:
  fleet: { hostnames: [h1, h2, h3, h4], queue: fleet_q }
schedules:
  single: { cron: "* * * * * *", task: llmctl.ping, targets: [single] }
  fanout: { cron: "* * * * * *", task: llmctl.ping, targets: [fleet] }
`;
const loaded = loadedConfig(CONFIG, redis.url);
const beats = [await start({ loaded, logger: silentLogger(), hostname: "bench-a" }), await start({ loaded, logger: silentLogger(), hostname: "bench-b" })];
process.stderr.write(`running two beats for ${seconds} s…\n`);
await Bun.sleep(seconds * 1000);
await Promise.all(beats.map((beat) => beat.close()));

const connection = new Redis(redis.port, "127.0.0.1");

/** Latency (ms) per fire time: the last of its jobs' "added" events minus the fire time in the job id. */
async function latencies(queues: string[]): Promise<number[]> {
  const addedAt = new Map<number, number>();
  for (const queue of queues) {
    const entries = await connection.xrange(`bench:${queue}:events`, "-", "+");
    for (const [id, fields] of entries) {
      const event = Object.fromEntries(fields.reduce<string[][]>((pairs, value, index) => (index % 2 ? pairs : [...pairs, [value, fields[index + 1]!]]), []));
      if (event.event !== "added") continue;
      const fireTime = Number(/\.(\d+)(?:-[^.]+)?$/.exec(event.jobId!)![1]);
      addedAt.set(fireTime, Math.max(addedAt.get(fireTime) ?? 0, Number(id.split("-")[0])));
    }
  }
  return [...addedAt].map(([fireTime, added]) => added - fireTime).sort((a, b) => a - b);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const rows = [
  ["single target", await latencies(["single"])],
  ["fan-out to 4 hosts", await latencies(["fleet_q.h1", "fleet_q.h2", "fleet_q.h3", "fleet_q.h4"])],
] as const;
console.log("| schedule | fire times | p50 | p99 | max |\n|---|---|---|---|---|");
for (const [name, values] of rows) {
  console.log(`| ${name} | ${values.length} | ${percentile(values, 50)} ms | ${percentile(values, 99)} ms | ${values.at(-1)} ms |`);
}
connection.disconnect();
await redis.stop();
