/**
 * The read side. The studio, `llmctl task status`, `llmctl job …` and smoke all read state
 * through this one module, never through queries of their own.
 */
import type { Job, JobType } from "bullmq";
import type { Broker } from "./broker.ts";
import { readPayload, type JobMeta } from "./payload.ts";
import { readLease } from "./beat-lease.ts";
import type { EnqueuedJob } from "./producer.ts";
import { EMPTY_STATE, type DispatchKind, type ScheduleState, type SkippedFire } from "./schedule-state.ts";
import { ScheduleStore } from "./schedule-store.ts";
import { BeatRegistry, WorkerRegistry, type BeatHeartbeat, type WorkerHeartbeat } from "./worker-registry.ts";
import { nextFireTimes } from "../config/cron.ts";
import { describeScheduleWork } from "../config/report.ts";
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

export interface ScheduledJobOutcome extends EnqueuedJob {
  /** The job's BullMQ state now; "removed" once it was cleaned up. */
  state: string;
  error: string | null;
}

/** Who holds the beat lease: the active beat. */
export interface LeaseView {
  holder: string;
  token: number;
  expires_in_ms: number;
}

/** A schedule as the studio and `llmctl schedule list` show it: the config's definition and the state in Redis. */
export interface ScheduleView {
  name: string;
  /** False for state left in Redis by a schedule since removed from the config. */
  in_config: boolean;
  enabled: boolean;
  cron: string | null;
  timezone: string | null;
  /** The task, or "steps: a → b" for a workflow. */
  task: string | null;
  targets: string[];
  catchup: string | null;
  overlap: string | null;
  paused: boolean;
  paused_at: string | null;
  next_fire_time: string | null;
  last_fire_time: string | null;
  last_dispatched_at: string | null;
  last_kind: DispatchKind | null;
  last_dispatched_by: string | null;
  last_jobs: ScheduledJobOutcome[];
  last_skip: SkippedFire | null;
  /** The active beat, which dispatches every schedule. */
  lease: LeaseView | null;
}

function iso(ms: number | undefined): string | null {
  return ms ? new Date(ms).toISOString() : null;
}

export class Inspector {
  private readonly workerRegistry: WorkerRegistry;
  private readonly beatRegistry: BeatRegistry;

  constructor(private readonly broker: Broker) {
    this.workerRegistry = new WorkerRegistry(broker.connection, broker.keys);
    this.beatRegistry = new BeatRegistry(broker.connection, broker.keys);
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

  /** Live beats (from heartbeats), oldest first; at most one has role "active". */
  async beats(): Promise<BeatHeartbeat[]> {
    return await this.beatRegistry.list();
  }

  async lease(): Promise<LeaseView | null> {
    const lease = await readLease(this.broker.connection, this.broker.keys);
    return lease ? { holder: lease.holder, token: lease.token, expires_in_ms: lease.expiresInMs } : null;
  }

  /**
   * Every schedule of the config, and any with state in Redis that the config no longer has:
   * definition, paused, last dispatch with its jobs' outcomes, next fire time, lease holder.
   */
  async schedules(now = new Date()): Promise<ScheduleView[]> {
    const store = new ScheduleStore(this.broker.connection, this.broker.keys, this.broker.flowProducer());
    const configured = this.broker.config.schedules;
    const names = [...new Set([...Object.keys(configured), ...(await store.names())])];
    const [states, lease] = await Promise.all([store.readMany(names), this.lease()]);
    return await Promise.all(
      names.map(async (name): Promise<ScheduleView> => {
        const schedule = configured[name];
        const state: ScheduleState = states.get(name) ?? EMPTY_STATE;
        const computedNext = schedule?.enabled ? (nextFireTimes(schedule.cron, schedule.timezone, now, 1)[0]?.toISOString() ?? null) : null;
        // The active beat's own view wins while it is current; a stale one (beat down) is replaced by the config's.
        const next = state.next_fire_time && Date.parse(state.next_fire_time) >= now.getTime() - 1000 ? state.next_fire_time : computedNext;
        return {
          name,
          in_config: schedule !== undefined,
          enabled: schedule?.enabled ?? false,
          cron: schedule?.cron ?? null,
          timezone: schedule?.timezone ?? null,
          task: schedule ? describeScheduleWork(schedule) : null,
          targets: schedule?.targets ?? [],
          catchup: schedule?.catchup ?? null,
          overlap: schedule?.overlap ?? null,
          paused: state.paused,
          paused_at: state.paused_at,
          next_fire_time: schedule ? next : null,
          last_fire_time: state.last_fire_time,
          last_dispatched_at: state.last_dispatched_at,
          last_kind: state.last_kind,
          last_dispatched_by: state.last_dispatched_by,
          last_jobs: await this.outcomes(state.last_jobs),
          last_skip: state.last_skip,
          lease,
        };
      }),
    );
  }

  private async outcomes(jobs: EnqueuedJob[]): Promise<ScheduledJobOutcome[]> {
    return await Promise.all(
      jobs.map(async (enqueued) => {
        const job = await this.broker.queue(enqueued.queue).getJob(enqueued.id);
        if (!job) return { ...enqueued, state: "removed", error: null };
        return { ...enqueued, state: await job.getState(), error: job.failedReason || null };
      }),
    );
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
