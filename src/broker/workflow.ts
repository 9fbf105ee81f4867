/**
 * Workflows: tasks run as the nodes of a directed acyclic graph, each node after the nodes it
 * depends on have succeeded on every target. A list of `steps` is the linear case (each step
 * depends on the one before). The graph runs inside a worker as the built-in task
 * llmctl.workflow (and services.tasks.run_flowchart, whose edges may carry conditions), on
 * BullMQ flows: the workflow job adds the jobs of the nodes that are ready as its children,
 * suspends in waiting-children (holding no slot), and runs again as soon as one of them has
 * finished, to record its outcome and start the nodes that became ready. Producers — beat,
 * `llmctl task`, the studio — only enqueue the one workflow job.
 *
 * The run is resumable: child ids derive from the workflow job's id and the node id, and the
 * progress saved after each transition lists which node's jobs exist, so a worker dying in the
 * middle of a transition leads to the same children, never a second set.
 */
import { UnrecoverableError } from "bullmq";
import { z } from "zod";
import { describeCondition, evaluateCondition, observedValue, type Condition } from "../config/condition.ts";
import { findCycle } from "../config/graph.ts";
import type { ConfigFile } from "../config/schema.ts";
import { STEP_NAME, workflowStepSchema } from "../config/schema.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import type { ChildJob, ChildOutcome, JobFlow, TaskContext, TaskDefinition } from "../tasks/define.ts";
import { EnqueueError, planEnqueue } from "./producer.ts";

export const WORKFLOW_TASK = "llmctl.workflow";
export const FLOWCHART_TASK = "services.tasks.run_flowchart";

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
  /** The nodes that must be done first. */
  after: string[];
  /** Per dependency in `after` (a flowchart edge's `when`): done only when its result meets the condition. */
  conditions?: Record<string, { when: Condition; match: "all" | "any" }>;
  /** all (default): start when every dependency is done; any: when all have ended without a failure and at least one is done. */
  join?: "all" | "any";
}

/** Steps as a graph: step i depends on step i - 1. */
export function workflowNodes(args: WorkflowArgs): WorkflowNode[] {
  if (args.nodes) return args.nodes.map((node) => ({ ...node, after: [...node.after] }));
  const steps = args.steps ?? [];
  const ids = steps.map((step, index) => step.name ?? `step${index + 1}`);
  return steps.map((step, index) => ({ id: ids[index]!, task: step.task, args: step.args, ...(step.targets ? { targets: step.targets } : {}), after: index === 0 ? [] : [ids[index - 1]!] }));
}

/** Both run a graph of child jobs and must not run one inside another. */
export const GRAPH_TASKS = new Set([WORKFLOW_TASK, FLOWCHART_TASK]);

/**
 * One node's task, arguments and targets, checked as an enqueue checks them; returns the validated
 * arguments. Errors are prefixed with the node's place ("nodes[2]") and their field under it.
 */
export function planNode(config: ConfigFile, registry: TaskRegistry, at: string, node: { task: string; args: Record<string, unknown>; targets?: string[] }): Record<string, unknown> {
  if (GRAPH_TASKS.has(node.task)) throw new EnqueueError(`${at}: a workflow or flowchart cannot run another workflow or flowchart as a node`, `${at}.task`, "list the inner graph's tasks here instead");
  try {
    return planEnqueue(config, registry, node.task, node.args, { targets: node.targets }).args;
  } catch (error) {
    if (!(error instanceof EnqueueError)) throw error;
    throw new EnqueueError(`${at}: ${error.message}`, `${at}.${error.field}`, error.hint, error.problems);
  }
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
    node.args = planNode(config, registry, at, node);
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

// ---------------------------------------------------------------------------------------------
// The engine

export type NodeStatus = "pending" | "running" | "succeeded" | "failed" | "skipped";

/** Why a node did not run. */
export interface SkipCause {
  reason: "upstream_failed" | "upstream_skipped" | "condition_false" | "revoked";
  detail: string;
}

export interface TargetOutcome extends ChildJob {
  state: ChildOutcome["state"];
  result?: unknown;
  error?: string;
}

export interface NodeProgress {
  id: string;
  task: string;
  status: NodeStatus;
  /** Set when status is skipped. */
  skipped?: SkipCause;
  targets: TargetOutcome[];
}

/** Saved as the workflow job's progress after every transition, and returned as its result. */
export interface WorkflowProgress {
  percent: number;
  status: "running" | "completed" | "failed";
  name?: string;
  /** Nodes that have ended (succeeded, failed, skipped) and how many there are. */
  done: number;
  total: number;
  nodes: NodeProgress[];
}

export interface WorkflowMove {
  /** Nodes whose dependencies are all done (and whose conditions hold): start them now. */
  start: string[];
  /** Nodes that can never start: a node they depend on failed or was skipped, or a condition is false. */
  skip: string[];
  /** Set when nothing runs and nothing can start any more. */
  finished?: "completed" | "failed";
}

/** Per finished node, each target's label (hostname, target or queue) and result: what edge conditions test. */
export type NodeResults = ReadonlyMap<string, ReadonlyArray<{ label: string; result: unknown }>>;

const NO_RESULTS: NodeResults = new Map();
const CAUSE_ORDER: Array<SkipCause["reason"]> = ["upstream_failed", "condition_false", "upstream_skipped"];

/** Whether the dependency `from` lets `node` run: not yet, yes, or never (and why). */
function dependencyState(node: WorkflowNode, from: string, status: ReadonlyMap<string, NodeStatus>, results: NodeResults): "waiting" | "open" | SkipCause {
  const state = status.get(from);
  if (state === "failed") return { reason: "upstream_failed", detail: `"${from}" failed` };
  if (state === "skipped") return { reason: "upstream_skipped", detail: `"${from}" was skipped` };
  if (state !== "succeeded") return "waiting";
  const edge = node.conditions?.[from];
  if (!edge) return "open";
  const targets = results.get(from) ?? [];
  const unmet = targets.filter((target) => !evaluateCondition(edge.when, target));
  if (edge.match === "any" ? unmet.length < targets.length : unmet.length === 0) return "open";
  const where = edge.match === "any" ? (targets.length > 1 ? " on every target" : "") : targets.length > 1 ? ` on ${unmet[0]!.label}` : "";
  const observed = observedValue(edge.when, unmet[0]!);
  return { reason: "condition_false", detail: `${from} → ${node.id}: ${describeCondition(edge.when)} is false${where}${observed ? ` (${observed})` : ""}` };
}

/** A pending node's fate: wait, start now, or never run (the most telling cause first). */
function decide(node: WorkflowNode, status: ReadonlyMap<string, NodeStatus>, results: NodeResults): "wait" | "start" | SkipCause {
  const states = node.after.map((from) => dependencyState(node, from, status, results));
  const [cause] = states.filter((state): state is SkipCause => typeof state === "object").sort((a, b) => CAUSE_ORDER.indexOf(a.reason) - CAUSE_ORDER.indexOf(b.reason));
  // A failure stops the branches after it, whatever the join.
  if (cause?.reason === "upstream_failed") return cause;
  if (node.join === "any") {
    if (states.includes("waiting")) return "wait";
    return states.includes("open") || !cause ? "start" : cause;
  }
  if (cause) return cause;
  return states.includes("waiting") ? "wait" : "start";
}

/** Why a node the last move skipped was skipped, judged on the statuses after that move. */
export function skipCause(node: WorkflowNode, status: ReadonlyMap<string, NodeStatus>, results: NodeResults = NO_RESULTS): SkipCause {
  const decision = decide(node, status, results);
  return typeof decision === "object" ? decision : { reason: "upstream_skipped", detail: "no dependency let it run" };
}

/** The next move of a graph, from its nodes' statuses and the results conditions look at. */
export function nextWorkflowMove(nodes: WorkflowNode[], status: ReadonlyMap<string, NodeStatus>, results: NodeResults = NO_RESULTS): WorkflowMove {
  const current = new Map(status);
  const skip: string[] = [];
  // Skipping propagates: a node after a skipped node is skipped too.
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of nodes) {
      if (current.get(node.id) !== "pending" || typeof decide(node, current, results) !== "object") continue;
      current.set(node.id, "skipped");
      skip.push(node.id);
      changed = true;
    }
  }
  const start = nodes.filter((node) => current.get(node.id) === "pending" && decide(node, current, results) === "start").map((node) => node.id);
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
  constructor(
    readonly progress: WorkflowProgress,
    kind = "workflow",
  ) {
    const failures = progress.nodes.flatMap((node) =>
      node.targets.filter((target) => target.state === "failed").map((target) => `${node.id} (${node.task}) on ${targetLabel(target)}: ${target.error ?? "failed"}`),
    );
    const skipped = progress.nodes.filter((node) => node.status === "skipped").map((node) => node.id);
    super(`${kind} failed: ${failures.join("; ")}${skipped.length ? `; not run: ${skipped.join(", ")}` : ""}`);
    this.name = "WorkflowFailed";
  }
}

function targetLabel(target: ChildJob): string {
  return target.hostname ?? target.target ?? target.queue;
}

function initialProgress(nodes: WorkflowNode[], name: string | undefined): WorkflowProgress {
  return { percent: 0, status: "running", ...(name ? { name } : {}), done: 0, total: nodes.length, nodes: nodes.map((node) => ({ id: node.id, task: node.task, status: "pending", targets: [] })) };
}

function isProgress(value: unknown, nodes: WorkflowNode[]): value is WorkflowProgress {
  const progress = value as WorkflowProgress | null;
  return Array.isArray(progress?.nodes) && progress.nodes.length === nodes.length && progress.nodes.every((node, index) => node.id === nodes[index]!.id);
}

export interface WorkflowRun {
  nodes: WorkflowNode[];
  name?: string;
  /** How the job names itself in its log and failure: "workflow" or "flowchart". */
  kind: string;
  flow: JobFlow;
  /** The job's progress when this run started (what the last transition saved). */
  saved: unknown;
  save(progress: WorkflowProgress): Promise<void>;
  /** A line of the job's log, one per node transition. */
  log(line: string): Promise<void>;
  signal?: AbortSignal;
}

/** Records what the running nodes' jobs did since the last transition; logs each node that ended. */
async function recordOutcomes(run: WorkflowRun, progress: WorkflowProgress): Promise<void> {
  const running = progress.nodes.filter((node) => node.status === "running");
  const outcomes = await run.flow.outcomes(running.flatMap((node) => node.targets));
  for (const node of running) {
    node.targets = node.targets.map((target) => ({ ...target, ...outcomes.shift()! }));
    if (node.targets.some((target) => target.state === "pending")) continue;
    const failed = node.targets.filter((target) => target.state === "failed");
    node.status = failed.length === 0 ? "succeeded" : "failed";
    await run.log(failed.length === 0 ? `${node.id}: succeeded` : `${node.id}: failed on ${failed.map((target) => `${targetLabel(target)} (${target.error ?? "failed"})`).join(", ")}`);
  }
}

/** How many of the workflow's child jobs have ended, as far as its progress knows. */
function finishedChildren(progress: WorkflowProgress): number {
  return progress.nodes.reduce((sum, node) => sum + node.targets.filter((target) => target.state !== "pending").length, 0);
}

/** The revoked workflow's last transition: what never started is skipped, and the job fails with "revoked". */
async function endRevoked(run: WorkflowRun, progress: WorkflowProgress): Promise<never> {
  for (const node of progress.nodes) {
    if (node.status === "pending") Object.assign(node, { status: "skipped", skipped: { reason: "revoked", detail: `the ${run.kind} was revoked` } });
  }
  progress.done = progress.total;
  progress.percent = 100;
  progress.status = "failed";
  await run.save(progress);
  await run.log(`${run.kind} revoked`);
  throw new UnrecoverableError("revoked");
}

/**
 * One activation of the workflow job: record the outcomes of the running nodes, skip what can
 * no longer run, start what is ready, save, and suspend until one of the new or running children
 * finishes. Returns the final progress when the graph completed; throws WorkflowFailed when a
 * node failed and nothing is left running, and "revoked" when the job was revoked.
 */
export async function advanceWorkflow(run: WorkflowRun): Promise<WorkflowProgress> {
  const { nodes } = run;
  const progress = isProgress(run.saved, nodes) ? run.saved : initialProgress(nodes, run.name);
  const byId = new Map(progress.nodes.map((node) => [node.id, node]));
  for (;;) {
    await recordOutcomes(run, progress);
    if (await run.flow.revoked()) {
      // Its children were revoked with it (job-control.ts); it ends once every job it started has
      // stopped, so that its last progress says how each one ended.
      if (!progress.nodes.some((node) => node.status === "running")) await endRevoked(run, progress);
      await run.save(progress);
      await run.flow.waitForChildren(finishedChildren(progress));
      continue;
    }
    const results: NodeResults = new Map(progress.nodes.map((node) => [node.id, node.targets.map((target) => ({ label: targetLabel(target), result: target.result }))]));
    const move = nextWorkflowMove(nodes, new Map(progress.nodes.map((node) => [node.id, node.status])), results);
    for (const id of move.skip) byId.get(id)!.status = "skipped";
    const status = new Map(progress.nodes.map((node) => [node.id, node.status]));
    for (const id of move.skip) {
      const cause = skipCause(nodes.find((candidate) => candidate.id === id)!, status, results);
      byId.get(id)!.skipped = cause;
      await run.log(`${id}: skipped, ${cause.reason.replace("_", " ")}: ${cause.detail}`);
    }
    for (const id of move.start) {
      run.signal?.throwIfAborted();
      const node = nodes.find((candidate) => candidate.id === id)!;
      const children = await run.flow.addChildren(node.id, node.task, node.args, node.targets);
      Object.assign(byId.get(id)!, { status: "running", targets: children.map((child) => ({ ...child, state: "pending" })) });
      await run.log(`${id}: started ${node.task} on ${children.map(targetLabel).join(", ")}`);
    }
    progress.done = progress.nodes.filter((node) => node.status !== "pending" && node.status !== "running").length;
    progress.total = progress.nodes.length;
    progress.percent = Math.round((progress.done / progress.total) * 100);
    if (move.finished) progress.status = move.finished;
    await run.save(progress);
    if (move.finished) {
      const count = (status: NodeStatus) => progress.nodes.filter((node) => node.status === status).length;
      await run.log(`${run.kind} ${move.finished}: ${count("succeeded")} succeeded, ${count("failed")} failed, ${count("skipped")} skipped`);
    }
    if (move.finished === "failed") throw new WorkflowFailed(progress, run.kind);
    if (move.finished === "completed") return progress;
    // Returns at once when every child has finished already; the loop then records them.
    await run.flow.waitForChildren(finishedChildren(progress));
  }
}

/**
 * What both graph tasks (llmctl.workflow, run_flowchart) share: a transition that failed on a
 * Redis error is retried, a failed node fails the job at once (WorkflowFailed is unrecoverable),
 * and the engine finishes a revoked job itself.
 */
export const GRAPH_TASK_OPTIONS = { attempts: 3, backoff: { type: "exponential", delay: "1s" }, handlesRevocation: true } satisfies Partial<TaskDefinition>;

/** A graph task's handler: one transition of its job's graph. */
export async function runGraphTransition(context: TaskContext<unknown>, kind: "workflow" | "flowchart", graph: { nodes: WorkflowNode[]; name?: string }): Promise<WorkflowProgress> {
  const { job, flow, progress, log, signal } = context;
  if (!flow) throw new Error(`${job.name} runs only in an llmctl worker (it adds child jobs)`);
  return await advanceWorkflow({ ...graph, kind, flow, saved: job.progress, save: (state) => progress(state as unknown as Record<string, unknown>), log, signal });
}
