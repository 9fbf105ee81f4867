#!/usr/bin/env bun
/**
 * Drain rate of the embedded store against a real redis-server, in one run: add N no-op jobs
 * with addBulk, then drain them with one BullMQ Worker at concurrency 10; jobs/s for each
 * backend and the ratio embedded / Redis. The Redis server is started on a free port with a
 * temporary directory (test/helpers/redis-server.ts), never the shared one on 6379.
 * Usage: bun scripts/bench/embedded.ts [jobs=20000] [concurrency=10] [--embedded-only]
 */
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { openEmbeddedStore } from "../../src/embedded/index.ts";
import { startRedisServer } from "../../test/helpers/redis-server.ts";

const jobs = Number(Bun.argv[2] && !Bun.argv[2].startsWith("--") ? Bun.argv[2] : 20_000);
const concurrency = Number(Bun.argv[3] && !Bun.argv[3].startsWith("--") ? Bun.argv[3] : 10);

async function drain(label: string, connect: () => Redis): Promise<{ addPerSecond: number; drainPerSecond: number; drainCpuMicrosPerJob: number }> {
  const name = `bench-${label}`;
  // BullMQ does not close connections it was given; these are closed at the end.
  const connections: Redis[] = [];
  const open = () => {
    const connection = connect();
    connections.push(connection);
    return connection;
  };
  const queue = new Queue(name, { connection: open() });
  const addStarted = performance.now();
  for (let i = 0; i < jobs; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, jobs - i) }, (_, j) => ({ name: "noop", data: { i: i + j } })));
  }
  const addSeconds = (performance.now() - addStarted) / 1000;
  let done = 0;
  let finished!: () => void;
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const worker = new Worker(name, async () => {
    if (++done === jobs) finished();
  }, { connection: open(), concurrency, removeOnComplete: { count: 1000 } });
  await allDone;
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStarted);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  for (const connection of connections) connection.disconnect();
  // This process' CPU per drained job (user + system): steadier than a rate on a shared machine.
  // For Redis it leaves out the server's own CPU.
  return { addPerSecond: jobs / addSeconds, drainPerSecond: jobs / seconds, drainCpuMicrosPerJob: (cpu.user + cpu.system) / jobs };
}

if (Bun.argv.includes("--embedded-only")) {
  const store = await openEmbeddedStore();
  console.log(await drain("embedded", () => store.connect()));
  await store.close();
  process.exit(0);
}

const server = await startRedisServer();
try {
  const real = await drain("redis", () => new Redis(server.port, { maxRetriesPerRequest: null }));
  const store = await openEmbeddedStore();
  const embedded = await drain("embedded", () => store.connect());
  await store.close();
  const row = (label: string, r: typeof real) => `${label.padEnd(9)} add ${r.addPerSecond.toFixed(0).padStart(7)} jobs/s   drain ${r.drainPerSecond.toFixed(0).padStart(7)} jobs/s   client-side CPU ${r.drainCpuMicrosPerJob.toFixed(0).padStart(4)} µs/job`;
  console.log(`${jobs} no-op jobs, worker concurrency ${concurrency}`);
  console.log(row("redis", real));
  console.log(row("embedded", embedded));
  console.log(`drain ratio embedded/redis: ${(embedded.drainPerSecond / real.drainPerSecond).toFixed(2)}`);
} finally {
  await server.stop();
}
