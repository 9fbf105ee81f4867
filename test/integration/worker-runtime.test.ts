import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { z } from "zod";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector } from "../../src/broker/inspector.ts";
import { revokeJob } from "../../src/broker/job-control.ts";
import { Producer } from "../../src/broker/producer.ts";
import { waitForJobs } from "../../src/broker/job-waiter.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { defineTask, type TaskDefinition } from "../../src/tasks/define.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start, type WorkerHandle } from "../../src/worker/index.ts";
import { FAIRNESS_ROTATE_MS } from "../../src/worker/dispatcher.ts";
import { FIVE_QUEUES, loadedConfig } from "../helpers/config.ts";
import { freePort, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

// Real servers and processes: five seconds (the default) is too short on a loaded machine.
setDefaultTimeout(30_000);

let redis: RedisServer;
let broker: Broker;
const handles: WorkerHandle[] = [];

let running = 0;
let maxRunning = 0;
const startOrder: string[] = [];

const slow = defineTask({
  name: "test.slow",
  args: z.strictObject({ ms: z.number().default(300), label: z.string().default("") }),
  async handler({ args, signal }) {
    running++;
    maxRunning = Math.max(maxRunning, running);
    startOrder.push(args.label);
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, args.ms);
        signal.addEventListener("abort", () => {
          clearTimeout(timer);
          reject(signal.reason);
        });
      });
      return { label: args.label };
    } finally {
      running--;
    }
  },
});

/** Runs `test.slow` (or itself, to test the depth limit) as child jobs and waits for them. */
const parent = defineTask({
  name: "test.parent",
  args: z.strictObject({ children: z.number().int().default(1), ms: z.number().default(200), recurse: z.boolean().default(false) }),
  async handler({ args, tasks }) {
    if (args.recurse) {
      const child = await tasks.run("test.parent", { recurse: true });
      return { child: child.state, error: child.error ?? null };
    }
    const outcomes = await Promise.all(Array.from({ length: args.children }, (_, index) => tasks.run("test.slow", { ms: args.ms, label: `child${index}` })));
    return outcomes.map((outcome) => [outcome.state, outcome.result]);
  },
});

const misbehaving: TaskDefinition[] = [
  defineTask({ name: "test.throws-string", attempts: 1, handler: () => Promise.reject("plain string") }),
  defineTask({ name: "test.throws-object", attempts: 1, handler: () => Promise.reject({ code: 42 }) }),
  defineTask({ name: "test.circular", attempts: 1, handler: () => { const value: Record<string, unknown> = {}; value.self = value; return value; } }),
  defineTask({ name: "test.bigint", attempts: 1, handler: () => ({ n: 10n }) }),
  defineTask({ name: "test.never-settles", attempts: 1, timeout: "300ms", handler: () => new Promise(() => {}) }),
  defineTask({ name: "test.undefined", handler: () => undefined }),
  defineTask({
    name: "test.throws-sync",
    attempts: 1,
    handler: () => {
      throw "thrown before any await";
    },
  }),
  // Never reads its signal: the executor then has no AbortController for it until it is aborted.
  defineTask({ name: "test.ignores-signal", attempts: 1, handler: () => Bun.sleep(10_000).then(() => "too late") }),
];

function registryFor(config: Parameters<typeof loadedConfig>[0]) {
  const loaded = loadedConfig(config, redis.url);
  return { loaded, registry: new TaskRegistry([...BUILTIN_TASKS, slow, parent, ...misbehaving], loaded.config) };
}

async function startWorker(options: Partial<Parameters<typeof start>[0]> = {}): Promise<WorkerHandle> {
  const { loaded, registry } = registryFor(FIVE_QUEUES);
  const handle = await start({ loaded, registry, logger: silentLogger(), concurrency: 2, graceMs: 5000, ...options });
  handles.push(handle);
  return handle;
}

beforeAll(async () => {
  redis = await startRedisServer();
  broker = await openBroker(loadedConfig(FIVE_QUEUES, redis.url), "test");
});
afterEach(async () => {
  await Promise.all(handles.splice(0).map((handle) => handle.close()));
  await broker.connection.flushdb();
  running = 0;
  maxRunning = 0;
  startOrder.length = 0;
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
});

function producer(): Producer {
  return new Producer(broker, registryFor(FIVE_QUEUES).registry);
}

describe("worker runtime", () => {
  it("never runs more than N jobs at once across all its queues", async () => {
    await startWorker({ concurrency: 3 });
    const jobs = [];
    for (let i = 0; i < 20; i++) jobs.push(...(await producer().enqueue("test.slow", { ms: 150, label: `j${i}` }, { targets: [`q${(i % 5) + 1}`] })));
    const outcomes = await waitForJobs(broker, jobs, { timeoutMs: 20_000 });
    expect(outcomes.map((o) => o.state)).toEqual(jobs.map(() => "completed"));
    expect(maxRunning).toBe(3);
  });

  it("does not take a job off a queue without a free slot", async () => {
    await startWorker({ concurrency: 1 });
    const [first] = await producer().enqueue("test.slow", { ms: 800 }, { targets: ["q1"] });
    await producer().enqueue("test.slow", { ms: 10 }, { targets: ["q2"] });
    await Bun.sleep(300);
    const counts = await new Inspector(broker).queueCounts(["q1", "q2"]);
    expect(counts.map((c) => [c.queue, c.active, c.waiting])).toEqual([["q1", 1, 0], ["q2", 0, 1]]);
    expect(first).toBeDefined();
  });

  it("does not let a busy queue starve another", async () => {
    await startWorker({ concurrency: 1 });
    for (let i = 0; i < 25; i++) await producer().enqueue("test.slow", { ms: 100, label: `busy${i}` }, { targets: ["q1"] });
    await Bun.sleep(100);
    const enqueuedAt = Date.now();
    const [lonely] = await producer().enqueue("test.slow", { ms: 10, label: "lonely" }, { targets: ["q2"] });
    await waitForJobs(broker, [lonely!], { timeoutMs: 10_000, pollMs: 20 });
    // The busy queue holds 2.5 s of work; the other queue gets its turn within about a second.
    expect(Date.now() - enqueuedAt).toBeLessThan(FAIRNESS_ROTATE_MS + 600);
    expect(startOrder.indexOf("lonely")).toBeLessThan(20);
  });

  it("fails misbehaving handlers cleanly and keeps working", async () => {
    await startWorker({ concurrency: 2 });
    const names = ["test.throws-string", "test.throws-object", "test.circular", "test.bigint", "test.never-settles", "test.throws-sync"];
    const jobs = (await Promise.all(names.map((name) => producer().enqueue(name, {})))).flat();
    const outcomes = await waitForJobs(broker, jobs, { timeoutMs: 10_000 });
    expect(outcomes.map((o) => [o.job.task, o.state, o.error])).toEqual([
      ["test.throws-string", "failed", "plain string"],
      ["test.throws-object", "failed", 'task threw a non-Error value: {"code":42}'],
      ["test.circular", "failed", expect.stringContaining("not JSON-serialisable")],
      ["test.bigint", "failed", expect.stringContaining("not JSON-serialisable")],
      ["test.never-settles", "failed", "timed out after 300ms"],
      ["test.throws-sync", "failed", "thrown before any await"],
    ]);
    const after = await waitForJobs(broker, await producer().enqueue("test.undefined", {}), { timeoutMs: 5000 });
    expect(after[0]).toMatchObject({ state: "completed", result: null });
  });

  it("revokes a waiting job by removing it, and aborts a running one within a second", async () => {
    await startWorker({ concurrency: 1 });
    const [runningJob] = await producer().enqueue("test.slow", { ms: 10_000, label: "long" }, { targets: ["q1"] });
    const [waitingJob] = await producer().enqueue("test.slow", { ms: 10, label: "never" }, { targets: ["q1"], delayMs: 60_000 });
    await Bun.sleep(300);
    const inspector = new Inspector(broker);
    expect(await revokeJob(broker, await inspector.findJob(waitingJob!.id))).toMatchObject({ outcome: "removed", previous_state: "delayed" });
    const revokedAt = Date.now();
    expect(await revokeJob(broker, await inspector.findJob(runningJob!.id))).toMatchObject({ outcome: "aborting", previous_state: "active" });
    const [outcome] = await waitForJobs(broker, [runningJob!], { timeoutMs: 5000, pollMs: 20 });
    expect(outcome).toMatchObject({ state: "failed", error: "revoked" });
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect(startOrder).toEqual(["long"]);
  });

  it("ends a revoked job within a second even when its handler ignores the signal", async () => {
    await startWorker({ concurrency: 1 });
    const [job] = await producer().enqueue("test.ignores-signal", {}, { targets: ["q1"] });
    await Bun.sleep(300);
    const revokedAt = Date.now();
    expect(await revokeJob(broker, await new Inspector(broker).findJob(job!.id))).toMatchObject({ outcome: "aborting", previous_state: "active" });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 5000, pollMs: 20 });
    expect(outcome).toMatchObject({ state: "failed", error: "revoked" });
    expect(Date.now() - revokedAt).toBeLessThan(1000);
  });

  it("publishes heartbeats with slots, queues and current jobs, and removes them on close", async () => {
    const handle = await startWorker({ concurrency: 2, role: "web", hostname: "w1", queues: "q1" });
    await producer().enqueue("test.slow", { ms: 1500 }, { targets: ["web"] });
    await Bun.sleep(1200);
    const [worker] = await new Inspector(broker).workers();
    expect(worker).toMatchObject({ hostname: "w1", role: "web", queues: ["q1", "web_q", "web_q.w1"], concurrency: 2, slots_in_use: 1 });
    expect(worker?.current_jobs[0]).toMatchObject({ queue: "web_q.w1", task: "test.slow" });
    await handle.close();
    handles.length = 0;
    expect(await new Inspector(broker).workers()).toEqual([]);
  });

  it("returns running jobs to their queue when the grace period ends", async () => {
    const handle = await startWorker({ concurrency: 1, graceMs: 300 });
    const [job] = await producer().enqueue("test.slow", { ms: 10_000 }, { targets: ["q1"] });
    await Bun.sleep(300);
    const closedAt = Date.now();
    await handle.close();
    handles.length = 0;
    expect(Date.now() - closedAt).toBeLessThan(3000);
    const stored = await new Inspector(broker).findJob(job!.id);
    expect(await stored.getState()).toBe("waiting");
    expect(stored.attemptsMade).toBe(0);
  });

  it("lets running jobs finish within the grace period", async () => {
    const handle = await startWorker({ concurrency: 1, graceMs: 5000 });
    const [job] = await producer().enqueue("test.slow", { ms: 600 }, { targets: ["q1"] });
    await Bun.sleep(200);
    await handle.close();
    handles.length = 0;
    expect(await (await new Inspector(broker).findJob(job!.id)).getState()).toBe("completed");
  });
});

describe("lock renewal (the renewal thread)", () => {
  it("keeps a long job's lock after Redis drops every connection: the thread reconnects, the job runs once", async () => {
    // lock_duration 2s and stalled_interval 1s (FIVE_QUEUES): without renewal the job would be
    // taken back as stalled and run again, or fail at its end for a missing lock.
    await startWorker({ concurrency: 1 });
    const [job] = await producer().enqueue("test.slow", { ms: 5000, label: "long" }, { targets: ["q1"] });
    for (let i = 0; i < 100 && running === 0; i++) await Bun.sleep(20);
    expect(running).toBe(1);
    await Bun.sleep(300);
    const killed = Number(await broker.connection.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"));
    expect(killed).toBeGreaterThanOrEqual(3); // the worker's connections and the renewal thread's
    const stored = async () => new Inspector(broker).findJob(job!.id);
    for (let i = 0; i < 200 && (await (await stored()).getState()) !== "completed"; i++) await Bun.sleep(50);
    const finished = await stored();
    expect(await finished.getState()).toBe("completed");
    expect(finished.attemptsMade).toBe(1); // BullMQ counts the completed attempt
    expect(finished.stalledCounter).toBe(0);
    expect(finished.returnvalue).toEqual({ label: "long" });
    expect(startOrder).toEqual(["long"]);
  });

  it("does not start when the thread cannot reach Redis, and puts the jobs it took meanwhile back", async () => {
    const [job] = await producer().enqueue("test.slow", { ms: 20_000, label: "taken" }, { targets: ["q1"] });
    // The worker's own connections go through the broker; the thread connects to the config's URL, here a closed port.
    const unreachable = loadedConfig(FIVE_QUEUES, `redis://127.0.0.1:${await freePort()}/0`);
    const failure = await start({ loaded: unreachable, broker, registry: registryFor(FIVE_QUEUES).registry, logger: silentLogger(), concurrency: 1 }).catch((error: unknown) => error);
    // lock_duration 2s: the wait ends at 1.5 s, while the lock of the job taken meanwhile still holds.
    expect(String(failure)).toContain("the lock renewal thread did not connect to Redis within 1.5s");
    expect(startOrder).toEqual(["taken"]);
    const stored = await new Inspector(broker).findJob(job!.id);
    expect(await stored.getState()).toBe("waiting");
    expect(stored.stalledCounter).toBe(0); // put back by the worker, not found stalled
  });
});

describe("child jobs (TaskContext.tasks.run)", () => {
  it("runs children even when every slot is held by a parent waiting on them", async () => {
    await startWorker({ concurrency: 2, queues: "q1" });
    const parents = (await Promise.all([1, 2, 3].map(() => producer().enqueue("test.parent", { children: 2, ms: 100 }, { targets: ["q1"] })))).flat();
    const outcomes = await waitForJobs(broker, parents, { timeoutMs: 15_000 });
    expect(outcomes.map((outcome) => outcome.state)).toEqual(["completed", "completed", "completed"]);
    expect(outcomes[0]!.result).toEqual([["completed", { label: "child0" }], ["completed", { label: "child1" }]]);
    // Lent slots never let more than the worker's slots run non-waiting jobs at once.
    expect(maxRunning).toBeLessThanOrEqual(2);
  });

  it("revokes the child when the parent is revoked, both within a second", async () => {
    await startWorker({ concurrency: 1, queues: "q1" });
    const [job] = await producer().enqueue("test.parent", { children: 1, ms: 20_000 }, { targets: ["q1"] });
    for (let i = 0; i < 100 && running === 0; i++) await Bun.sleep(20);
    const inspector = new Inspector(broker);
    const revokedAt = Date.now();
    await revokeJob(broker, await inspector.findJob(job!.id));
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 5000, pollMs: 20 });
    expect(outcome).toMatchObject({ state: "failed", error: "revoked" });
    let child;
    for (let i = 0; i < 100 && !child; i++) {
      child = (await broker.queue("q1").getJobs(["failed"])).find((candidate) => candidate.name === "test.slow");
      if (!child) await Bun.sleep(20);
    }
    expect(child?.failedReason).toBe("revoked");
    expect(Date.now() - revokedAt).toBeLessThan(1500);
    expect(running).toBe(0);
  });

  it("refuses to nest child jobs deeper than the limit", async () => {
    await startWorker({ concurrency: 1, queues: "q1" });
    const [job] = await producer().enqueue("test.parent", { recurse: true }, { targets: ["q1"] });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 10_000 });
    // Each level reports its child's failure; the deepest one could not enqueue.
    expect(outcome).toMatchObject({ state: "completed", result: { child: "completed" } });
    const failed = await broker.queue("q1").getJobs(["failed"]);
    expect(failed.map((candidate) => candidate.failedReason)).toEqual([expect.stringContaining("would be nested 4 child jobs deep (at most 3)")]);
  });
});
