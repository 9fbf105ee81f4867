/**
 * Schedule state in Redis, and the one way a dispatch is written: the jobs of a schedule's fire
 * times and the state that records them (watermark, last jobs, fencing token) in one MULTI.
 *
 * Exactly once per (schedule, target, fire time) rests on `transact`: it WATCHes the schedule's
 * state, reads it, lets the caller decide what to dispatch from it, and commits jobs and state
 * together. EXEC does nothing if another client changed the state in between — another beat
 * that dispatched the same fire time, a pause — and the caller decides again from fresh state.
 * A fire time at or below the watermark is never dispatched again, so a beat that restarts, or
 * a second beat that runs by mistake, cannot add a job twice. The lease token is the fence: a
 * beat whose token is lower than the one that last wrote the state has been replaced and stops.
 */
import type { FlowJob } from "bullmq";
import type { Redis } from "ioredis";
import { parseLeaseValue } from "./beat-lease.ts";
import type { JobInserter, JobTransaction } from "./job-inserter.ts";
import type { LlmctlKeys } from "./keys.ts";
import type { EnqueuedJob } from "./producer.ts";
import { parseScheduleState, stateFields, type DispatchKind, type ScheduleState, type SkippedFire } from "./schedule-state.ts";

export interface FireDispatch {
  fireTime: Date;
  kind: DispatchKind;
  /** The BullMQ jobs to add (producer.buildJobs) and how callers see them (producer.describeJobs). */
  jobs: FlowJob[];
  enqueued: EnqueuedJob[];
}

/** What one write records: dispatches (oldest first), the last skip, and the cron bookkeeping. */
export interface ScheduleWrite {
  dispatches: FireDispatch[];
  skipped?: SkippedFire;
  watermark?: number;
  definition?: string;
  nextFireTime?: Date | null;
}

export interface Fence {
  token: number;
  beatId: string;
}

export type TransactOutcome =
  | { status: "committed"; write: ScheduleWrite }
  | { status: "unchanged" }
  /** The lease is not (or no longer) this beat's. */
  | { status: "not leader"; holder: string | null }
  /** A beat with a newer lease token has written this schedule: this one is stale. */
  | { status: "fenced out"; fence: number }
  /** Another client changed the state between read and commit; nothing was written. Decide again. */
  | { status: "conflict" };

export class ScheduleStore {
  /** Bumped on every (re)connect: a WATCH does not survive a reconnect, so a transaction that spans one is retried. */
  private connectionEpoch = 0;
  private trackingReconnects = false;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly redis: Redis,
    private readonly keys: LlmctlKeys,
    private readonly inserter: JobInserter,
  ) {}

  async read(name: string): Promise<ScheduleState> {
    return parseScheduleState(await this.redis.hgetall(this.keys.schedule(name)));
  }

  async readMany(names: string[]): Promise<Map<string, ScheduleState>> {
    if (names.length === 0) return new Map();
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.keys.schedule(name));
    const results = (await pipeline.exec()) ?? [];
    return new Map(
      names.map((name, index) => {
        const [error, hash] = results[index] ?? [null, {}];
        if (error) throw error;
        return [name, parseScheduleState((hash ?? {}) as Record<string, string>)];
      }),
    );
  }

  /** Names of every schedule with state in Redis (also ones since removed from the config). */
  async names(): Promise<string[]> {
    return (await this.redis.smembers(this.keys.schedules)).sort();
  }

  async setPaused(name: string, paused: boolean): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.schedule(name), stateFields({ paused, paused_at: paused ? new Date().toISOString() : null }))
      .sadd(this.keys.schedules, name)
      .exec();
  }

  /** Writes without WATCH: for dispatches that nobody else can make, such as a manual trigger. */
  async record(name: string, write: ScheduleWrite, by: string): Promise<void> {
    const multi = await this.inserter.transaction();
    await this.queueWrite(multi, name, write, by, undefined);
    checkExec(await multi.exec());
  }

  /**
   * Reads the state under WATCH, asks `decide` what to write, and commits it with its jobs in
   * one MULTI. Transactions are serialised: WATCH belongs to the connection, so this store's
   * connection must not be shared with other users.
   */
  transact(name: string, fence: Fence, decide: (state: ScheduleState) => Promise<ScheduleWrite | undefined>): Promise<TransactOutcome> {
    if (!this.trackingReconnects) {
      // Only the transaction user listens: readers (the studio, per request) would pile up listeners.
      this.trackingReconnects = true;
      this.redis.on("ready", () => this.connectionEpoch++);
    }
    const run = this.queue.then(() => this.transactNow(name, fence, decide));
    this.queue = run.catch(() => {});
    return run;
  }

  private async transactNow(name: string, fence: Fence, decide: (state: ScheduleState) => Promise<ScheduleWrite | undefined>): Promise<TransactOutcome> {
    const epoch = this.connectionEpoch;
    const stateKey = this.keys.schedule(name);
    // WATCH and the reads in one round trip: Redis runs them in order, so the reads see what is watched.
    const replies = (await this.redis.pipeline().watch(stateKey).hgetall(stateKey).get(this.keys.beatLease).exec()) ?? [];
    let committed = false;
    try {
      for (const [error] of replies) if (error) throw error;
      const hash = (replies[1]?.[1] ?? {}) as Record<string, string>;
      const lease = (replies[2]?.[1] ?? null) as string | null;
      const holder = lease ? parseLeaseValue(lease) : undefined;
      if (!holder || holder.holder !== fence.beatId || holder.token !== fence.token) return { status: "not leader", holder: holder?.holder ?? null };
      const state = parseScheduleState(hash);
      if (state.fence > fence.token) return { status: "fenced out", fence: state.fence };
      const write = await decide(state);
      if (!write) return { status: "unchanged" };
      if (epoch !== this.connectionEpoch) return { status: "conflict" };
      const multi = await this.inserter.transaction();
      await this.queueWrite(multi, name, write, fence.beatId, fence.token);
      const results = await multi.exec();
      committed = true;
      if (results === null) return { status: "conflict" };
      checkExec(results);
      return { status: "committed", write };
    } finally {
      // EXEC clears the WATCH itself; every other way out must, or the next transaction inherits it.
      if (!committed) await this.redis.unwatch().catch(() => {});
    }
  }

  private async queueWrite(multi: JobTransaction, name: string, write: ScheduleWrite, by: string, fenceToken: number | undefined): Promise<void> {
    const last = write.dispatches.at(-1);
    const targetJobs: Record<string, EnqueuedJob> = {};
    for (const dispatch of write.dispatches) for (const job of dispatch.enqueued) targetJobs[job.queue] = job;
    const fields = stateFields({
      ...(fenceToken !== undefined ? { fence: fenceToken } : {}),
      ...(write.watermark !== undefined ? { watermark: write.watermark } : {}),
      ...(write.definition !== undefined ? { definition: write.definition } : {}),
      ...(write.nextFireTime !== undefined ? { next_fire_time: write.nextFireTime?.toISOString() ?? null } : {}),
      ...(write.skipped ? { last_skip: write.skipped } : {}),
      ...(last
        ? {
            last_fire_time: last.fireTime.toISOString(),
            last_dispatched_at: new Date().toISOString(),
            last_kind: last.kind,
            last_dispatched_by: by,
            last_jobs: last.enqueued,
            target_jobs: targetJobs,
          }
        : {}),
    });
    // BullMQ's transaction wrapper takes HSET as (key, { field: value }).
    (multi as unknown as { hset(key: string, fields: Record<string, string>): void }).hset(this.keys.schedule(name), fields);
    multi.sadd(this.keys.schedules, name);
    await this.inserter.queueInserts(multi, write.dispatches.flatMap((dispatch) => dispatch.jobs));
  }
}

/** A MULTI reply whose commands failed (a BullMQ script refusing a job) is an error, not a success. */
function checkExec(results: Array<[Error | null, unknown]> | null): void {
  for (const [error] of results ?? []) if (error) throw error;
}
