/**
 * The differential check: one deterministic scenario, run on a backend, leaves a dataset; dump it
 * (every key under the prefix with its type and value), normalise what legitimately differs
 * between two runs, and compare dumps key by key.
 *
 * Determinism comes from the scenario, not from the normalisation: fixed job ids, fixed job
 * timestamps (opts.timestamp), fixed prefix and queue names, one fixed worker token and name,
 * jobs fetched and finished by hand in a fixed order, a clock tick apart (no worker loop), errors with a
 * fixed stack. What cannot be fixed is listed in NORMALISATIONS, each with its reason.
 */
import { FlowProducer, Queue, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";

export const PREFIX = "diff";
const MAIN = "main";
const FLOWS = "flows";
const TOKEN = "diff-token-0001";
/**
 * 2039-01-01T00:00:00Z: in the future, so a job's own timestamp never makes it due early, yet
 * below 2^53 / 4096 ms (Sept 2039), so a delayed job's score ((timestamp + delay) * 4096) stays an
 * exact integer in a double, as it does for real-world timestamps.
 */
const T = Date.UTC(2039, 0, 1);

export interface ScenarioResult {
  /** Job ids in the order the worker fetched them. */
  fetched: string[];
}

async function nextMillisecond(): Promise<void> {
  const now = Date.now();
  while (Date.now() === now) await Bun.sleep(1);
}

function fixedError(message: string): Error {
  const error = new Error(message);
  // The stack would name this file's lines and the caller's; the stored stacktrace must not vary.
  error.stack = `Error: ${message}\n    at scenario (differential.ts)`;
  return error;
}

/** Runs the scenario on fresh clients from `connect`; leaves the dataset in place for dumping. */
export async function runScenario(connect: () => Redis): Promise<ScenarioResult> {
  const clients: Redis[] = [];
  const client = () => {
    const made = connect();
    clients.push(made);
    return made;
  };
  const queue = new Queue(MAIN, { connection: client(), prefix: PREFIX });
  const flows = new FlowProducer({ connection: client(), prefix: PREFIX });
  const worker = new Worker(MAIN, null, { connection: client(), prefix: PREFIX, autorun: false, name: "diff-worker" });
  const flowWorker = new Worker(FLOWS, null, { connection: client(), prefix: PREFIX, autorun: false, name: "diff-flow-worker" });
  const fetched: string[] = [];
  try {
    await queue.add("alpha", { n: 1 }, { jobId: "a", timestamp: T });
    await queue.addBulk([
      { name: "beta", data: { n: 2 }, opts: { jobId: "b", timestamp: T, attempts: 2 } },
      { name: "gamma", data: { n: 3 }, opts: { jobId: "c", timestamp: T, removeOnComplete: true } },
    ]);
    await queue.add("prio", { n: 4 }, { jobId: "p", timestamp: T, priority: 2 });
    await queue.add("later", { n: 5 }, { jobId: "d", timestamp: T, delay: 60_000 });
    await queue.add("once", { v: 1 }, { jobId: "u1", timestamp: T, deduplication: { id: "once" } });
    await queue.add("once", { v: 2 }, { jobId: "u2", timestamp: T, deduplication: { id: "once" } });
    await queue.add("debounced", {}, { jobId: "t", timestamp: T, delay: 60_000, deduplication: { id: "ttl", ttl: 60_000 } });
    await queue.add("kept-logs", {}, { jobId: "k", timestamp: T, keepLogs: 2 });
    await flows.add({
      name: "parent",
      queueName: FLOWS,
      data: { role: "parent" },
      opts: { jobId: "fp", timestamp: T },
      children: [
        { name: "child", queueName: FLOWS, data: { i: 1 }, opts: { jobId: "fc1", timestamp: T } },
        { name: "child", queueName: FLOWS, data: { i: 2 }, opts: { jobId: "fc2", timestamp: T } },
      ],
    });

    // Fetch and finish by hand. "p" (prioritized, so last) is left active, with its lock.
    for (let i = 0; i < 12; i++) {
      const job: Job | undefined = await worker.getNextJob(TOKEN, { block: false });
      if (!job) break;
      fetched.push(job.id!);
      if (job.id === "p") break;
      switch (job.id) {
        case "a":
          await job.updateProgress({ pct: 50 });
          await job.log("halfway");
          await job.moveToCompleted({ ok: true }, TOKEN, false);
          break;
        case "b":
          // attempts: 2 and no backoff: the first failure goes straight back to wait.
          await job.moveToFailed(fixedError(`beta failed on attempt ${job.attemptsMade + 1}`), TOKEN, false);
          break;
        case "k":
          for (const row of ["one", "two", "three"]) await job.log(row);
          await job.moveToCompleted("logged", TOKEN, false);
          break;
        default:
          await job.moveToCompleted(`done ${job.id}`, TOKEN, false);
      }
      // A finished set is ordered by finish time, ties by member name: two jobs finished in the
      // same millisecond (a fast run) would swap places against a slower run. One clock tick
      // between finishes keeps the order the scenario's own.
      await nextMillisecond();
    }
    // One child of the flow completes; the parent keeps waiting for the other.
    const child = await flowWorker.getNextJob(TOKEN, { block: false });
    if (child) {
      fetched.push(child.id!);
      await child.moveToCompleted(child.data.i * 7, TOKEN, false);
    }
  } finally {
    await Promise.allSettled([worker.close(), flowWorker.close(), flows.close(), queue.close()]);
    for (const made of clients) made.disconnect();
  }
  return { fetched };
}

export type Value =
  | { type: "string"; value: string }
  | { type: "hash"; value: Record<string, string> }
  | { type: "list"; value: string[] }
  | { type: "set"; value: string[] }
  | { type: "zset"; value: Array<[string, string]> }
  | { type: "stream"; value: Array<[string, string[]]> };

export interface Entry {
  /** Whether the key has a time to live (its remaining time is not compared). */
  expires: boolean;
  data: Value;
}

export type Dump = Record<string, Entry>;

/** Every key under `prefix:` with its type, value and whether it expires. */
export async function dumpKeys(redis: Redis, prefix = PREFIX): Promise<Dump> {
  const keys = (await redis.keys(`${prefix}:*`)).sort();
  const dump: Dump = {};
  for (const key of keys) {
    const type = await redis.type(key);
    const pttl = await redis.pttl(key);
    let data: Value;
    switch (type) {
      case "string":
        data = { type, value: (await redis.get(key)) ?? "" };
        break;
      case "hash": {
        const raw = await redis.hgetall(key);
        data = { type, value: Object.fromEntries(Object.entries(raw).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) };
        break;
      }
      case "list":
        data = { type, value: await redis.lrange(key, 0, -1) };
        break;
      case "set":
        data = { type, value: (await redis.smembers(key)).sort() };
        break;
      case "zset": {
        // Typed methods, not redis.call: ioredis-mock has no `call`. ioredis 6 may hand WITHSCORES
        // replies back as [member, score] pairs or flat; accept both.
        const reply = (await redis.zrange(key, "0", "-1", "WITHSCORES")) as unknown[];
        const pairs: Array<[string, string]> = [];
        if (reply.every(Array.isArray)) {
          for (const [member, score] of reply as unknown[][]) pairs.push([String(member), String(score)]);
        } else {
          for (let i = 0; i < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
        }
        data = { type, value: pairs };
        break;
      }
      case "stream": {
        const entries = (await redis.xrange(key, "-", "+")) as Array<[string, string[]]>;
        data = { type, value: entries.map(([id, fields]) => [String(id), fields.map(String)]) };
        break;
      }
      default:
        throw new Error(`key ${key} has a type the dump does not know: ${type}`);
    }
    dump[key] = { expires: pttl >= 0, data };
  }
  return dump;
}

const WALL_CLOCK_MS = /^\d{13}$/;

export interface Normalisation {
  what: string;
  reason: string;
  apply(key: string, entry: Entry): Entry;
}

/**
 * What legitimately differs between two runs of the scenario, and why. Everything else must be
 * identical, byte for byte.
 */
export const NORMALISATIONS: Normalisation[] = [
  {
    what: "job hash fields processedOn and finishedOn (13-digit ms values only)",
    reason: "the wall clock when the worker fetched/finished the job; BullMQ takes Date.now() and offers no option to fix it",
    apply(_key, entry) {
      if (entry.data.type !== "hash") return entry;
      const value = { ...entry.data.value };
      for (const field of ["processedOn", "finishedOn"]) {
        if (value[field] !== undefined && WALL_CLOCK_MS.test(value[field]!)) value[field] = "<wall-clock>";
      }
      return { ...entry, data: { type: "hash", value } };
    },
  },
  {
    what: "scores of the completed and failed sets (13-digit ms values only)",
    reason: "a finished job's score is its finishedOn, the wall clock (see above); the members' order is still compared",
    apply(key, entry) {
      if (entry.data.type !== "zset" || !/:(completed|failed)$/.test(key)) return entry;
      return {
        ...entry,
        data: { type: "zset", value: entry.data.value.map(([member, score]) => [member, WALL_CLOCK_MS.test(score) ? "<wall-clock>" : score]) },
      };
    },
  },
  {
    what: "key order inside JSON objects written by scripts (job hash field opts)",
    reason:
      "cjson.encode writes a Lua table's keys in the table's internal hash order, which differs between Redis' Lua 5.1 and the embedded store's fengari; JSON object order carries no meaning and BullMQ reads the field with JSON.parse. Keys are sorted; every key and value is still compared",
    apply(_key, entry) {
      if (entry.data.type !== "hash" || entry.data.value.opts === undefined) return entry;
      return { ...entry, data: { type: "hash", value: { ...entry.data.value, opts: sortedJson(entry.data.value.opts) } } };
    },
  },
  {
    what: "stream entry ids (events stream)",
    reason: "XADD * ids are <ms>-<seq> from the server clock; they are checked to increase, then replaced by their position",
    apply(key, entry) {
      if (entry.data.type !== "stream") return entry;
      const ids = entry.data.value.map(([id]) => id);
      for (let i = 1; i < ids.length; i++) {
        if (compareStreamIds(ids[i - 1]!, ids[i]!) >= 0) throw new Error(`stream ${key}: id ${ids[i]} does not follow ${ids[i - 1]}`);
      }
      return { ...entry, data: { type: "stream", value: entry.data.value.map(([, fields], i) => [`#${i}`, fields]) } };
    },
  },
];

function sortedJson(text: string): string {
  const sort = (value: unknown): unknown =>
    Array.isArray(value)
      ? value.map(sort)
      : value !== null && typeof value === "object"
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, sort(v)]))
        : value;
  try {
    return JSON.stringify(sort(JSON.parse(text)));
  } catch {
    return text; // not JSON: compared as written
  }
}

function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split("-").map(BigInt);
  const [bm = 0n, bs = 0n] = b.split("-").map(BigInt);
  return am === bm ? Number(as - bs) : am < bm ? -1 : 1;
}

export function normalise(dump: Dump): Dump {
  const out: Dump = {};
  for (const [key, entry] of Object.entries(dump)) {
    out[key] = NORMALISATIONS.reduce((current, rule) => rule.apply(key, current), entry);
  }
  return out;
}

/** Human-readable differences between two normalised dumps; empty when they match. */
export function diffDumps(expected: Dump, actual: Dump, labels: [string, string] = ["expected", "actual"]): string[] {
  const differences: string[] = [];
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  for (const key of keys) {
    const a = expected[key];
    const b = actual[key];
    if (!a) {
      differences.push(`${key}: only in ${labels[1]} (${b!.data.type})`);
      continue;
    }
    if (!b) {
      differences.push(`${key}: only in ${labels[0]} (${a.data.type})`);
      continue;
    }
    if (a.data.type !== b.data.type) {
      differences.push(`${key}: type ${a.data.type} in ${labels[0]}, ${b.data.type} in ${labels[1]}`);
      continue;
    }
    if (a.expires !== b.expires) {
      differences.push(`${key}: ${a.expires ? "expires" : "persistent"} in ${labels[0]}, ${b.expires ? "expires" : "persistent"} in ${labels[1]}`);
    }
    if (a.data.type === "hash" && b.data.type === "hash") {
      const fields = [...new Set([...Object.keys(a.data.value), ...Object.keys(b.data.value)])].sort();
      for (const field of fields) {
        const va = a.data.value[field];
        const vb = b.data.value[field];
        if (va !== vb) differences.push(`${key} [${field}]: ${JSON.stringify(va)} in ${labels[0]}, ${JSON.stringify(vb)} in ${labels[1]}`);
      }
      continue;
    }
    const ja = JSON.stringify(a.data.value);
    const jb = JSON.stringify(b.data.value);
    if (ja !== jb) differences.push(`${key} (${a.data.type}): ${ja} in ${labels[0]}, ${jb} in ${labels[1]}`);
  }
  return differences;
}
