import { describe, expect, it } from "bun:test";
import { EnqueueError } from "../../../src/broker/producer.ts";
import { nextWorkflowMove, validateWorkflow, workflowArgsSchema, workflowNodes, type NodeStatus, type WorkflowNode } from "../../../src/broker/workflow.ts";
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
