/**
 * The read side. The studio, `llmctl task status`, `llmctl job …` and smoke all read state
 * through this one module, never through queries of their own.
 */
import type { Job, JobType } from "bullmq";
import type { Broker } from "./broker.ts";
import { readPayload, type JobMeta } from "./payload.ts";
import { WorkerRegistry, type WorkerHeartbeat } from "./worker-registry.ts";
import { NotFoundError, UsageError } from "../util/errors.ts";

export const COUNTED_STATES = ["waiting", "active", "delayed", "prioritized", "waiting-children", "completed", "failed", "paused"] as const;

export interface QueueCounts {
  queue: string;
  paused: boolean;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  completed: number;
}

export interface JobDetail {
  id: string;
  queue: string;
  task: string;
  state: string;
  args: Record<string, unknown>;
  meta: JobMeta;
  progress: unknown;
  result: unknown;
  error: { message: string; stack: string | null } | null;
  attempts_made: number;
  attempts: number;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  delay_until: string | null;
  worker: string | null;
}

function iso(ms: number | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export class Inspector {
  private readonly workerRegistry: WorkerRegistry;

  constructor(private readonly broker: Broker) {
    this.workerRegistry = new WorkerRegistry(broker.connection, broker.keys);
  }

  /** Declared queues plus any a live worker consumes. */
  async queueNames(): Promise<string[]> {
    const names = new Set(this.broker.declaredQueues());
    for (const worker of await this.workers()) for (const queue of worker.queues) names.add(queue);
    return [...names];
  }

  async queueCounts(queues?: string[]): Promise<QueueCounts[]> {
    const names = queues ?? (await this.queueNames());
    return await Promise.all(
      names.map(async (name) => {
        const queue = this.broker.queue(name);
        const [counts, paused] = await Promise.all([queue.getJobCounts(...(COUNTED_STATES as unknown as JobType[])), queue.isPaused()]);
        return {
          queue: name,
          paused,
          waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0) + (counts.paused ?? 0),
          active: counts.active ?? 0,
          delayed: counts.delayed ?? 0,
          failed: counts.failed ?? 0,
          completed: counts.completed ?? 0,
        };
      }),
    );
  }

  async workers(): Promise<WorkerHeartbeat[]> {
    return await this.workerRegistry.list();
  }

  /** Finds a job by id in the given queue, or in every known queue. */
  async findJob(id: string, queue?: string): Promise<Job> {
    const queues = queue ? [queue] : await this.queueNames();
    const found = (await Promise.all(queues.map((name) => this.broker.queue(name).getJob(id)))).filter((job): job is Job => Boolean(job));
    if (found.length === 0) {
      throw new NotFoundError(`no job with id "${id}"${queue ? ` in queue ${queue}` : " in any queue"}`, "job ids are printed by llmctl task; finished jobs are kept a day (failed ones a week)");
    }
    if (found.length > 1) {
      throw new UsageError(`job id "${id}" exists in several queues: ${found.map((job) => job.queueName).join(", ")}`, "pick one with --queue");
    }
    return found[0]!;
  }

  async detail(job: Job): Promise<JobDetail> {
    const payload = readPayload(job.data);
    const state = await job.getState();
    return {
      id: job.id!,
      queue: job.queueName,
      task: job.name,
      state,
      args: payload.args,
      meta: payload.meta,
      progress: job.progress,
      result: state === "completed" ? (job.returnvalue ?? null) : null,
      error: job.failedReason ? { message: job.failedReason, stack: job.stacktrace?.at(-1) ?? null } : null,
      attempts_made: job.attemptsMade,
      attempts: job.opts.attempts ?? 1,
      created_at: iso(job.timestamp),
      started_at: iso(job.processedOn),
      finished_at: iso(job.finishedOn),
      delay_until: job.delay && state === "delayed" ? iso(job.timestamp + job.delay) : null,
      worker: job.processedBy ?? null,
    };
  }

  async logs(job: Job): Promise<string[]> {
    const { logs } = await this.broker.queue(job.queueName).getJobLogs(job.id!, 0, -1, true);
    return logs;
  }
}
