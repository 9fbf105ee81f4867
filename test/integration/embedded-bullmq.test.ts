import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { FlowProducer, Queue, QueueEvents, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { openEmbeddedStore, type EmbeddedStore } from "../../src/embedded/index.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

// Real servers and processes: five seconds (the default) is too short on a loaded machine.
setDefaultTimeout(30_000);

let server: RedisServer;
let store: EmbeddedStore;

beforeAll(async () => {
  server = await startRedisServer();
  store = await openEmbeddedStore();
});
afterAll(async () => {
  await store?.close();
  await server?.stop();
});

type Connect = () => Redis;

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(20);
  }
}

/** Runs the same BullMQ scenario and returns what a user can observe, for comparison. */
async function scenario(connect: Connect) {
  const name = "scenario";
  const queue = new Queue(name, { connection: connect() });
  const events = new QueueEvents(name, { connection: connect() });
  await events.waitUntilReady();
  const seen = { completed: [] as string[], failed: [] as string[], progress: [] as unknown[] };
  events.on("completed", ({ jobId }) => seen.completed.push(jobId));
  events.on("failed", ({ jobId }) => seen.failed.push(jobId));
  events.on("progress", ({ data }) => seen.progress.push(data));

  await queue.add("plain", { n: 1 }, { jobId: "plain" });
  await queue.addBulk([
    { name: "low", data: {}, opts: { jobId: "low", priority: 10 } },
    { name: "high", data: {}, opts: { jobId: "high", priority: 1 } },
    { name: "flaky", data: {}, opts: { jobId: "flaky", attempts: 3, backoff: { type: "fixed", delay: 50 } } },
    { name: "doomed", data: {}, opts: { jobId: "doomed", attempts: 2, backoff: { type: "exponential", delay: 20 } } },
    { name: "later", data: {}, opts: { jobId: "later", delay: 300 } },
  ]);
  const flow = await new FlowProducer({ connection: connect() }).add({
    name: "parent", queueName: name, opts: { jobId: "parent" },
    children: [
      { name: "child", queueName: name, data: { v: 2 }, opts: { jobId: "child-a" } },
      { name: "child", queueName: name, data: { v: 3 }, opts: { jobId: "child-b" } },
    ],
  });
  const scheduled = await queue.upsertJobScheduler("tick", { every: 150 }, { name: "tick" });
  expect(scheduled).toBeDefined();

  const order: string[] = [];
  const worker = new Worker(name, async (job: Job) => {
    order.push(job.id!);
    switch (job.name) {
      case "flaky":
        if (job.attemptsMade < 2) throw new Error(`flaky attempt ${job.attemptsMade}`);
        return "steady";
      case "doomed":
        throw new Error("always");
      case "plain":
        await job.updateProgress(50);
        return { doubled: job.data.n * 2 };
      case "parent": {
        const values = Object.values(await job.getChildrenValues()) as number[];
        return values.reduce((a, b) => a + b, 0);
      }
      case "child":
        return job.data.v * 10;
      default:
        return job.name;
    }
  }, { connection: connect(), concurrency: 3 });

  await until(async () => {
    const ticks = (await queue.getJobs(["completed"])).filter((job) => job.name === "tick").length;
    return seen.completed.includes("parent") && seen.completed.includes("later") && seen.completed.includes("flaky") && seen.failed.includes("doomed") && ticks >= 2;
  }, "the scenario to finish");
  await queue.removeJobScheduler("tick");
  await worker.close();

  const job = async (id: string) => {
    const found = (await queue.getJob(id))!;
    return { returnvalue: found.returnvalue, attemptsMade: found.attemptsMade, failedReason: found.failedReason ?? null, state: await found.getState() };
  };
  const result = {
    plain: await job("plain"),
    flaky: await job("flaky"),
    doomed: await job("doomed"),
    later: await job("later"),
    parent: await job("parent"),
    flowChildren: flow.children?.length,
    priorityOrder: order.filter((id) => id === "high" || id === "low"),
    progress: seen.progress,
    failedEvents: seen.failed.filter((id) => id === "doomed").length,
    schedulers: await queue.getJobSchedulersCount(),
    workers: (await queue.getWorkers()).length,
  };
  await events.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return result;
}

describe("BullMQ on the embedded store", () => {
  it("runs Queue, Worker, QueueEvents, FlowProducer and a job scheduler with the same results as Redis", async () => {
    const real = await scenario(() => new Redis(server.port, { maxRetriesPerRequest: null }));
    const embedded = await scenario(() => store.connect());
    expect(embedded).toEqual(real);
    // The comparison is only meaningful if the scenario did what it is meant to do.
    expect(real.flaky).toEqual({ returnvalue: "steady", attemptsMade: 3, failedReason: "flaky attempt 1", state: "completed" });
    expect(real.doomed.state).toBe("failed");
    expect(real.parent.returnvalue).toBe(50);
    expect(real.plain.returnvalue).toEqual({ doubled: 2 });
    expect(real.priorityOrder).toEqual(["high", "low"]);
    expect(real.progress).toEqual([50]);
  });
});
