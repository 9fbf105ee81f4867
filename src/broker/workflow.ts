/**
 * Workflows: tasks run as the nodes of a directed acyclic graph, each node after the nodes it
 * depends on have succeeded on every target. A list of `steps` is the linear case (each step
 * depends on the one before). The graph runs inside a worker as the built-in task
 * llmctl.workflow, on BullMQ flows: the workflow job adds the jobs of the nodes that are ready
 * as its children, suspends in waiting-children (holding no slot), and runs again when they have
 * all finished, to record their outcomes and start the next nodes. Producers — beat, `llmctl
 * task`, the studio — only enqueue the one workflow job.
 *
 * The run is resumable: child ids derive from the workflow job's id and the node id, and the
 * progress saved after each transition lists which node's jobs exist, so a worker dying in the
 * middle of a transition leads to the same children, never a second set.
 */
import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import type { ConfigFile } from "../config/schema.ts";
import { STEP_NAME, workflowStepSchema } from "../config/schema.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import type { ChildJob, ChildOutcome, JobFlow } from "../tasks/define.ts";
import { EnqueueError, planEnqueue } from "./producer.ts";

export const WORKFLOW_TASK = "llmctl.workflow";

const nodeId = z.string().regex(STEP_NAME, "node ids use letters, digits, '_' and '-'").max(60);

export const workflowNodeSchema = z.strictObject({
  id: nodeId.describe("the node's name in the result and in its jobs' ids"),
  task: workflowStepSchema.shape.task,
  args: workflowStepSchema.shape.args,
  targets: workflowStepSchema.shape.targets,
  after: z.array(nodeId).default([]).describe("nodes that must have succeeded on every target before this one starts"),
});

export const workflowArgsSchema = z
  .strictObject({
    name: z.string().max(200).optional().describe("a label for the workflow (a schedule's name)"),
    steps: z.array(workflowStepSchema).min(1).max(50).optional().describe("steps run in order, each after every target of the previous one succeeded"),
    nodes: z.array(workflowNodeSchema).min(1).max(200).optional().describe("a graph: each node runs after the nodes in its `after` succeeded"),
  })
  .refine((args) => (args.steps === undefined) !== (args.nodes === undefined), "give either steps or nodes");

export type WorkflowArgs = z.output<typeof workflowArgsSchema>;
export type WorkflowArgsInput = z.input<typeof workflowArgsSchema>;

export interface WorkflowNode {
  id: string;
  task: string;
  args: Record<string, unknown>;
  targets?: string[];
  after: string[];
}

/** Steps as a graph: step i depends on step i - 1. */
export function workflowNodes(args: WorkflowArgs): WorkflowNode[] {
  if (args.nodes) return args.nodes.map((node) => ({ ...node, after: [...node.after] }));
  const steps = args.steps ?? [];
  const ids = steps.map((step, index) => step.name ?? `step${index + 1}`);
  return steps.map((step, index) => ({ id: ids[index]!, task: step.task, args: step.args, ...(step.targets ? { targets: step.targets } : {}), after: index === 0 ? [] : [ids[index - 1]!] }));
}

/**
 * Everything that can be checked before the workflow job is enqueued: each node's task,
 * arguments and targets (as an enqueue checks them), unique ids, known dependencies, no cycle.
 * Errors name the node's place: "steps[1].targets[0]" or "nodes[2].after[0]".
 */
export function validateWorkflow(config: ConfigFile, registry: TaskRegistry, args: WorkflowArgs): WorkflowNode[] {
  const list = args.steps ? "steps" : "nodes";
  const nodes = workflowNodes(args);
  const indexOf = new Map<string, number>();
  nodes.forEach((node, index) => {
    const at = `${list}[${index}]`;
    if (indexOf.has(node.id)) throw new EnqueueError(`${at}: "${node.id}" is used by ${list}[${indexOf.get(node.id)}] already`, `${at}.${args.steps ? "name" : "id"}`, "give each one its own name");
    indexOf.set(node.id, index);
    if (node.task === WORKFLOW_TASK) throw new EnqueueError(`${at}: a workflow cannot run another workflow as a step`, `${at}.task`, "list the inner workflow's steps here instead");
    try {
      node.args = planEnqueue(config, registry, node.task, node.args, { targets: node.targets }).args;
    } catch (error) {
      if (!(error instanceof EnqueueError)) throw error;
      throw new EnqueueError(`${at}: ${error.message}`, `${at}.${error.field}`, error.hint, error.problems);
    }
  });
  nodes.forEach((node, index) => {
    node.after.forEach((dependency, position) => {
      if (!indexOf.has(dependency)) throw new EnqueueError(`nodes[${index}]: "${node.id}" runs after "${dependency}", which is not a node`, `nodes[${index}].after[${position}]`);
    });
  });
  const cycle = findCycle(nodes);
  if (cycle) throw new EnqueueError(`the nodes depend on each other in a circle: ${cycle.join(" → ")}`, `nodes[${indexOf.get(cycle[0]!)}].after`, "a workflow must be acyclic");
  return nodes;
}

function findCycle(nodes: WorkflowNode[]): string[] | undefined {
  const byId = new Map(nodes.map((node) => [node.id, node]));
  const state = new Map<string, "visiting" | "done">();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    if (state.get(id) === "done") return undefined;
    if (state.get(id) === "visiting") return [...path.slice(path.indexOf(id)), id];
    state.set(id, "visiting");
    path.push(id);
    for (const dependency of byId.get(id)?.after ?? []) {
      const cycle = visit(dependency);
      if (cycle) return cycle;
    }
    path.pop();
    state.set(id, "done");
    return undefined;
  };
  for (const node of nodes) {
    const cycle = visit(node.id);
    if (cycle) return cycle;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// The engine

export type NodeStatus = "pending" | "running" | "succeeded" | "failed" | "skipped";

export interface TargetOutcome extends ChildJob {
  state: ChildOutcome["state"];
  result?: unknown;
  error?: string;
}

export interface NodeProgress {
  id: string;
  task: string;
  status: NodeStatus;
  targets: TargetOutcome[];
}

/** Saved as the workflow job's progress after every transition, and returned as its result. */
export interface WorkflowProgress {
  percent: number;
  status: "running" | "completed" | "failed";
  name?: string;
  nodes: NodeProgress[];
}

export interface WorkflowMove {
  /** Nodes whose dependencies have all succeeded: start them now. */
  start: string[];
  /** Nodes that can never start, because a node they depend on failed or was skipped. */
  skip: string[];
  /** Set when nothing runs and nothing can start any more. */
  finished?: "completed" | "failed";
}

/** The next move of a graph, from its nodes' statuses alone. */
export function nextWorkflowMove(nodes: WorkflowNode[], status: ReadonlyMap<string, NodeStatus>): WorkflowMove {
  const current = new Map(status);
  const skip: string[] = [];
  // Skipping propagates: a node after a skipped node is skipped too.
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of nodes) {
      if (current.get(node.id) !== "pending") continue;
      if (node.after.some((dependency) => current.get(dependency) === "failed" || current.get(dependency) === "skipped")) {
        current.set(node.id, "skipped");
        skip.push(node.id);
        changed = true;
      }
    }
  }
  const start = nodes.filter((node) => current.get(node.id) === "pending" && node.after.every((dependency) => current.get(dependency) === "succeeded")).map((node) => node.id);
  const running = nodes.some((node) => current.get(node.id) === "running");
  if (start.length > 0 || running) return { start, skip };
  const failed = nodes.some((node) => current.get(node.id) === "failed");
  return { start, skip, finished: failed ? "failed" : "completed" };
}

/**
 * Raised by the workflow job when a node failed; the message lists every failed target. It is
 * unrecoverable: retrying the transition would find the same failure.
 */
export class WorkflowFailed extends UnrecoverableError {
  constructor(readonly progress: WorkflowProgress) {
    const failures = progress.nodes.flatMap((node) =>
      node.targets.filter((target) => target.state === "failed").map((target) => `${node.id} (${node.task}) on ${target.hostname ?? target.target ?? target.queue}: ${target.error ?? "failed"}`),
    );
    const skipped = progress.nodes.filter((node) => node.status === "skipped").map((node) => node.id);
    super(`workflow failed: ${failures.join("; ")}${skipped.length ? `; not run: ${skipped.join(", ")}` : ""}`);
    this.name = "WorkflowFailed";
  }
}

function initialProgress(nodes: WorkflowNode[], name: string | undefined): WorkflowProgress {
  return { percent: 0, status: "running", ...(name ? { name } : {}), nodes: nodes.map((node) => ({ id: node.id, task: node.task, status: "pending", targets: [] })) };
}

function isProgress(value: unknown, nodes: WorkflowNode[]): value is WorkflowProgress {
  const progress = value as WorkflowProgress | null;
  return Array.isArray(progress?.nodes) && progress.nodes.length === nodes.length && progress.nodes.every((node, index) => node.id === nodes[index]!.id);
}

export interface WorkflowRun {
  args: WorkflowArgs;
  flow: JobFlow;
  /** The job's progress when this run started (what the last transition saved). */
  saved: unknown;
  save(progress: WorkflowProgress): Promise<void>;
}

/**
 * One activation of the workflow job: record the outcomes of the running nodes, skip what can
 * no longer run, start what is ready, save, and suspend until the new children finish. Returns
 * the final progress when the graph completed; throws WorkflowFailed when a node failed and
 * nothing is left running.
 */
export async function advanceWorkflow(run: WorkflowRun): Promise<WorkflowProgress> {
  const nodes = workflowNodes(run.args);
  const progress = isProgress(run.saved, nodes) ? run.saved : initialProgress(nodes, run.args.name);
  const byId = new Map(progress.nodes.map((node) => [node.id, node]));
  for (;;) {
    for (const node of progress.nodes.filter((candidate) => candidate.status === "running")) {
      const outcomes = await run.flow.outcomes(node.targets);
      node.targets = node.targets.map((target, index) => ({ ...target, ...outcomes[index]! }));
      if (node.targets.every((target) => target.state !== "pending")) node.status = node.targets.every((target) => target.state === "completed") ? "succeeded" : "failed";
    }
    const move = nextWorkflowMove(nodes, new Map(progress.nodes.map((node) => [node.id, node.status])));
    for (const id of move.skip) byId.get(id)!.status = "skipped";
    for (const id of move.start) {
      const node = nodes.find((candidate) => candidate.id === id)!;
      const children = await run.flow.addChildren(node.id, node.task, node.args, node.targets);
      Object.assign(byId.get(id)!, { status: "running", targets: children.map((child) => ({ ...child, state: "pending" })) });
    }
    const finishedNodes = progress.nodes.filter((node) => node.status !== "pending" && node.status !== "running").length;
    progress.percent = Math.round((finishedNodes / progress.nodes.length) * 100);
    if (move.finished) progress.status = move.finished;
    await run.save(progress);
    if (move.finished === "failed") throw new WorkflowFailed(progress);
    if (move.finished === "completed") return progress;
    // Returns at once when every child has finished already; the loop then records them.
    await run.flow.waitForChildren();
  }
}
