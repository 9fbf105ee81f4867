/**
 * What a task is: a name, options, an optional argument schema and a handler. Built-in tasks,
 * command tasks from the config and user modules in tasks_dir are all this one shape.
 */
import type { z } from "zod";
import type { ConfigFile } from "../config/schema.ts";
import type { Logger } from "../util/logger.ts";

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
  /** Runs other registered tasks as child jobs (agent tools). */
  tasks: TaskCaller;
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
