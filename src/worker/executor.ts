/**
 * Runs one job's handler: builds its context, enforces the timeout, turns a revoke into an
 * abort, and makes sure whatever the handler does — throw a non-Error, return something that
 * is not JSON, never settle — ends as a clean job outcome without harming the worker.
 */
import { UnrecoverableError, WaitingChildrenError, type Job } from "bullmq";
import type { ConfigFile } from "../config/schema.ts";
import { readPayload } from "../broker/payload.ts";
import type { RunningJob } from "../broker/worker-registry.ts";
import { validateArgs, describeArgsProblems } from "../tasks/args.ts";
import type { JobFlow, TaskCaller, TaskContext, WorkerInfo } from "../tasks/define.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { formatDuration } from "../util/duration.ts";
import type { Logger } from "../util/logger.ts";
import type { ChildJobs } from "./child-jobs.ts";
import { RevokedError, ShutdownInterrupted, TaskTimeoutError } from "./errors.ts";

/** After a revoke or timeout, how long the handler may take to clean up (kill its children) before the job is failed anyway. */
export const ABORT_SETTLE_MS = 500;

/**
 * A job this process is running. Most handlers never look at their signal, so the
 * AbortController is made only when one does, or when the job is aborted.
 */
class ActiveJob {
  readonly startedAt = Date.now();
  aborted = false;
  /** Why it was aborted: revoke, timeout or shutdown. The first abort wins, as with AbortController. */
  reason: unknown;
  private controller?: AbortController;
  /** Set while an async handler runs: ends the job this long after an abort, whatever the handler does. */
  private onAbort?: () => void;

  constructor(readonly job: Job) {}

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
    this.onAbort?.();
  }

  /**
   * Settles with the handler's promise, or rejects with the abort reason once the handler has had
   * ABORT_SETTLE_MS to clean up after an abort (a shutdown returns the job at once).
   */
  race(pending: PromiseLike<unknown>, timeoutMs: number | undefined): Promise<unknown> {
    let timeout: ReturnType<typeof setTimeout> | undefined;
    let settle: ReturnType<typeof setTimeout> | undefined;
    return new Promise<unknown>((resolve, reject) => {
      this.onAbort = () => {
        settle = setTimeout(() => reject(this.reason), this.reason instanceof ShutdownInterrupted ? 0 : ABORT_SETTLE_MS);
      };
      if (this.aborted) this.onAbort();
      else if (timeoutMs) timeout = setTimeout(() => this.abort(new TaskTimeoutError(`timed out after ${formatDuration(timeoutMs)}`)), timeoutMs);
      pending.then(resolve, reject);
    }).finally(() => {
      clearTimeout(timeout);
      clearTimeout(settle);
      this.onAbort = undefined;
    });
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | null)?.then === "function";
}

export interface ExecutorDependencies {
  registry: TaskRegistry;
  config: ConfigFile;
  logger: Logger;
  worker: WorkerInfo;
  isRevoked: (queue: string, jobId: string) => boolean;
  /** Runs child jobs for handlers (TaskContext.tasks). */
  children: ChildJobs;
  onFinished?: (job: Job, outcome: "completed" | "failed", seconds: number) => void;
  /** The handler's JobFlow (child jobs); the worker runtime provides it, tests may not. */
  flowFor?: (job: Job, token: string) => JobFlow;
}

function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  if (typeof thrown === "string") return new Error(thrown);
  try {
    return new Error(`task threw a non-Error value: ${JSON.stringify(thrown)}`);
  } catch {
    return new Error(`task threw a non-Error value: ${String(thrown)}`);
  }
}

/** A result BullMQ can store: JSON-serialisable; undefined becomes null. */
function storableResult(result: unknown): unknown {
  if (result === undefined) return null;
  try {
    JSON.stringify(result);
  } catch (error) {
    throw new Error(`the task's result is not JSON-serialisable: ${(error as Error).message}`);
  }
  return result;
}

export class JobExecutor {
  private readonly running = new Map<string, ActiveJob>();
  /** Each task's configured timeout; the registry derives it from the config on every call. */
  private readonly timeouts = new Map<string, number | undefined>();

  constructor(private readonly deps: ExecutorDependencies) {}

  /**
   * The BullMQ processor. A handler that returns a plain value finishes without a promise or a
   * timer of its own: BullMQ awaits whatever this returns.
   */
  readonly process = (job: Job, token?: string): unknown => {
    const started = performance.now();
    let outcome: unknown;
    try {
      outcome = this.run(job, token);
    } catch (error) {
      this.finishedWith(job, error, started);
      throw error;
    }
    if (!isPromiseLike(outcome)) {
      this.deps.onFinished?.(job, "completed", (performance.now() - started) / 1000);
      return outcome;
    }
    return Promise.resolve(outcome).then(
      (result) => {
        this.deps.onFinished?.(job, "completed", (performance.now() - started) / 1000);
        return result;
      },
      (error: unknown) => {
        this.finishedWith(job, error, started);
        throw error;
      },
    );
  };

  private finishedWith(job: Job, error: unknown, started: number): void {
    // A job suspended to wait for its children has not finished; it runs again later.
    if (error instanceof ShutdownInterrupted || error instanceof WaitingChildrenError) return;
    this.deps.onFinished?.(job, "failed", (performance.now() - started) / 1000);
  }

  private timeoutOf(task: string): number | undefined {
    if (!this.timeouts.has(task)) this.timeouts.set(task, this.deps.registry.options(task).timeoutMs);
    return this.timeouts.get(task);
  }

  /** The handler's result, or a promise of it when the handler is async. */
  private run(job: Job, token: string | undefined): unknown {
    const deps = this.deps;
    const queue = job.queueName;
    const id = job.id!;
    const task = deps.registry.get(job.name);
    if (!task) throw new UnrecoverableError(`unknown task "${job.name}": this worker does not have it registered`);
    if (deps.isRevoked(queue, id) && !task.handlesRevocation) throw new UnrecoverableError("revoked");
    const payload = readPayload(job.data);
    const validated = validateArgs(task, payload.args);
    if (!validated.ok) throw new UnrecoverableError(describeArgsProblems(job.name, validated.problems));

    const running = new ActiveJob(job);
    const key = `${queue}/${id}`;
    this.running.set(key, running);
    let logger: Logger | undefined; // a pino child costs more than a no-op job; most handlers never log
    let caller: TaskCaller | undefined; // one per job: it counts the job's pending children
    let flow: JobFlow | undefined;
    const context: TaskContext = {
      args: validated.value,
      job: { id, name: job.name, queue, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1, target: payload.meta.target, progress: job.progress },
      get signal() {
        return running.signal;
      },
      progress: async (value) => {
        await job.updateProgress(value);
      },
      log: async (line) => {
        await job.log(line);
      },
      get logger() {
        return (logger ??= deps.logger.child({ job: id, task: job.name, queue }));
      },
      worker: deps.worker,
      config: deps.config,
      get tasks(): TaskCaller {
        return (caller ??= deps.children.callerFor({ id, queue, depth: payload.meta.depth ?? 0, signal: running.signal }));
      },
      get flow(): JobFlow | undefined {
        if (token === undefined || !deps.flowFor) return undefined;
        return (flow ??= deps.flowFor(job, token));
      },
    };
    let result: unknown;
    try {
      result = task.handler(context);
    } catch (thrown) {
      this.running.delete(key);
      throw jobFailure(running, thrown);
    }
    if (!isPromiseLike(result)) {
      this.running.delete(key);
      return storableResult(result);
    }
    return running.race(result, payload.meta.timeout_ms ?? this.timeoutOf(job.name)).then(
      (value) => {
        this.running.delete(key);
        if (running.aborted) throw jobFailure(running, running.reason);
        return storableResult(value);
      },
      (thrown: unknown) => {
        this.running.delete(key);
        throw jobFailure(running, thrown);
      },
    );
  }

  /** Aborts the job if it runs here; true when it did. */
  revoke(queue: string, jobId: string): boolean {
    const running = this.running.get(`${queue}/${jobId}`);
    if (!running) return false;
    running.abort(new RevokedError());
    return true;
  }

  /** At the end of the shutdown grace: every running job goes back to its queue. */
  interruptAll(): number {
    for (const running of this.running.values()) running.abort(new ShutdownInterrupted());
    return this.running.size;
  }

  get count(): number {
    return this.running.size;
  }

  runningJobs(): RunningJob[] {
    return [...this.running.values()].map(({ job, startedAt }) => ({ id: job.id!, queue: job.queueName, task: job.name, started_at: new Date(startedAt).toISOString() }));
  }
}

/** What a handler's throw, or the abort that ended it, becomes for BullMQ. */
function jobFailure(running: ActiveJob, thrown: unknown): unknown {
  const reason: unknown = running.aborted ? running.reason : thrown;
  if (reason instanceof RevokedError) return new UnrecoverableError("revoked");
  if (reason instanceof WaitingChildrenError) return reason; // BullMQ parks the job in waiting-children
  if (reason instanceof ShutdownInterrupted || reason instanceof TaskTimeoutError) return reason;
  return toError(thrown);
}
