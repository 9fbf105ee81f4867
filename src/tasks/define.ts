/**
 * What a task is: a name, options, an optional argument schema and a handler. Built-in tasks,
 * command tasks from the config and user modules in tasks_dir are all this one shape.
 */
import type { z } from "zod";
import type { ConfigFile } from "../config/schema.ts";
import type { Logger } from "../util/logger.ts";
import type { TaskRegistry } from "./registry.ts";

export type Backoff = "fixed" | "exponential" | { type: "fixed" | "exponential"; delay: string };

export interface TaskJobInfo {
  id: string;
  /** The task name (BullMQ job name). */
  name: string;
  queue: string;
  /** 1 for the first try. */
  attempt: number;
  maxAttempts: number;
  /** The target the job was sent to (role, role:any or queue), when it came from a fan-out. */
  target?: string;
  /** The job's progress when this run started: what an earlier run of a suspended job saved (see JobFlow). */
  progress?: unknown;
}

export interface ChildJob {
  id: string;
  queue: string;
  task: string;
  target?: string;
  hostname?: string;
}

export interface ChildOutcome {
  id: string;
  /** pending: not finished yet; failed: failed its last attempt. */
  state: "completed" | "failed" | "pending";
  result?: unknown;
  error?: string;
}

/**
 * The job as the parent of a BullMQ flow: it adds child jobs, suspends until they have all
 * finished (its slot is free meanwhile), and runs again from the start to look at their
 * outcomes. The workflow engine (llmctl.workflow) is built on it.
 */
export interface JobFlow {
  /**
   * Sends `task` to `targets` (validated, routed and fanned out as any enqueue) as children of
   * this job. Their ids are "<this job's id>.<key>" (plus -<hostname> in a fan-out), so adding the
   * same key again — after a crash between adding and saving — adds nothing twice.
   */
  addChildren(key: string, task: string, args: Record<string, unknown>, targets?: string[]): Promise<ChildJob[]>;
  /** The outcomes of these children, from this job's dependency records (kept even after the children are cleaned up). */
  outcomes(children: ChildJob[]): Promise<ChildOutcome[]>;
  /**
   * Suspends the job until every child has finished: throws an error that ends this run without
   * failing the job (let it propagate). Returns normally when no child is pending.
   */
  waitForChildren(): Promise<void>;
}

export interface WorkerInfo {
  hostname: string;
  role?: string;
  pid: number;
  version: string;
}

export interface ChildTaskInfo {
  name: string;
  description: string;
  /** JSON Schema of the task's arguments (what an agent's tool declaration needs). */
  args_schema: Record<string, unknown>;
}

export interface ChildJobOutcome {
  id: string;
  queue: string;
  task: string;
  state: "completed" | "failed" | "removed" | "did not return";
  result?: unknown;
  error?: string;
}

/**
 * Other registered tasks, run as child jobs: enqueued on their routed queue (validated like any
 * enqueue, revocable, with their own log and result) and awaited. While a job waits for a child
 * its worker slot is lent out, so a worker whose slots are all held by waiting parents can
 * still run their children (docs/decisions.md, "Child jobs lend their parent's slot").
 */
export interface TaskCaller {
  /** The task's description and argument schema; undefined when it is not registered. */
  describe(name: string): ChildTaskInfo | undefined;
  /**
   * Runs the task as a child job and resolves with its outcome (a failed child is an outcome,
   * not a throw). Throws when the job cannot be enqueued (unknown task, invalid arguments, nesting
   * too deep) and with the parent's abort reason when the parent is aborted (the child is revoked).
   */
  run(name: string, args: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<ChildJobOutcome>;
}

export interface TaskContext<Args = Record<string, unknown>> {
  args: Args;
  job: TaskJobInfo;
  /** Fires on revoke, timeout and worker shutdown; the reason says which. */
  signal: AbortSignal;
  /** Reports progress: a percentage 0–100, or an object (e.g. per-file progress). */
  progress(value: number | Record<string, unknown>): Promise<void>;
  /** Appends a line to the job's log (llmctl job logs ID). */
  log(line: string): Promise<void>;
  logger: Logger;
  worker: WorkerInfo;
  config: ConfigFile;
  /** Runs other registered tasks as child jobs and awaits them, lending this job's slot meanwhile (agent tools). */
  tasks: TaskCaller;
  /**
   * Set by the worker runtime: this job as the parent of a BullMQ flow, which adds children and
   * suspends in waiting-children until they finish, holding no slot (workflows).
   */
  flow?: JobFlow;
}

export interface TaskDefinition<Args = any, Result = unknown> {
  name: string;
  description?: string;
  /** Default queue, used when no route in the config names the task. */
  queue?: string;
  /** Duration such as "10m"; the handler's signal fires when it is exceeded. */
  timeout?: string;
  attempts?: number;
  backoff?: Backoff;
  /** Validates arguments at enqueue time; its JSON Schema drives the studio's form. */
  args?: z.ZodType<Args>;
  /**
   * Checks beyond the schema that need the config or the other tasks (a workflow's steps), run
   * wherever a job of this task is enqueued; throw an error with a `field` to refuse it.
   */
  validate?(args: Args, environment: { config: ConfigFile; registry: TaskRegistry }): void;
  /** Names of arguments that bare words on the command line fill, in order (the last may be an array). */
  positional?: string[];
  handler(context: TaskContext<Args>): Promise<Result> | Result;
}

const TASK_MARK = Symbol.for("llmctl.task");

/** Declares a task. Modules in tasks_dir import it from "llmctl": `import { defineTask, z } from "llmctl"`. */
export function defineTask<Args = Record<string, unknown>, Result = unknown>(definition: TaskDefinition<Args, Result>): TaskDefinition<Args, Result> {
  return Object.assign(Object.create(null), definition, { [TASK_MARK]: true }) as TaskDefinition<Args, Result>;
}

export function isTaskDefinition(value: unknown): value is TaskDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TASK_MARK] === true;
}
