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
import { didYouMean } from "../util/suggest.ts";

/** A job id found in more than one queue: the caller must name the queue. */
export class AmbiguousJobError extends UsageError {
  constructor(
    readonly id: string,
    readonly queues: string[],
    hint = "pick one with --queue",
  ) {
    super(`job id "${id}" exists in several queues: ${queues.join(", ")}`, hint);
  }
}

/** A page cursor that this inspector did not hand out for the same filters. */
export class InvalidCursorError extends UsageError {
  readonly field = "cursor";
  constructor(reason: string) {
    super(`cursor is not valid: ${reason}`, "pass back the next_cursor of the previous page unchanged, with the same filters, or leave it out to start over");
  }
}

/** The states a job list can be filtered by, in the order an unfiltered list walks them. */
export const LISTED_STATES = ["active", "waiting", "prioritized", "delayed", "waiting-children", "failed", "completed"] as const;
export type ListedState = (typeof LISTED_STATES)[number];

export const MAX_PAGE_SIZE = 200;
/** A task-filtered page reads at most this many jobs before it hands back a cursor, so one request stays cheap. */
export const TASK_FILTER_SCAN_LIMIT = 1000;
/** Minutes of per-minute throughput the queue overview carries (the dashboard's sparkline). */
export const THROUGHPUT_MINUTES = 30;

export interface JobListQuery {
  /** Queues to list; all known queues when left out. */
  queue?: string;
  state?: ListedState;
  task?: string;
  cursor?: string;
  limit?: number;
}

export interface JobSummary {
  id: string;
  queue: string;
  task: string;
  state: ListedState;
  progress: unknown;
  attempts_made: number;
  attempts: number;
  created_at: string | null;
  started_at: string | null;
  finished_at: string | null;
  failed_reason: string | null;
  target: string | null;
  hostname: string | null;
}

export interface JobPage {
  jobs: JobSummary[];
  /** Hand back as `cursor` for the next page; null when there is none. */
  next_cursor: string | null;
}

export interface QueueOverview extends QueueCounts {
  /** Jobs that finished (completed or failed) in the last 60 seconds. */
  jobs_per_min: number;
  /** Finished jobs per wall-clock minute, oldest first; the last entry is the current minute so far. */
  throughput: number[];
}

export interface JobTiming {
  queue: string;
  id: string;
  task: string;
  seconds: number;
}

interface CursorPosition {
  queue: string;
  state: ListedState;
  offset: number;
}

function filterKey(query: JobListQuery): string {
  return Bun.hash(`${query.queue ?? "*"}|${query.state ?? "*"}|${query.task ?? "*"}`).toString(36);
}

function encodeCursor(position: CursorPosition, query: JobListQuery): string {
  return Buffer.from(JSON.stringify({ v: 1, q: position.queue, s: position.state, o: position.offset, k: filterKey(query) })).toString("base64url");
}

function decodeCursor(cursor: string, query: JobListQuery): CursorPosition {
  let value: unknown;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new Error("not base64url");
    value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new InvalidCursorError("it is not one this server handed out");
  }
  const fields = value as { v?: unknown; q?: unknown; s?: unknown; o?: unknown; k?: unknown };
  if (
    typeof value !== "object" || value === null || fields.v !== 1 || typeof fields.q !== "string" ||
    !LISTED_STATES.includes(fields.s as ListedState) || !Number.isSafeInteger(fields.o) || (fields.o as number) < 0
  ) {
    throw new InvalidCursorError("it is not one this server handed out");
  }
  if (fields.k !== filterKey(query)) throw new InvalidCursorError("it belongs to a list with other filters");
  return { queue: fields.q, state: fields.s as ListedState, offset: fields.o as number };
}

function summarize(job: Job, state: ListedState): JobSummary {
  const { meta } = readPayload(job.data);
  return {
    id: job.id!,
    queue: job.queueName,
    task: job.name,
    state,
    progress: job.progress,
    attempts_made: job.attemptsMade,
    attempts: job.opts.attempts ?? 1,
    created_at: iso(job.timestamp),
    started_at: iso(job.processedOn),
    finished_at: iso(job.finishedOn),
    failed_reason: job.failedReason || null,
    target: meta.target ?? null,
    hostname: meta.hostname ?? null,
  };
}

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
    if (found.length > 1) throw new AmbiguousJobError(id, found.map((job) => job.queueName));
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

  /** The queue, if a declared queue or one a live worker consumes; otherwise NotFoundError naming the known ones. */
  async requireQueue(name: string): Promise<string> {
    const names = await this.queueNames();
    if (!names.includes(name)) {
      throw new NotFoundError(`unknown queue "${name}"${didYouMean(name, names)}`, "queues are declared under queues: (and roles) in the config, or consumed by a live worker");
    }
    return name;
  }

  /** Counts plus throughput: what the studio's overview and `queues` events show. */
  async queueOverview(queues?: string[]): Promise<QueueOverview[]> {
    const names = queues ?? (await this.queueNames());
    const [counts, throughput] = await Promise.all([this.queueCounts(names), this.throughput(names, THROUGHPUT_MINUTES)]);
    return counts.map((count, index) => ({ ...count, ...throughput[index]! }));
  }

  /**
   * Finished jobs per minute, from the completed and failed sets, which BullMQ scores by finish
   * time: exact across restarts and studio replicas, with no counting of our own. Minutes older
   * than the retention (KEEP_COMPLETED/KEEP_FAILED) undercount on very busy queues.
   */
  async throughput(queues: string[], minutes: number): Promise<Array<{ jobs_per_min: number; throughput: number[] }>> {
    const now = Date.now();
    const currentMinute = now - (now % 60_000);
    const pipeline = this.broker.connection.pipeline();
    for (const name of queues) {
      const keys = this.broker.queue(name).keys;
      for (const key of [keys.completed!, keys.failed!]) {
        pipeline.zcount(key, now - 60_000, "+inf");
        for (let minute = minutes - 1; minute >= 0; minute--) {
          const start = currentMinute - minute * 60_000;
          pipeline.zcount(key, start, `(${start + 60_000}`);
        }
      }
    }
    const replies = (await pipeline.exec()) ?? [];
    const values = replies.map(([error, value]) => {
      if (error) throw error;
      return Number(value);
    });
    const perQueue = 2 * (minutes + 1);
    return queues.map((_, index) => {
      const base = index * perQueue;
      const completed = values.slice(base, base + minutes + 1);
      const failed = values.slice(base + minutes + 1, base + perQueue);
      return {
        jobs_per_min: completed[0]! + failed[0]!,
        throughput: completed.slice(1).map((count, minute) => count + failed[minute + 1]!),
      };
    });
  }

  /**
   * A page of jobs. The list walks queue by queue and, within a queue, state by state (newest
   * first, as BullMQ's ranges return them); the cursor records where the page ended. A task
   * filter is applied while reading, so a page may hold fewer than `limit` jobs and still have
   * a next cursor when the scan limit was reached.
   */
  async listJobs(query: JobListQuery): Promise<JobPage> {
    const limit = Math.min(Math.max(query.limit ?? 50, 1), MAX_PAGE_SIZE);
    const queues = query.queue ? [await this.requireQueue(query.queue)] : await this.queueNames();
    const states = query.state ? [query.state] : [...LISTED_STATES];
    const segments = queues.flatMap((queue) => states.map((state) => ({ queue, state })));
    let segment = 0;
    let offset = 0;
    if (query.cursor) {
      const position = decodeCursor(query.cursor, query);
      segment = segments.findIndex((candidate) => candidate.queue === position.queue && candidate.state === position.state);
      if (segment < 0) throw new InvalidCursorError(`queue ${position.queue} is no longer listed`);
      offset = position.offset;
    }
    const jobs: JobSummary[] = [];
    let scanned = 0;
    while (segment < segments.length && jobs.length < limit) {
      if (query.task && scanned >= TASK_FILTER_SCAN_LIMIT) break;
      const { queue: name, state } = segments[segment]!;
      const queue = this.broker.queue(name);
      const batch = query.task ? Math.min(100, TASK_FILTER_SCAN_LIMIT - scanned) : limit - jobs.length;
      const ids = await queue.getRanges([state], offset, offset + batch - 1, false);
      const found = await Promise.all(ids.map((id) => queue.getJob(id)));
      let taken = 0;
      for (const job of found) {
        taken++;
        // A job removed between the range read and the fetch is skipped, not an error.
        if (job && (!query.task || job.name === query.task)) jobs.push(summarize(job, state));
        if (jobs.length >= limit) break;
      }
      scanned += taken;
      offset += taken;
      if (ids.length < batch && taken === ids.length) {
        segment++;
        offset = 0;
      }
    }
    const more = segment < segments.length && (await this.hasMore(segments.slice(segment), offset));
    return { jobs, next_cursor: more ? encodeCursor({ ...segments[segment]!, offset }, query) : null };
  }

  /** Whether any job lies at or after the position, so the last page has no cursor. */
  private async hasMore(segments: Array<{ queue: string; state: ListedState }>, offset: number): Promise<boolean> {
    const probes = segments.map(({ queue, state }, index) => {
      const from = index === 0 ? offset : 0;
      return this.broker.queue(queue).getRanges([state], from, from, false);
    });
    return (await Promise.all(probes)).some((ids) => ids.length > 0);
  }

  /** Run times of finished jobs (processedOn → finishedOn), read in one round trip. Jobs already removed are left out. */
  async jobTimings(jobs: Array<{ queue: string; id: string }>): Promise<JobTiming[]> {
    if (jobs.length === 0) return [];
    const pipeline = this.broker.connection.pipeline();
    for (const { queue, id } of jobs) pipeline.hmget(this.broker.queue(queue).toKey(id), "name", "processedOn", "finishedOn");
    const replies = (await pipeline.exec()) ?? [];
    const timings: JobTiming[] = [];
    replies.forEach(([error, value], index) => {
      const [task, processedOn, finishedOn] = (error ? [] : (value as Array<string | null>)) ?? [];
      if (!task || !processedOn || !finishedOn) return;
      const seconds = (Number(finishedOn) - Number(processedOn)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) timings.push({ ...jobs[index]!, task, seconds });
    });
    return timings;
  }
}
