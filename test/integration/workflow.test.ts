/**
 * Workflows end to end on a private redis-server with real workers: steps run in order, each
 * after every target of the one before succeeded; a failed step stops the rest and fails the
 * workflow; the workflow job holds no slot while its steps run.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { z } from "zod";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector } from "../../src/broker/inspector.ts";
import { waitForJobs } from "../../src/broker/job-waiter.ts";
import { EnqueueError, Producer } from "../../src/broker/producer.ts";
import type { WorkflowProgress } from "../../src/broker/workflow.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { defineTask } from "../../src/tasks/define.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start, type WorkerHandle } from "../../src/worker/index.ts";
import { FIVE_QUEUES, loadedConfig } from "../helpers/config.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(30_000);

let redis: RedisServer;
let broker: Broker;
const handles: WorkerHandle[] = [];
const runs: Array<{ label: string; hostname: string; started: number; finished: number }> = [];

const record = defineTask({
  name: "test.record",
  args: z.strictObject({ label: z.string(), ms: z.number().default(0), fail_on: z.string().optional() }),
  async handler({ args, worker }) {
    const started = Date.now();
    await Bun.sleep(args.ms);
    runs.push({ label: args.label, hostname: worker.hostname, started, finished: Date.now() });
    if (args.fail_on === worker.hostname) throw new Error(`${args.label} broke on ${worker.hostname}`);
    return { label: args.label, host: worker.hostname };
  },
});

const registry = () => new TaskRegistry([...BUILTIN_TASKS, record], loadedConfig(FIVE_QUEUES, redis.url).config);

async function startWorker(options: Partial<Parameters<typeof start>[0]>): Promise<void> {
  handles.push(await start({ loaded: loadedConfig(FIVE_QUEUES, redis.url), registry: registry(), logger: silentLogger(), graceMs: 2000, ...options }));
}

beforeAll(async () => {
  redis = await startRedisServer();
  broker = await openBroker(loadedConfig(FIVE_QUEUES, redis.url), "test");
  // One slot on the default queue, where both the workflow job and the unrouted steps run: the
  // workflow must not hold it while it waits. Each web host runs its own jobs.
  await startWorker({ queues: "q1", concurrency: 1, hostname: "default" });
  await startWorker({ role: "web", hostname: "w1", concurrency: 2 });
  await startWorker({ role: "web", hostname: "w2", concurrency: 2 });
});
afterEach(() => {
  runs.length = 0;
});
afterAll(async () => {
  await Promise.all(handles.map((handle) => handle.close()));
  await broker.close();
  await redis.stop();
});

describe("workflows", () => {
  it("runs each step after every target of the previous one succeeded, and reports each target", async () => {
    const [job] = await new Producer(broker, registry()).enqueue("llmctl.workflow", {
      name: "deploy",
      steps: [
        { name: "prepare", task: "test.record", args: { label: "prepare" } },
        { name: "install", task: "test.record", args: { label: "install", ms: 300 }, targets: ["web"] },
        { name: "verify", task: "test.record", args: { label: "verify" } },
      ],
    });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 20_000 });
    expect(outcome!.state).toBe("completed");
    const result = outcome!.result as WorkflowProgress;
    expect(result.status).toBe("completed");
    expect(result.nodes.map((node) => [node.id, node.status, node.targets.map((target) => target.hostname ?? target.queue)])).toEqual([
      ["prepare", "succeeded", ["q1"]],
      ["install", "succeeded", ["w1", "w2"]],
      ["verify", "succeeded", ["q1"]],
    ]);
    expect(result.nodes[1]!.targets.map((target) => target.result)).toEqual([{ label: "install", host: "w1" }, { label: "install", host: "w2" }]);
    const at = (label: string) => runs.filter((run) => run.label === label);
    expect(at("install")).toHaveLength(2);
    expect(Math.min(...at("install").map((run) => run.started))).toBeGreaterThanOrEqual(at("prepare")[0]!.finished);
    expect(at("verify")[0]!.started).toBeGreaterThanOrEqual(Math.max(...at("install").map((run) => run.finished)));
    // The steps' jobs carry ids derived from the workflow's, so a rerun transition adds none twice.
    expect(result.nodes[1]!.targets.map((target) => target.id)).toEqual([`${job!.id}.install-w1`, `${job!.id}.install-w2`]);
  });

  it("stops at a failed step, fails the workflow and lists each target's outcome", async () => {
    const [job] = await new Producer(broker, registry()).enqueue("llmctl.workflow", {
      steps: [
        { task: "test.record", args: { label: "one", fail_on: "w2" }, targets: ["web"] },
        { task: "test.record", args: { label: "two" } },
      ],
    });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 20_000 });
    expect(outcome!.state).toBe("failed");
    expect(outcome!.error).toContain("step1 (test.record) on w2: one broke on w2");
    expect(outcome!.error).toContain("not run: step2");
    expect(runs.filter((run) => run.label === "two")).toEqual([]);
    const detail = await new Inspector(broker).detail(await new Inspector(broker).findJob(job!.id, job!.queue));
    const progress = detail.progress as WorkflowProgress;
    expect(progress.status).toBe("failed");
    expect(progress.nodes.map((node) => [node.id, node.status])).toEqual([["step1", "failed"], ["step2", "skipped"]]);
    expect(progress.nodes[0]!.targets.map((target) => [target.hostname, target.state])).toEqual([["w1", "completed"], ["w2", "failed"]]);
  });

  it("runs the independent nodes of a graph side by side and joins them", async () => {
    const [job] = await new Producer(broker, registry()).enqueue("llmctl.workflow", {
      nodes: [
        { id: "a", task: "test.record", args: { label: "a" } },
        { id: "b", task: "test.record", args: { label: "b", ms: 400 }, targets: ["web:any"], after: ["a"] },
        { id: "c", task: "test.record", args: { label: "c", ms: 400 }, targets: ["web:any"], after: ["a"] },
        { id: "d", task: "test.record", args: { label: "d" }, after: ["b", "c"] },
      ],
    });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 20_000 });
    expect(outcome!.state).toBe("completed");
    const b = runs.find((run) => run.label === "b")!;
    const c = runs.find((run) => run.label === "c")!;
    expect(Math.abs(b.started - c.started)).toBeLessThan(300);
    expect(runs.find((run) => run.label === "d")!.started).toBeGreaterThanOrEqual(Math.max(b.finished, c.finished));
  });

  it("refuses a workflow with a bad step before anything is enqueued", async () => {
    const producer = new Producer(broker, registry());
    const before = await broker.queue("q1").count();
    let error: unknown;
    try {
      await producer.enqueue("llmctl.workflow", { steps: [{ task: "test.record", args: { label: "x" } }, { task: "test.recrod" }] });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(EnqueueError);
    expect((error as EnqueueError).field).toBe("args.steps[1].task");
    expect((error as EnqueueError).message).toContain('did you mean "test.record"');
    expect(await broker.queue("q1").count()).toBe(before);
  });
});
