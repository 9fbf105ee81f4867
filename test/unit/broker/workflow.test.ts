import { describe, expect, it } from "bun:test";
import { EnqueueError } from "../../../src/broker/producer.ts";
import { nextWorkflowMove, skipCause, validateWorkflow, workflowArgsSchema, workflowNodes, type NodeStatus, type WorkflowNode } from "../../../src/broker/workflow.ts";
import { BUILTIN_TASKS } from "../../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../../src/tasks/registry.ts";
import { loadedConfig } from "../../helpers/config.ts";

const { config } = loadedConfig("queues: [q1]\nworkers:\n  web: { hostnames: [w1, w2], queue: web_q }\n", "redis://127.0.0.1:1/0");
const registry = new TaskRegistry(BUILTIN_TASKS, config);

const node = (id: string, after: string[] = []): WorkflowNode => ({ id, task: "llmctl.ping", args: {}, after });
const statuses = (entries: Record<string, NodeStatus>) => new Map(Object.entries(entries));

function refusal(args: unknown): EnqueueError {
  try {
    validateWorkflow(config, registry, workflowArgsSchema.parse(args));
  } catch (error) {
    if (error instanceof EnqueueError) return error;
    throw error;
  }
  throw new Error("expected the workflow to be refused");
}

describe("workflow definitions", () => {
  it("turns steps into a chain, naming unnamed steps step1, step2, …", () => {
    const nodes = workflowNodes(workflowArgsSchema.parse({ steps: [{ task: "llmctl.ping" }, { name: "probe", task: "llmctl.ping", targets: ["web"] }, { task: "llmctl.ping" }] }));
    expect(nodes.map((n) => [n.id, n.after])).toEqual([["step1", []], ["probe", ["step1"]], ["step3", ["probe"]]]);
    expect(nodes[1]!.targets).toEqual(["web"]);
  });

  it("checks every step as an enqueue would and names the step at fault", () => {
    expect(refusal({ steps: [{ task: "llmctl.ping" }, { task: "llmctl.pong" }] })).toMatchObject({ field: "steps[1].task" });
    expect(refusal({ steps: [{ task: "llmctl.ping" }, { task: "llmctl.ping" }, { task: "llmctl.ping", targets: ["webb"] }] }).field).toBe("steps[2].targets[0]");
    expect(refusal({ steps: [{ task: "llmctl.ping", args: { sleep_ms: "x" } }] }).field).toBe("steps[0].args.sleep_ms");
    expect(refusal({ steps: [{ task: "llmctl.workflow", args: { steps: [{ task: "llmctl.ping" }] } }] }).message).toContain("cannot run another workflow");
  });

  it("refuses duplicate node ids, unknown dependencies and cycles", () => {
    expect(refusal({ nodes: [node("a"), node("a")] }).message).toContain('"a" is used by nodes[0] already');
    expect(refusal({ nodes: [node("a"), node("b", ["c"])] }).field).toBe("nodes[1].after[0]");
    expect(refusal({ nodes: [node("a", ["c"]), node("b", ["a"]), node("c", ["b"])] }).message).toContain("a → c → b → a");
  });

  it("refuses both steps and nodes, or neither", () => {
    expect(workflowArgsSchema.safeParse({ steps: [{ task: "llmctl.ping" }], nodes: [node("a")] }).success).toBe(false);
    expect(workflowArgsSchema.safeParse({}).success).toBe(false);
  });
});

describe("nextWorkflowMove", () => {
  const chain = [node("a"), node("b", ["a"]), node("c", ["b"])];
  const diamond = [node("a"), node("b", ["a"]), node("c", ["a"]), node("d", ["b", "c"])];

  it("starts a step only after the one before it succeeded", () => {
    expect(nextWorkflowMove(chain, statuses({ a: "pending", b: "pending", c: "pending" }))).toEqual({ start: ["a"], skip: [] });
    expect(nextWorkflowMove(chain, statuses({ a: "running", b: "pending", c: "pending" }))).toEqual({ start: [], skip: [] });
    expect(nextWorkflowMove(chain, statuses({ a: "succeeded", b: "pending", c: "pending" }))).toEqual({ start: ["b"], skip: [] });
    expect(nextWorkflowMove(chain, statuses({ a: "succeeded", b: "succeeded", c: "succeeded" }))).toEqual({ start: [], skip: [], finished: "completed" });
  });

  it("stops the rest and fails the workflow when a step fails", () => {
    expect(nextWorkflowMove(chain, statuses({ a: "failed", b: "pending", c: "pending" }))).toEqual({ start: [], skip: ["b", "c"], finished: "failed" });
  });

  it("runs independent nodes together and joins them", () => {
    expect(nextWorkflowMove(diamond, statuses({ a: "succeeded", b: "pending", c: "pending", d: "pending" })).start).toEqual(["b", "c"]);
    expect(nextWorkflowMove(diamond, statuses({ a: "succeeded", b: "succeeded", c: "running", d: "pending" }))).toEqual({ start: [], skip: [] });
    expect(nextWorkflowMove(diamond, statuses({ a: "succeeded", b: "succeeded", c: "succeeded", d: "pending" })).start).toEqual(["d"]);
    // A failure on one branch lets the other finish, then fails the workflow.
    expect(nextWorkflowMove(diamond, statuses({ a: "succeeded", b: "failed", c: "running", d: "pending" }))).toEqual({ start: [], skip: ["d"] });
  });
});

describe("nextWorkflowMove with flowchart edges", () => {
  const when = (path: string, equals: unknown, match: "all" | "any" = "all") => ({ when: { path, equals }, match });
  // check → deploy (status ok) / alert (status not ok); both → report (join any).
  const branching: WorkflowNode[] = [
    node("check"),
    { ...node("deploy", ["check"]), conditions: { check: when("result.status", "ok") } },
    { ...node("alert", ["check"]), conditions: { check: { when: { not: { path: "result.status", equals: "ok" } }, match: "all" } } },
    { ...node("report", ["deploy", "alert"]), join: "any" },
  ];
  const results = (entries: Record<string, unknown[]>) => new Map(Object.entries(entries).map(([id, values]) => [id, values.map((result, index) => ({ label: `host${index + 1}`, result }))]));

  it("starts a node as soon as its own dependencies are done, whatever else is running", () => {
    const graph = [node("slow"), node("fast"), node("next", ["fast"]), node("join", ["slow", "next"])];
    expect(nextWorkflowMove(graph, statuses({ slow: "running", fast: "succeeded", next: "pending", join: "pending" }))).toEqual({ start: ["next"], skip: [] });
    expect(nextWorkflowMove(graph, statuses({ slow: "running", fast: "succeeded", next: "succeeded", join: "pending" }))).toEqual({ start: [], skip: [] });
    expect(nextWorkflowMove(graph, statuses({ slow: "succeeded", fast: "succeeded", next: "succeeded", join: "pending" })).start).toEqual(["join"]);
  });

  it("takes the branch whose condition holds, skips the other, and runs the merge once the branches have ended", () => {
    const afterCheck = statuses({ check: "succeeded", deploy: "pending", alert: "pending", report: "pending" });
    const ok = results({ check: [{ status: "ok" }] });
    expect(nextWorkflowMove(branching, afterCheck, ok)).toEqual({ start: ["deploy"], skip: ["alert"] });
    expect(skipCause(branching[2]!, statuses({ check: "succeeded", deploy: "pending", alert: "skipped", report: "pending" }), ok)).toEqual({
      reason: "condition_false",
      detail: 'check → alert: not (result.status equals "ok") is false',
    });
    // report waits for deploy (alert is settled), then runs: one incoming edge was taken.
    expect(nextWorkflowMove(branching, statuses({ check: "succeeded", deploy: "running", alert: "skipped", report: "pending" }), ok)).toEqual({ start: [], skip: [] });
    expect(nextWorkflowMove(branching, statuses({ check: "succeeded", deploy: "succeeded", alert: "skipped", report: "pending" }), ok).start).toEqual(["report"]);
    const down = results({ check: [{ status: "down" }] });
    expect(nextWorkflowMove(branching, afterCheck, down)).toEqual({ start: ["alert"], skip: ["deploy"] });
    expect(skipCause(branching[1]!, statuses({ check: "succeeded", deploy: "skipped" }), down).detail).toBe('check → deploy: result.status equals "ok" is false (result.status is "down")');
  });

  it("skips what comes after a skipped node, and everything after a failure, with the cause", () => {
    const chain = [node("a"), { ...node("b", ["a"]), conditions: { a: when("result.go", true) } }, node("c", ["b"])];
    const move = nextWorkflowMove(chain, statuses({ a: "succeeded", b: "pending", c: "pending" }), results({ a: [{ go: false }] }));
    expect(move).toEqual({ start: [], skip: ["b", "c"], finished: "completed" });
    expect(skipCause(chain[2]!, statuses({ a: "succeeded", b: "skipped", c: "skipped" }))).toEqual({ reason: "upstream_skipped", detail: '"b" was skipped' });
    // A failure stops a merge too, even one that joins on any.
    expect(nextWorkflowMove(branching, statuses({ check: "succeeded", deploy: "failed", alert: "skipped", report: "pending" }))).toEqual({ start: [], skip: ["report"], finished: "failed" });
    expect(skipCause(branching[3]!, statuses({ check: "succeeded", deploy: "failed", alert: "skipped", report: "skipped" }))).toEqual({ reason: "upstream_failed", detail: '"deploy" failed' });
  });

  it("tests a fan-out node's condition on every target, or on any one with match: any", () => {
    const every = [node("probe"), { ...node("next", ["probe"]), conditions: { probe: when("result.ok", true) } }];
    const some = [node("probe"), { ...node("next", ["probe"]), conditions: { probe: when("result.ok", true, "any") } }];
    const mixed = results({ probe: [{ ok: true }, { ok: false }] });
    const done = statuses({ probe: "succeeded", next: "pending" });
    expect(nextWorkflowMove(every, done, mixed).skip).toEqual(["next"]);
    expect(skipCause(every[1]!, done, mixed).detail).toBe("probe → next: result.ok equals true is false on host2 (result.ok is false)");
    expect(nextWorkflowMove(some, done, mixed).start).toEqual(["next"]);
    const none = results({ probe: [{ ok: false }, {}] });
    expect(skipCause(some[1]!, done, none).detail).toBe("probe → next: result.ok equals true is false on every target (result.ok is false)");
  });
});
