/**
 * The read side the studio's job list, overview and metrics are built on, against a private
 * redis-server: pagination with opaque cursors, task filters, throughput from the finished
 * sets, run times, pausing queues.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { Worker } from "bullmq";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector, InvalidCursorError, TASK_FILTER_SCAN_LIMIT, type JobSummary } from "../../src/broker/inspector.ts";
import { Producer } from "../../src/broker/producer.ts";
import { setQueuePaused } from "../../src/broker/queue-control.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { NotFoundError } from "../../src/util/errors.ts";
import { FIVE_QUEUES, loadedConfig } from "../helpers/config.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(30_000);

let redis: RedisServer;
let broker: Broker;
let inspector: Inspector;
let producer: Producer;

beforeAll(async () => {
  redis = await startRedisServer();
  const loaded = loadedConfig(FIVE_QUEUES, redis.url);
  broker = await openBroker(loaded, "inspector-test");
  inspector = new Inspector(broker);
  producer = new Producer(broker, new TaskRegistry(BUILTIN_TASKS, loaded.config));
});
afterEach(async () => {
  await broker.connection.flushdb();
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
});

async function enqueue(count: number, task = "llmctl.ping", queue = "q1"): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) ids.push(...(await producer.enqueue(task, task === "shell" ? { argv: ["true"] } : {}, { targets: [queue] })).map((job) => job.id));
  return ids;
}

async function allPages(query: Parameters<Inspector["listJobs"]>[0]): Promise<{ jobs: JobSummary[]; pages: number }> {
  const jobs: JobSummary[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await inspector.listJobs({ ...query, cursor });
    jobs.push(...page.jobs);
    pages++;
    cursor = page.next_cursor ?? undefined;
  } while (cursor && pages < 100);
  return { jobs, pages };
}

describe("Inspector.listJobs", () => {
  it("walks every job exactly once across queues and states, page by page, the last page without a cursor", async () => {
    const ids = [...(await enqueue(7, "llmctl.ping", "q1")), ...(await enqueue(5, "llmctl.ping", "q3"))];
    await producer.enqueue("llmctl.ping", {}, { targets: ["q2"], delayMs: 60_000 });
    const { jobs, pages } = await allPages({ limit: 4 });
    expect(jobs.length).toBe(13);
    expect(new Set(jobs.map((job) => job.id)).size).toBe(13);
    for (const id of ids) expect(jobs.some((job) => job.id === id && job.state === "waiting")).toBe(true);
    expect(jobs.filter((job) => job.state === "delayed").map((job) => job.queue)).toEqual(["q2"]);
    expect(pages).toBe(4);
  });

  it("filters by queue, state and task; a task filter scans at most the scan limit per page", async () => {
    await enqueue(3, "shell", "q1");
    await enqueue(4, "llmctl.ping", "q1");
    const shell = await allPages({ queue: "q1", state: "waiting", task: "shell", limit: 2 });
    expect(shell.jobs.map((job) => job.task)).toEqual(["shell", "shell", "shell"]);
    expect((await inspector.listJobs({ queue: "q2" })).jobs).toEqual([]);
    expect((await inspector.listJobs({ state: "failed" })).next_cursor).toBeNull();
  });

  it("hands back a cursor when the scan limit is reached before a page is full", async () => {
    // Lists run newest first: the wanted job is the oldest, behind more than the scan limit.
    const [wanted] = await producer.enqueue("shell", { argv: ["true"] }, { targets: ["q1"] });
    await broker.queue("q1").addBulk(Array.from({ length: TASK_FILTER_SCAN_LIMIT + 5 }, () => ({ name: "other", data: {} })));
    const first = await inspector.listJobs({ task: "shell", state: "waiting", limit: 10 });
    expect(first.jobs).toEqual([]);
    expect(first.next_cursor).not.toBeNull();
    const rest = await allPages({ task: "shell", state: "waiting", limit: 10, cursor: first.next_cursor! });
    expect(rest.jobs.map((job) => job.id)).toEqual([wanted!.id]);
  });

  it("refuses cursors it did not hand out, or handed out for other filters", async () => {
    await enqueue(3);
    const page = await inspector.listJobs({ limit: 1 });
    expect(page.next_cursor).toBeString();
    const forged = Buffer.from(JSON.stringify({ v: 1, q: "q1", s: "waiting", o: -5, k: "x" })).toString("base64url");
    for (const cursor of ["garbage!", "e30", forged, `${page.next_cursor}x`]) {
      await expect(inspector.listJobs({ cursor })).rejects.toBeInstanceOf(InvalidCursorError);
    }
    await expect(inspector.listJobs({ cursor: page.next_cursor!, state: "failed" })).rejects.toThrow("other filters");
    await expect(inspector.listJobs({ queue: "nope" })).rejects.toBeInstanceOf(NotFoundError);
  });
});

describe("Inspector.queueOverview and jobTimings", () => {
  it("counts finished jobs per minute from the completed and failed sets, and reads run times", async () => {
    const worker = new Worker(
      "q4",
      async (job) => {
        await Bun.sleep(job.name === "slow" ? 120 : 5);
        if (job.name === "bad") throw new Error("boom");
        return "ok";
      },
      { connection: broker.redis.connect({ purpose: "blocking", name: "inspector-test-worker" }), prefix: broker.prefix },
    );
    try {
      const queue = broker.queue("q4");
      const jobs = await queue.addBulk([{ name: "slow", data: {} }, { name: "fast", data: {} }, { name: "bad", data: {} }]);
      const deadline = Date.now() + 10_000;
      while ((await queue.getJobCounts("completed", "failed")).completed! + (await queue.getJobCounts("failed")).failed! < 3 && Date.now() < deadline) await Bun.sleep(50);
      const [overview] = await inspector.queueOverview(["q4"]);
      expect(overview).toMatchObject({ queue: "q4", completed: 2, failed: 1, jobs_per_min: 3, paused: false });
      expect(overview!.throughput.length).toBe(30);
      expect(overview!.throughput.reduce((a, b) => a + b, 0)).toBe(3);
      const timings = await inspector.jobTimings([...jobs.map((job) => ({ queue: "q4", id: job.id! })), { queue: "q4", id: "gone" }]);
      expect(timings.map((timing) => timing.task).sort()).toEqual(["bad", "fast", "slow"]);
      expect(timings.find((timing) => timing.task === "slow")!.seconds).toBeGreaterThanOrEqual(0.1);
    } finally {
      await worker.close();
    }
  });

  it("pauses and resumes a queue, reporting what it was before", async () => {
    expect(await setQueuePaused(broker, "q2", true)).toEqual({ queue: "q2", paused: true, was_paused: false });
    expect(await setQueuePaused(broker, "q2", true)).toEqual({ queue: "q2", paused: true, was_paused: true });
    expect((await inspector.queueCounts(["q2"]))[0]!.paused).toBe(true);
    expect(await setQueuePaused(broker, "q2", false)).toEqual({ queue: "q2", paused: false, was_paused: true });
  });
});
