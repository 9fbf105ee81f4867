/**
 * Runs in its own thread: extends the locks of the jobs the worker is running, on its own Redis
 * connection. A handler that blocks the main thread's event loop (CPU-bound code, a sync call)
 * would otherwise stop BullMQ's timer-based renewal, the lock would expire, and another worker
 * would run the job a second time.
 *
 * It talks to Redis over a plain socket (renewal-connection.ts): loading ioredis into a fresh
 * thread took about 100 ms of CPU at every worker start, and Bun's RedisClient, idle in this
 * thread, slowed the main thread's short jobs (docs/benchmarks.md).
 */
import extendLockScript from "../broker/scripts/extend-lock.lua" with { type: "text" };
import type { RenewalMessage, RenewalReport } from "./lock-renewal.ts";
import { LockTable } from "./lock-table.ts";
import { RedisReplyError, RenewalConnection, type RenewalTarget } from "./renewal-connection.ts";

declare const self: Worker;

interface Tracked {
  queue: string;
  jobId: string;
  token: string;
}

const EXTEND_LOCK_SHA = new Bun.CryptoHasher("sha1").update(extendLockScript).digest("hex");
const RECONNECT_MS = 250;

let target: RenewalTarget | undefined;
let connectionName = "";
let redis: RenewalConnection | undefined;
let prefix = "";
let lockDurationMs = 30_000;
let timer: ReturnType<typeof setInterval> | undefined;
let closing = false;
/** Jobs sent by message (their entry did not fit the shared table). */
const tracked = new Map<string, Tracked>();
let table: LockTable | undefined;
/** Table entries already reported lost, by slot and generation, so each is reported once. */
let reportedLost = new Set<string>();

function report(message: RenewalReport): void {
  postMessage(message);
}

/** Opens a connection, trying again until it succeeds or the thread closes; reports the first failure. */
async function connect(): Promise<void> {
  for (let attempt = 0; !closing; attempt++) {
    try {
      const connection = await RenewalConnection.open(target!, connectionName);
      if (closing) {
        connection.close();
        return;
      }
      connection.onclose = (error) => {
        if (redis === connection) redis = undefined;
        if (!closing) report({ type: "error", message: `connection closed: ${error.message}` });
        void connect();
      };
      redis = connection;
      return;
    } catch (error) {
      if (attempt === 0) report({ type: "error", message: String(error) });
      await Bun.sleep(RECONNECT_MS);
    }
  }
}

async function extendLock(client: RenewalConnection, job: Tracked): Promise<number> {
  const args = ["2", `${prefix}:${job.queue}:${job.jobId}:lock`, `${prefix}:${job.queue}:stalled`, job.token, String(lockDurationMs), job.jobId];
  try {
    return Number(await client.send(["EVALSHA", EXTEND_LOCK_SHA, ...args]));
  } catch (error) {
    if (!(error instanceof RedisReplyError) || !error.message.startsWith("NOSCRIPT")) throw error;
    return Number(await client.send(["EVAL", extendLockScript, ...args]));
  }
}

async function renewAll(): Promise<void> {
  const fromTable = table?.read() ?? [];
  if (tracked.size + fromTable.length === 0) return;
  // While the connection is being made again this round fails, and is reported as one error.
  if (!redis) throw new Error("not connected to Redis; connecting again");
  const client = redis;
  const jobs: Array<Tracked & { slot?: number; generation?: number }> = [...tracked.values(), ...fromTable];
  // Sent in the same tick, so Bun's client writes them as one pipeline.
  const results = await Promise.allSettled(jobs.map((job) => extendLock(client, job)));
  const stillLost = new Set<string>();
  const failures: unknown[] = [];
  results.forEach((result, index) => {
    const job = jobs[index]!;
    if (result.status === "rejected") {
      failures.push(result.reason);
      return;
    }
    if (result.value === 1) return;
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
  // One report per round: while Redis is away every renewal fails the same way.
  if (failures.length > 0) report({ type: "error", message: `${failures.length} of ${jobs.length} renewals: ${String(failures[0])}` });
}

self.onmessage = (event: MessageEvent<RenewalMessage>) => {
  const message = event.data;
  switch (message.type) {
    case "init": {
      prefix = message.prefix;
      lockDurationMs = message.lockDurationMs;
      table = new LockTable(message.table);
      target = message.target;
      connectionName = message.name;
      void connect().then(() => {
        if (redis) report({ type: "ready" });
      });
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
      closing = true;
      clearInterval(timer);
      tracked.clear();
      redis?.close();
      report({ type: "closed" });
      break;
  }
};
