#!/usr/bin/env bun
/**
 * Throughput of the llmctl worker runtime against a raw BullMQ Worker, on the same private
 * redis-server, in one run: no-op jobs added up front, then drained at concurrency 2 and 50.
 * Both get identical job options; each side runs twice, interleaved, and the better run counts.
 * Usage: bun scripts/bench/worker.ts [jobs-at-2] [jobs-at-50]
 */
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { openBroker } from "../../src/broker/broker.ts";
import { KEEP_COMPLETED, KEEP_FAILED, Producer } from "../../src/broker/producer.ts";
import { defineTask } from "../../src/tasks/define.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start } from "../../src/worker/index.ts";
import { loadedConfig } from "../../test/helpers/config.ts";
import { startRedisServer } from "../../test/helpers/redis-server.ts";

const sizes: Record<number, number> = { 2: Number(Bun.argv[2] ?? 5000), 50: Number(Bun.argv[3] ?? 20000) };
const redis = await startRedisServer();
const CONFIG = "prefix: bench\nqueues: [bench]\nworker: { heartbeat: 5s }\n";
const loaded = loadedConfig(CONFIG, redis.url);
const noop = defineTask({ name: "bench.noop", handler: () => null });
const registry = new TaskRegistry([noop], loaded.config);
const broker = await openBroker(loaded, "bench");
const producer = new Producer(broker, registry);
const connection = new Redis(redis.port, "127.0.0.1", { maxRetriesPerRequest: null });

async function fill(queueName: string, count: number, viaProducer: boolean): Promise<void> {
  const queue = new Queue(queueName, { connection, prefix: "bench" });
  await queue.obliterate({ force: true });
  for (let done = 0; done < count; done += 1000) {
    const batch = Math.min(1000, count - done);
    if (viaProducer) {
      // The producer enqueues one fan-out per call; a batch of single-target calls is what clients do.
      await Promise.all(Array.from({ length: batch }, () => producer.enqueue("bench.noop", {})));
    } else {
      await queue.addBulk(Array.from({ length: batch }, () => ({ name: "bench.noop", data: { args: {}, meta: { source: "api", enqueued_at: "" } }, opts: { removeOnComplete: KEEP_COMPLETED, removeOnFail: KEEP_FAILED } })));
    }
  }
  await queue.close();
}

async function drained(queueName: string): Promise<void> {
  const queue = new Queue(queueName, { connection, prefix: "bench" });
  for (;;) {
    const counts = await queue.getJobCounts("waiting", "active", "prioritized");
    if ((counts.waiting ?? 0) + (counts.active ?? 0) + (counts.prioritized ?? 0) === 0) break;
    await Bun.sleep(10);
  }
  await queue.close();
}

async function runRaw(concurrency: number, count: number): Promise<number> {
  await fill("bench", count, false);
  const started = performance.now();
  const workerConnection = connection.duplicate();
  const worker = new Worker("bench", async () => null, { connection: workerConnection, prefix: "bench", concurrency });
  await drained("bench");
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  workerConnection.disconnect();
  return count / seconds;
}

async function runLlmctl(concurrency: number, count: number): Promise<number> {
  await fill("bench", count, true);
  const started = performance.now();
  const worker = await start({ loaded, registry, logger: silentLogger(), queues: "bench", concurrency, broker });
  await drained("bench");
  const seconds = (performance.now() - started) / 1000;
  await worker.close();
  return count / seconds;
}

console.log(`redis-server ${redis.port}, Bun ${Bun.version}; no-op jobs, added before the workers start`);
for (const concurrency of [2, 50]) {
  const count = sizes[concurrency]!;
  const raw: number[] = [];
  const ours: number[] = [];
  for (let round = 0; round < 2; round++) {
    raw.push(await runRaw(concurrency, count));
    ours.push(await runLlmctl(concurrency, count));
  }
  const best = (values: number[]) => Math.max(...values);
  console.log(
    `concurrency ${String(concurrency).padStart(2)}: ${count} jobs  raw BullMQ ${best(raw).toFixed(0)} jobs/s  llmctl ${best(ours).toFixed(0)} jobs/s  ratio ${(best(ours) / best(raw)).toFixed(3)}  (runs: raw ${raw.map((v) => v.toFixed(0)).join(", ")}; llmctl ${ours.map((v) => v.toFixed(0)).join(", ")})`,
  );
}
connection.disconnect();
await broker.close();
await redis.stop();
