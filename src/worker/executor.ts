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

interface Running {
  job: Job;
  controller: AbortController;
  startedAt: Date;
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
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: ExecutorDependencies) {}

  /** The BullMQ processor. */
  readonly process = async (job: Job, token?: string): Promise<unknown> => {
    const started = performance.now();
    try {
      const result = await this.run(job, token);
      this.deps.onFinished?.(job, "completed", (performance.now() - started) / 1000);
      return result;
    } catch (error) {
      // A job suspended to wait for its children has not finished; it runs again later.
      if (!(error instanceof ShutdownInterrupted) && !(error instanceof WaitingChildrenError)) this.deps.onFinished?.(job, "failed", (performance.now() - started) / 1000);
      throw error;
    }
  };

  private async run(job: Job, token: string | undefined): Promise<unknown> {
    const deps = this.deps;
    const queue = job.queueName;
    const id = job.id!;
    const task = this.deps.registry.get(job.name);
    if (!task) throw new UnrecoverableError(`unknown task "${job.name}": this worker does not have it registered`);
    if (this.deps.isRevoked(queue, id)) throw new UnrecoverableError("revoked");
    const payload = readPayload(job.data);
    const validated = validateArgs(task, payload.args);
    if (!validated.ok) throw new UnrecoverableError(describeArgsProblems(job.name, validated.problems));

    const controller = new AbortController();
    const key = `${queue}/${id}`;
    this.running.set(key, { job, controller, startedAt: new Date() });
    const timeoutMs = payload.meta.timeout_ms ?? this.deps.registry.options(job.name).timeoutMs;
    const timer = timeoutMs ? setTimeout(() => controller.abort(new TaskTimeoutError(`timed out after ${formatDuration(timeoutMs)}`)), timeoutMs) : undefined;
    const aborted = new Promise<never>((_, reject) => {
      controller.signal.addEventListener(
        "abort",
        () => {
          const reason: unknown = controller.signal.reason;
          setTimeout(() => reject(reason), reason instanceof ShutdownInterrupted ? 0 : ABORT_SETTLE_MS);
        },
        { once: true },
      );
    });
    aborted.catch(() => {}); // observed below; keeps an unraced rejection from being reported
    let logger: Logger | undefined; // a pino child costs more than a no-op job; most handlers never log
    let caller: TaskCaller | undefined; // one per job: it counts the job's pending children
    const context: TaskContext = {
      args: validated.value,
      job: { id, name: job.name, queue, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1, target: payload.meta.target, progress: job.progress },
      signal: controller.signal,
      progress: async (value) => {
        await job.updateProgress(value);
      },
      log: async (line) => {
        await job.log(line);
      },
      get logger() {
        return (logger ??= deps.logger.child({ job: id, task: job.name, queue }));
      },
      worker: this.deps.worker,
      config: this.deps.config,
      get tasks(): TaskCaller {
        return (caller ??= deps.children.callerFor({ id, queue, depth: payload.meta.depth ?? 0, signal: controller.signal }));
      },
      ...(token !== undefined && this.deps.flowFor ? { flow: this.deps.flowFor(job, token) } : {}),
    };
    try {
      const result = await Promise.race([Promise.resolve().then(() => task.handler(context)), aborted]);
      if (controller.signal.aborted) throw controller.signal.reason;
      return storableResult(result);
    } catch (thrown) {
      const reason: unknown = controller.signal.aborted ? controller.signal.reason : thrown;
      if (reason instanceof RevokedError) throw new UnrecoverableError("revoked");
      if (reason instanceof WaitingChildrenError) throw reason; // BullMQ parks the job in waiting-children
      if (reason instanceof ShutdownInterrupted || reason instanceof TaskTimeoutError) throw reason;
      throw toError(thrown);
    } finally {
      clearTimeout(timer);
      this.running.delete(key);
    }
  }

  /** Aborts the job if it runs here; true when it did. */
  revoke(queue: string, jobId: string): boolean {
    const running = this.running.get(`${queue}/${jobId}`);
    if (!running) return false;
    running.controller.abort(new RevokedError());
    return true;
  }

  /** At the end of the shutdown grace: every running job goes back to its queue. */
  interruptAll(): number {
    for (const running of this.running.values()) running.controller.abort(new ShutdownInterrupted());
    return this.running.size;
  }

  get count(): number {
    return this.running.size;
  }

  runningJobs(): RunningJob[] {
    return [...this.running.values()].map(({ job, startedAt }) => ({ id: job.id!, queue: job.queueName, task: job.name, started_at: startedAt.toISOString() }));
  }
}
