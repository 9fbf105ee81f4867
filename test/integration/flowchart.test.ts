/**
 * services.tasks.run_flowchart on a private redis-server with real workers: branches chosen by
 * conditions on a node's result, merges, fan-out per node, a failed node stopping only what comes
 * after it, a flowchart named in the config, and revoke.
 */
import { afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { z } from "zod";
import { Inspector } from "../../src/broker/inspector.ts";
import { revokeJob } from "../../src/broker/job-control.ts";
import { jobFlow } from "../../src/broker/job-flow.ts";
import { waitForJobs } from "../../src/broker/job-waiter.ts";
import { Producer } from "../../src/broker/producer.ts";
import { Revocations } from "../../src/broker/revocations.ts";
import type { WorkflowProgress } from "../../src/broker/workflow.ts";
import { defineTask } from "../../src/tasks/define.ts";
import { FIVE_QUEUES } from "../helpers/config.ts";
import { useGraphWorkers } from "../helpers/graph-workers.ts";

setDefaultTimeout(30_000);

const FLOWCHART = "services.tasks.run_flowchart";

const CONFIG = `${FIVE_QUEUES}
flowcharts:
  patch:
    nodes:
      - { id: updates, task: test.step, args: { label: updates, returns: { security_count: 2 } }, targets: [web] }
      - { id: install, task: test.step, args: { label: install }, targets: ["web:any"] }
    edges:
      - { from: updates, to: install, when: { path: result.security_count, gt: 0 }, match: any }
`;

const runs: Array<{ label: string; hostname: string; started: number; finished: number; aborted?: number }> = [];

const step = defineTask({
  name: "test.step",
  args: z.strictObject({ label: z.string(), ms: z.number().default(0), returns: z.record(z.string(), z.unknown()).default({}), fail_on: z.string().optional() }),
  async handler({ args, worker, signal }) {
    const run: (typeof runs)[number] = { label: args.label, hostname: worker.hostname, started: Date.now(), finished: 0 };
    runs.push(run);
    signal.addEventListener("abort", () => (run.aborted = Date.now()), { once: true });
    await Promise.race([Bun.sleep(args.ms), new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }))]);
    run.finished = Date.now();
    if (args.fail_on === worker.hostname) throw new Error(`${args.label} broke on ${worker.hostname}`);
    return { label: args.label, host: worker.hostname, ...args.returns };
  },
});

const fleet = useGraphWorkers(CONFIG, [step]);
let broker: ReturnType<typeof fleet.broker>;
const producer = () => new Producer(broker, fleet.registry());
beforeAll(() => {
  broker = fleet.broker();
});
afterEach(() => {
  runs.length = 0;
});

async function run(args: Record<string, unknown>): Promise<{ state: string; error?: string; progress: WorkflowProgress; logs: string[] }> {
  const [job] = await producer().enqueue(FLOWCHART, args);
  const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 20_000 });
  const stored = (await broker.queue(job!.queue).getJob(job!.id))!;
  const { logs } = await broker.queue(job!.queue).getJobLogs(job!.id);
  return { state: outcome!.state, error: outcome!.error, progress: (outcome!.state === "completed" ? outcome!.result : stored.progress) as WorkflowProgress, logs };
}

const summary = (progress: WorkflowProgress) =>
  progress.nodes.map((node) => [node.id, node.status, node.skipped?.reason ?? node.targets.map((target) => `${target.hostname ?? target.queue}:${target.state}`).join(",")]);

describe("services.tasks.run_flowchart", () => {
  it("takes the branch whose condition holds, skips the other with its reason, fans out per node, and merges", async () => {
    const { state, progress, logs } = await run({
      name: "triage",
      nodes: [
        { id: "check", task: "test.step", args: { label: "check", returns: { status: "degraded", failing: ["db"] } } },
        { id: "deploy", task: "test.step", args: { label: "deploy" }, targets: ["web"] },
        { id: "smoke", task: "test.step", args: { label: "smoke" } },
        { id: "alert", task: "test.step", args: { label: "alert" }, targets: ["web"] },
        { id: "report", task: "test.step", args: { label: "report" }, join: "any" },
      ],
      edges: [
        { from: "check", to: "deploy", when: { path: "result.status", equals: "ok" } },
        { from: "deploy", to: "smoke" },
        { from: "check", to: "alert", when: { all: [{ not: { path: "result.status", equals: "ok" } }, { path: "result.failing", contains: "db" }] } },
        { from: "smoke", to: "report" },
        { from: "alert", to: "report" },
      ],
    });
    expect(state).toBe("completed");
    expect(progress).toMatchObject({ status: "completed", name: "triage", percent: 100, done: 5, total: 5 });
    expect(summary(progress)).toEqual([
      ["check", "succeeded", "q1:completed"],
      ["deploy", "skipped", "condition_false"],
      ["smoke", "skipped", "upstream_skipped"],
      ["alert", "succeeded", "w1:completed,w2:completed"],
      ["report", "succeeded", "q1:completed"],
    ]);
    expect(progress.nodes[1]!.skipped!.detail).toBe('check → deploy: result.status equals "ok" is false (result.status is "degraded")');
    expect(progress.nodes[3]!.targets.map((target) => target.result)).toEqual([{ label: "alert", host: "w1" }, { label: "alert", host: "w2" }]);
    expect(runs.map((entry) => entry.label).sort()).toEqual(["alert", "alert", "check", "report"]);
    expect(logs).toContain("check: succeeded");
    expect(logs).toContain("deploy: skipped, condition false: check → deploy: result.status equals \"ok\" is false (result.status is \"degraded\")");
    expect(logs.find((line) => line.startsWith("alert: started"))).toBe("alert: started test.step on w1, w2");
    expect(logs.at(-1)).toBe("flowchart completed: 3 succeeded, 0 failed, 2 skipped");
  });

  it("stops the nodes after a failed one, lets an independent branch finish, and fails with every failure named", async () => {
    const { state, error, progress } = await run({
      nodes: [
        { id: "install", task: "test.step", args: { label: "install", fail_on: "w2" }, targets: ["web"] },
        { id: "restart", task: "test.step", args: { label: "restart" }, targets: ["web"] },
        { id: "backup", task: "test.step", args: { label: "backup", ms: 300 }, targets: ["web:any"] },
        { id: "verify", task: "test.step", args: { label: "verify" }, targets: ["web:any"] },
      ],
      edges: [
        { from: "install", to: "restart" },
        { from: "backup", to: "verify" },
      ],
    });
    expect(state).toBe("failed");
    expect(error).toBe("flowchart failed: install (test.step) on w2: install broke on w2; not run: restart");
    expect(progress.status).toBe("failed");
    expect(summary(progress)).toEqual([
      ["install", "failed", "w1:completed,w2:failed"],
      ["restart", "skipped", "upstream_failed"],
      ["backup", "succeeded", "web_q:completed"],
      ["verify", "succeeded", "web_q:completed"],
    ]);
    expect(runs.filter((entry) => entry.label === "restart")).toEqual([]);
  });

  it("runs a flowchart named in the config, expanded into the job's arguments at enqueue", async () => {
    const [job] = await producer().enqueue(FLOWCHART, { flowchart: "patch" });
    const stored = (await broker.queue(job!.queue).getJob(job!.id))!;
    expect(stored.data.args).toMatchObject({ name: "patch", nodes: [{ id: "updates", args: { label: "updates", ms: 0 } }, { id: "install" }], edges: [{ from: "updates", to: "install", match: "any" }] });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 20_000 });
    expect(outcome!.state).toBe("completed");
    expect(summary(outcome!.result as WorkflowProgress)).toEqual([
      ["updates", "succeeded", "w1:completed,w2:completed"],
      ["install", "succeeded", "web_q:completed"],
    ]);
  });

  it("revokes the running nodes' jobs within a second when the flowchart is revoked, and fails it with reason revoked", async () => {
    const [job] = await producer().enqueue(FLOWCHART, {
      nodes: [
        { id: "long", task: "test.step", args: { label: "long", ms: 20_000 }, targets: ["web"] },
        { id: "after", task: "test.step", args: { label: "after" } },
      ],
      edges: [{ from: "long", to: "after" }],
    });
    const inspector = new Inspector(broker);
    const flowchart = await inspector.findJob(job!.id, job!.queue);
    for (let i = 0; i < 200 && runs.filter((entry) => entry.label === "long").length < 2; i++) await Bun.sleep(25);
    expect(await flowchart.getState()).toBe("waiting-children");
    const revokedAt = Date.now();
    expect(await revokeJob(broker, flowchart)).toMatchObject({ outcome: "aborting", previous_state: "waiting-children" });
    const [outcome] = await waitForJobs(broker, [job!], { timeoutMs: 10_000 });
    expect(outcome).toMatchObject({ state: "failed", error: "revoked" });
    // It failed once both of its running jobs had stopped, each within a second of the revoke.
    const long = runs.filter((entry) => entry.label === "long");
    expect(long.map((entry) => entry.hostname).sort()).toEqual(["w1", "w2"]);
    for (const entry of long) expect(entry.aborted! - revokedAt).toBeLessThan(1000);
    const progress = (await inspector.findJob(job!.id, job!.queue)).progress as WorkflowProgress;
    expect(progress.status).toBe("failed");
    expect(summary(progress)).toEqual([
      ["long", "failed", "w1:failed,w2:failed"],
      ["after", "skipped", "revoked"],
    ]);
    expect(progress.nodes[0]!.targets.map((target) => target.error)).toEqual(["revoked", "revoked"]);
    expect(runs.filter((entry) => entry.label === "after")).toEqual([]);
    // Still serving: the worker was not taken down by any of it.
    const { state } = await run({ nodes: [{ id: "ping", task: "llmctl.ping" }] });
    expect(state).toBe("completed");
  });

  it("revokes at once the children a transition adds after its flowchart was revoked", async () => {
    // A flowchart job nobody runs (q5), revoked while "in a transition": the children it adds then
    // (on q4, which no worker consumes) must not be left to run.
    const parent = await broker.queue("q5").add(FLOWCHART, { args: {}, meta: { source: "api", enqueued_at: "" } }, { jobId: "racing-flowchart" });
    await new Revocations(broker.connection, broker.keys).record("q5", parent.id!);
    const flow = jobFlow(broker, fleet.registry(), parent, "no-lock-needed");
    const children = await flow.addChildren("late", "test.step", { label: "late" }, ["q4"]);
    expect(children.map((child) => child.id)).toEqual(["racing-flowchart.late"]);
    expect(await broker.queue("q4").getJob("racing-flowchart.late")).toBeUndefined();
    expect(await flow.revoked()).toBe(true);
    expect(await flow.outcomes(children)).toEqual([{ id: "racing-flowchart.late", state: "failed", error: "revoked before it ran" }]);
  });
});
