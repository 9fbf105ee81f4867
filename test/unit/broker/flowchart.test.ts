import { describe, expect, it } from "bun:test";
import { flowchartDiagnostics, flowchartNodes } from "../../../src/broker/flowchart.ts";
import { EnqueueError, planEnqueue } from "../../../src/broker/producer.ts";
import { BUILTIN_TASKS } from "../../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../../src/tasks/registry.ts";
import { loadedConfig } from "../../helpers/config.ts";

const TEXT = `queues: [llmctl_studio]
workers:
  webserver: { hostnames: [web01, web02], queue: webserver_tasks }
flowcharts:
  patch:
    nodes:
      - { id: updates, task: check_security_updates, targets: [webserver] }
      - { id: install, task: install, args: { packages: [nginx] }, targets: [webserver] }
    edges:
      - { from: updates, to: install, when: { path: result.security_count, gt: 0 } }
  broken:
    nodes:
      - { id: first, task: llmctl.pong }
      - { id: second, task: llmctl.ping, args: { sleep_ms: soon } }
`;
const loaded = { ...loadedConfig(TEXT, "redis://127.0.0.1:1/0"), path: "test.yaml" };
const { config } = loaded;
const registry = new TaskRegistry(BUILTIN_TASKS, config);
const FLOWCHART = "services.tasks.run_flowchart";

function refusal(args: unknown): EnqueueError {
  try {
    planEnqueue(config, registry, FLOWCHART, args);
  } catch (error) {
    if (error instanceof EnqueueError) return error;
    throw error;
  }
  throw new Error("expected the flowchart to be refused");
}

const ping = (id: string, extra: Record<string, unknown> = {}) => ({ id, task: "llmctl.ping", ...extra });

describe("enqueueing a flowchart", () => {
  it("accepts an inline flowchart and enqueues it with each node's arguments validated", () => {
    const plan = planEnqueue(config, registry, FLOWCHART, { nodes: [ping("a"), { id: "b", task: "install", args: { packages: ["curl"] }, targets: ["webserver"] }], edges: [{ from: "a", to: "b", when: { path: "result.hostname", exists: true } }] });
    expect(plan.args).toEqual({
      nodes: [{ id: "a", task: "llmctl.ping", args: {}, join: "all" }, { id: "b", task: "install", args: { packages: ["curl"], dry_run: false }, targets: ["webserver"], join: "all" }],
      edges: [{ from: "a", to: "b", when: { path: "result.hostname", exists: true }, match: "all" }],
    });
    expect(plan.targets.map((target) => target.queue)).toEqual(["llmctl_studio"]);
  });

  it("expands a flowchart named in the config into its nodes and edges, labelled with its name", () => {
    const { args } = planEnqueue(config, registry, FLOWCHART, { flowchart: "patch" });
    expect(args).toMatchObject({ name: "patch", nodes: [{ id: "updates", args: { refresh: true } }, { id: "install", args: { packages: ["nginx"], dry_run: false } }], edges: [{ from: "updates", to: "install" }] });
    expect(args.flowchart).toBeUndefined();
  });

  it("refuses a cycle, an edge to an unknown node, and a duplicate id, naming the field", () => {
    const cycle = refusal({ nodes: [ping("a"), ping("b"), ping("c")], edges: [{ from: "a", to: "b" }, { from: "b", to: "c" }, { from: "c", to: "a" }] });
    expect(cycle.field).toBe("args.edges[2]");
    expect(cycle.message).toBe("edges[2]: the edges form a cycle: a → b → c → a");
    expect(refusal({ nodes: [ping("a")], edges: [{ from: "a", to: "missing" }] })).toMatchObject({ field: "args.edges[0].to", message: 'edges[0].to: edge to "missing", which is not a node' });
    expect(refusal({ nodes: [ping("a"), ping("a")] }).field).toBe("args.nodes[1].id");
  });

  it("refuses an unknown task, an unknown target and node arguments the task's schema refuses, naming the node", () => {
    expect(refusal({ nodes: [ping("a"), { id: "b", task: "llmctl.pnig" }] })).toMatchObject({ field: "args.nodes[1].task", message: 'nodes[1]: unknown task "llmctl.pnig" (did you mean "llmctl.ping"?)' });
    expect(refusal({ nodes: [ping("a", { targets: ["webservr"] })] }).field).toBe("args.nodes[0].targets[0]");
    const badArgs = refusal({ nodes: [{ id: "i", task: "install", args: { packages: ["nginx; rm -rf /"] } }] });
    expect(badArgs.field).toBe("args.nodes[0].args.packages[0]");
    expect(badArgs.message).toStartWith("nodes[0]: invalid arguments for install: packages[0]:");
    expect(refusal({ nodes: [{ id: "w", task: "llmctl.workflow", args: { steps: [{ task: "llmctl.ping" }] } }] }).message).toContain("cannot run another workflow or flowchart");
  });

  it("refuses bad conditions at the edge that holds them", () => {
    expect(refusal({ nodes: [ping("a"), ping("b")], edges: [{ from: "a", to: "b", when: { path: "result.x" } }] }).field).toBe("args.edges[0].when");
    expect(refusal({ nodes: [ping("a"), ping("b")], edges: [{ from: "a", to: "b", when: { path: "x", equals: 1 } }] }).field).toBe("args.edges[0].when.path");
    expect(refusal({ nodes: [ping("a"), ping("b")], edges: [{ from: "a", to: "b", when: { code: "process.exit()" } }] }).field).toBe("args.edges[0].when.code");
    // Nesting beyond what the schema can walk is refused, not a crash.
    let deep: unknown = { path: "result", exists: true };
    for (let level = 0; level < 50_000; level++) deep = { not: deep };
    expect(refusal({ nodes: [ping("a"), ping("b")], edges: [{ from: "a", to: "b", when: deep }] })).toMatchObject({ field: "args.args", message: expect.stringContaining("nested too deeply") });
  });

  it("refuses an unknown name, both a name and nodes, or neither", () => {
    expect(refusal({ flowchart: "pach" })).toMatchObject({ field: "args.flowchart", message: 'unknown flowchart "pach" (did you mean "patch"?)' });
    expect(refusal({ flowchart: "patch", nodes: [ping("a")] }).field).toBe("args.flowchart");
    expect(refusal({}).field).toBe("args.nodes");
    // A named flowchart's own mistakes point into the config.
    expect(refusal({ flowchart: "broken" })).toMatchObject({ field: "args.flowchart", message: 'flowcharts.broken.nodes[0]: unknown task "llmctl.pong" (did you mean "llmctl.ping"?)' });
  });
});

describe("named flowcharts at config validate", () => {
  it("reports each node's unknown task or bad arguments at its line and column", () => {
    expect(flowchartDiagnostics(loaded, registry).map((d) => `${d.line}:${d.column} ${d.path}: ${d.message}`)).toEqual([
      '13:28 flowcharts.broken.nodes[0].task: unknown task "llmctl.pong" (did you mean "llmctl.ping"?)',
      "14:60 flowcharts.broken.nodes[1].args.sleep_ms: invalid arguments for llmctl.ping: sleep_ms: expected number, received string",
    ]);
  });
});

describe("the engine's graph of a flowchart", () => {
  it("makes each edge a dependency of the node it enters, with its condition", () => {
    const nodes = flowchartNodes({
      nodes: [{ id: "a", task: "t", args: {}, join: "all" }, { id: "b", task: "t", args: {}, join: "any", targets: ["web"] }],
      edges: [{ from: "a", to: "b", when: { path: "result.ok", equals: true }, match: "any" }],
    });
    expect(nodes).toEqual([
      { id: "a", task: "t", args: {}, after: [], conditions: {}, join: "all" },
      { id: "b", task: "t", args: {}, targets: ["web"], after: ["a"], conditions: { a: { when: { path: "result.ok", equals: true }, match: "any" } }, join: "any" },
    ]);
  });
});
