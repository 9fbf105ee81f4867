/**
 * Runs in its own thread: extends the locks of the jobs the worker is running, on its own Redis
 * connection. A handler that blocks the main thread's event loop (CPU-bound code, a sync call)
 * would otherwise stop BullMQ's timer-based renewal, the lock would expire, and another worker
 * would run the job a second time.
 */
import { Redis } from "ioredis";
import extendLockScript from "../broker/scripts/extend-lock.lua" with { type: "text" };
import { redisOptions } from "../broker/connections.ts";
import type { RenewalMessage, RenewalReport } from "./lock-renewal.ts";
import { LockTable } from "./lock-table.ts";

declare const self: Worker;

interface Tracked {
  queue: string;
  jobId: string;
  token: string;
}

type ExtendingRedis = Redis & { llmctlExtendLock(lockKey: string, stalledKey: string, token: string, durationMs: number, jobId: string): Promise<number> };

let redis: ExtendingRedis | undefined;
let prefix = "";
let lockDurationMs = 30_000;
let timer: ReturnType<typeof setInterval> | undefined;
/** Jobs sent by message (their entry did not fit the shared table). */
const tracked = new Map<string, Tracked>();
let table: LockTable | undefined;
/** Table entries already reported lost, by slot and generation, so each is reported once. */
let reportedLost = new Set<string>();

function report(message: RenewalReport): void {
  postMessage(message);
}

async function renewAll(): Promise<void> {
  const fromTable = table?.read() ?? [];
  if (!redis || tracked.size + fromTable.length === 0) return;
  const jobs: Array<Tracked & { slot?: number; generation?: number }> = [...tracked.values(), ...fromTable];
  const pipeline = redis.pipeline();
  for (const job of jobs) {
    (pipeline as unknown as ExtendingRedis).llmctlExtendLock(`${prefix}:${job.queue}:${job.jobId}:lock`, `${prefix}:${job.queue}:stalled`, job.token, lockDurationMs, job.jobId);
  }
  const results = (await pipeline.exec()) ?? [];
  const stillLost = new Set<string>();
  results.forEach(([error, extended], index) => {
    const job = jobs[index]!;
    if (error) {
      report({ type: "error", message: String(error) });
      return;
    }
    if (extended === 1) return;
    if (job.slot === undefined) {
      if (tracked.delete(`${job.queue}/${job.jobId}`)) report({ type: "lost", queue: job.queue, jobId: job.jobId });
      return;
    }
    const once = `${job.slot}:${job.generation}`;
    stillLost.add(once);
    // The main thread discards reports about jobs that finished meanwhile.
    if (!reportedLost.has(once)) report({ type: "lost", queue: job.queue, jobId: job.jobId });
  });
  reportedLost = stillLost;
}

self.onmessage = (event: MessageEvent<RenewalMessage>) => {
  const message = event.data;
  switch (message.type) {
    case "init": {
      prefix = message.prefix;
      lockDurationMs = message.lockDurationMs;
      table = new LockTable(message.table);
      redis = new Redis({ ...redisOptions(message.target, { purpose: "blocking", name: "llmctl:lock-renewal" }), lazyConnect: false }) as ExtendingRedis;
      redis.defineCommand("llmctlExtendLock", { numberOfKeys: 2, lua: extendLockScript });
      redis.on("error", (error) => report({ type: "error", message: String(error) }));
      redis.once("ready", () => report({ type: "ready" }));
      timer = setInterval(() => {
        renewAll().catch((error) => report({ type: "error", message: String(error) }));
      }, message.renewEveryMs);
      break;
    }
    case "track":
      tracked.set(`${message.queue}/${message.jobId}`, { queue: message.queue, jobId: message.jobId, token: message.token });
      break;
    case "untrack":
      tracked.delete(`${message.queue}/${message.jobId}`);
      break;
    case "close":
      clearInterval(timer);
      tracked.clear();
      redis?.disconnect();
      report({ type: "closed" });
      break;
  }
};
