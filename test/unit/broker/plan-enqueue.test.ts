import { describe, expect, it } from "bun:test";
import { parseConfig } from "../../../src/config/load.ts";
import { EnqueueError, planEnqueue } from "../../../src/broker/producer.ts";
import { BUILTIN_TASKS } from "../../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../../src/tasks/registry.ts";

const { config } = parseConfig(
  `queues: [llmctl_studio, llmctl_studio.downloads.huggingface, llmctl_studio.rag.index]
routes:
  rag.worker.tasks.run_index_task: llmctl_studio.rag.index
workers:
  webserver: { hostnames: [web01, web02], queue: webserver_tasks }
  empty: { queue: empty_q }
tasks:
  shell: { queue: llmctl_studio.downloads.huggingface, attempts: 4, backoff: { type: fixed, delay: 2s }, timeout: 1m }
`,
  "t.yaml",
);
const registry = new TaskRegistry(BUILTIN_TASKS, config);

function planError(task: string, args: unknown, targets?: string[]): EnqueueError {
  try {
    planEnqueue(config, registry, task, args, { targets });
  } catch (error) {
    if (error instanceof EnqueueError) return error;
    throw error;
  }
  throw new Error("expected the plan to be rejected");
}

describe("planning an enqueue", () => {
  it("routes a task: config route, then task option, then the task's default, then the default queue", () => {
    expect(planEnqueue(config, registry, "rag.worker.tasks.run_index_task", {}).targets.map((t) => t.queue)).toEqual(["llmctl_studio.rag.index"]);
    expect(planEnqueue(config, registry, "shell", { argv: ["true"] }).targets.map((t) => t.queue)).toEqual(["llmctl_studio.downloads.huggingface"]);
    expect(planEnqueue(config, registry, "llmctl.ping", {}).targets.map((t) => t.queue)).toEqual(["llmctl_studio"]);
  });

  it("fans a role out to one queue per host, role:any to the role queue, and dedupes", () => {
    const plan = planEnqueue(config, registry, "llmctl.ping", {}, { targets: ["webserver", "webserver:any", "webserver_tasks.web01"] });
    expect(plan.targets.map((t) => t.queue)).toEqual(["webserver_tasks.web01", "webserver_tasks.web02", "webserver_tasks"]);
    expect(plan.targets[0]).toMatchObject({ role: "webserver", hostname: "web01" });
  });

  it("rejects an unknown task with the closest name", () => {
    const error = planError("llmctl.pong", {});
    expect(error.message).toBe('unknown task "llmctl.pong" (did you mean "llmctl.ping"?)');
    expect(error.field).toBe("task");
  });

  it("rejects bad arguments naming the field", () => {
    const error = planError("shell", { argv: [] });
    expect(error.message).toContain("argv");
    expect(error.field).toBe("args.argv");
    expect(planError("llmctl.ping", { bogus: 1 }).message).toContain("bogus: unknown argument");
  });

  it("tells a wrong type from a missing argument", () => {
    expect(planError("llmctl.ping", { sleep_ms: "x" }).message).toBe("invalid arguments for llmctl.ping: sleep_ms: expected number, received string");
    expect(planError("shell", {}).message).toBe("invalid arguments for shell: argv: required");
  });

  it("rejects a half-valid fan-out as a whole, naming the bad target", () => {
    const error = planError("llmctl.ping", {}, ["webserver", "webservr"]);
    expect(error.message).toContain('target "webservr" names no role or queue (did you mean "webserver"?)');
    expect(error.field).toBe("targets[1]");
    expect(planError("llmctl.ping", {}, ["empty"]).message).toContain("has no hostnames");
  });

  it("applies the config's task options over the task's own", () => {
    expect(registry.options("shell")).toEqual({ queue: "llmctl_studio.downloads.huggingface", timeoutMs: 60_000, attempts: 4, backoff: { type: "fixed", delay: 2000 }, priority: undefined });
  });
});
