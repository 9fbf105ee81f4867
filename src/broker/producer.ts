/**
 * Enqueueing: resolve the task, validate its arguments, resolve every target, and only then add
 * all jobs in one atomic call, so a half-valid fan-out enqueues nothing.
 */
import type { FlowJob } from "bullmq";
import { topologyOf } from "../config/report.ts";
import { isTargetProblem, resolveTarget, type ResolvedTarget } from "../config/targets.ts";
import { describeArgsProblems, validateArgs, type ArgsProblem } from "../tasks/args.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import type { ConfigFile } from "../config/schema.ts";
import { UsageError } from "../util/errors.ts";
import type { Broker } from "./broker.ts";
import type { JobPayload, JobSource } from "./payload.ts";

/** Completed jobs are kept a day (at most 10,000 per queue), failed ones a week, so Redis does not grow without bound. */
export const KEEP_COMPLETED = { age: 24 * 3600, count: 10_000 };
export const KEEP_FAILED = { age: 7 * 24 * 3600, count: 50_000 };

const JOB_ID = /^[A-Za-z0-9_.-]{1,200}$/;

export interface EnqueueOptions {
  targets?: string[];
  delayMs?: number;
  priority?: number;
  jobId?: string;
  attempts?: number;
  source?: JobSource;
  schedule?: string;
  fireTime?: Date;
  /** For child jobs: the waiting parent ("<queue>/<id>") and the child's nesting depth. */
  parent?: { key: string; depth: number };
  /** Makes the jobs children of a running job in a BullMQ flow (the workflow engine, job-flow.ts). */
  flowParent?: { id: string; queue: string };
}

export interface EnqueuedJob {
  id: string;
  queue: string;
  task: string;
  target?: string;
  hostname?: string;
}

/** A validation failure: which field, what is wrong. Studio answers it with 400, the CLI with exit 2. */
export class EnqueueError extends UsageError {
  constructor(
    message: string,
    readonly field: string,
    hint?: string,
    readonly problems: ArgsProblem[] = [],
  ) {
    super(message, hint);
  }
}

/** An EnqueueError's field ("args.steps[1].task") as path segments: ["args", "steps", 1, "task"]. */
export function fieldSegments(field: string): Array<string | number> {
  return field
    .split(/\.|(?=\[)/)
    .filter(Boolean)
    .map((part) => (/^\[\d+\]$/.test(part) ? Number(part.slice(1, -1)) : part));
}

export interface EnqueuePlan {
  args: Record<string, unknown>;
  targets: ResolvedTarget[];
}

/**
 * Everything enqueue checks, without Redis: the task exists, its arguments validate, every
 * target resolves. Returns the validated arguments and the resolved targets.
 */
export function planEnqueue(config: ConfigFile, registry: TaskRegistry, task: string, args: unknown, options: EnqueueOptions = {}): EnqueuePlan {
  let definition;
  try {
    definition = registry.require(task);
  } catch (error) {
    throw new EnqueueError((error as UsageError).message, "task", (error as UsageError).hint);
  }
  const validated = validateArgs(definition, args);
  if (!validated.ok) {
    throw new EnqueueError(describeArgsProblems(task, validated.problems), `args.${validated.problems[0]!.field}`, "see the task's arguments with: llmctl task list --json", validated.problems);
  }
  try {
    definition.validate?.(validated.value, { config, registry });
  } catch (error) {
    if (error instanceof EnqueueError) throw new EnqueueError(error.message, `args.${error.field}`, error.hint, error.problems);
    throw error;
  }
  if (options.jobId !== undefined && (!JOB_ID.test(options.jobId) || /^\d+$/.test(options.jobId))) {
    throw new EnqueueError(`job id "${options.jobId}" is not valid`, "jobId", "use letters, digits, '_', '.' and '-', not only digits");
  }
  if (options.delayMs !== undefined && (!Number.isFinite(options.delayMs) || options.delayMs < 0)) {
    throw new EnqueueError("delay must be zero or more", "delay");
  }
  if (options.priority !== undefined && (!Number.isInteger(options.priority) || options.priority < 1 || options.priority > 2_097_152)) {
    throw new EnqueueError("priority must be a whole number from 1 (highest) to 2097152", "priority");
  }
  if (options.attempts !== undefined && (!Number.isInteger(options.attempts) || options.attempts < 1 || options.attempts > 1000)) {
    throw new EnqueueError("attempts must be a whole number from 1 to 1000", "attempts");
  }
  const topology = topologyOf(config);
  const targets: ResolvedTarget[] = [];
  const requested = options.targets && options.targets.length > 0 ? options.targets : undefined;
  if (requested) {
    for (const [index, target] of requested.entries()) {
      const resolved = resolveTarget(topology, target);
      if (isTargetProblem(resolved)) throw new EnqueueError(resolved.message, `targets[${index}]`, resolved.fix);
      targets.push(...resolved);
    }
  } else {
    targets.push({ target: "", queue: registry.options(task).queue });
  }
  const unique = new Map<string, ResolvedTarget>();
  for (const target of targets) if (!unique.has(target.queue)) unique.set(target.queue, target);
  return { args: validated.value, targets: [...unique.values()] };
}

/**
 * The BullMQ jobs one enqueue adds: one per resolved target, each carrying llmctl's payload, the
 * task's retry options and the retention limits. Job ids are `options.jobId` (with -<hostname>
 * or -<index> for a fan-out) or new UUIDv7s.
 */
export function buildJobs(registry: TaskRegistry, task: string, plan: EnqueuePlan, options: EnqueueOptions = {}): FlowJob[] {
  const taskOptions = registry.options(task);
  const now = new Date().toISOString();
  const fanOut = plan.targets.length > 1;
  return plan.targets.map((target, index) => {
    const payload: JobPayload = {
      args: plan.args,
      meta: {
        source: options.source ?? "api",
        enqueued_at: now,
        ...(target.target ? { target: target.target } : {}),
        ...(target.role ? { role: target.role } : {}),
        ...(target.hostname ? { hostname: target.hostname } : {}),
        ...(taskOptions.timeoutMs ? { timeout_ms: taskOptions.timeoutMs } : {}),
        ...(options.schedule ? { schedule: options.schedule } : {}),
        ...(options.fireTime ? { fire_time: options.fireTime.toISOString() } : {}),
        ...(options.parent ? { parent: options.parent.key, depth: options.parent.depth } : {}),
      },
    };
    const jobId = options.jobId ? (fanOut ? `${options.jobId}-${target.hostname ?? index}` : options.jobId) : Bun.randomUUIDv7();
    return {
      name: task,
      queueName: target.queue,
      data: payload,
      opts: {
        jobId,
        attempts: options.attempts ?? taskOptions.attempts,
        backoff: taskOptions.backoff,
        delay: options.delayMs,
        priority: options.priority ?? taskOptions.priority,
        removeOnComplete: KEEP_COMPLETED,
        removeOnFail: KEEP_FAILED,
        // A failed child is recorded in the parent's dependencies and counts as finished, so the
        // parent runs again and can report it instead of waiting for it forever.
        ...(options.flowParent ? { parent: options.flowParent, ignoreDependencyOnFailure: true } : {}),
      },
    };
  });
}

/** What callers get back for the jobs of buildJobs (ids as built, targets as resolved). */
export function describeJobs(task: string, plan: EnqueuePlan, jobs: FlowJob[]): EnqueuedJob[] {
  return jobs.map((job, index) => ({
    id: job.opts!.jobId!,
    queue: plan.targets[index]!.queue,
    task,
    ...(plan.targets[index]!.target ? { target: plan.targets[index]!.target } : {}),
    ...(plan.targets[index]!.hostname ? { hostname: plan.targets[index]!.hostname } : {}),
  }));
}

export class Producer {
  constructor(
    private readonly broker: Broker,
    private readonly registry: TaskRegistry,
  ) {}

  async enqueue(task: string, args: unknown, options: EnqueueOptions = {}): Promise<EnqueuedJob[]> {
    const plan = planEnqueue(this.broker.config, this.registry, task, args, options);
    const jobs = buildJobs(this.registry, task, plan, options);
    await this.broker.flowProducer().addBulk(jobs);
    return describeJobs(task, plan, jobs);
  }
}
