/**
 * The active beat's loop: sleep until the next fire time of any schedule, then look at each
 * schedule that is due and dispatch what its policies say, each in one transaction
 * (ScheduleStore.transact). The loop keeps no state that matters across beats: every decision
 * is made from the schedule's state in Redis, read under WATCH, so a standby that takes over
 * continues exactly where the last dispatch left off.
 */
import { reconnectDelay } from "../broker/connections.ts";
import type { EnqueuedJob } from "../broker/producer.ts";
import { fireDispatch, type SchedulePlan } from "../broker/schedule-plan.ts";
import type { ScheduleState, SkippedFire } from "../broker/schedule-state.ts";
import type { Fence, ScheduleStore, ScheduleWrite } from "../broker/schedule-store.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { WakeableSleep } from "../util/wakeable-sleep.ts";
import { nextFireTimes } from "../config/cron.ts";
import { planFires } from "./fire-times.ts";
import type { BeatMetrics } from "./metrics.ts";

/** The loop looks again at least this often, so a clock jump or a missed wake-up costs at most this. */
const MAX_SLEEP_MS = 5_000;
/** A transaction that keeps meeting concurrent writes (pause/resume storms) is retried at most this often per look. */
const MAX_CONFLICT_RETRIES = 5;
/** BullMQ states in which a job has not finished: overlap: skip waits for them. */
const UNFINISHED = new Set(["waiting", "active", "delayed", "prioritized", "waiting-children", "paused"]);

export interface SchedulerDependencies {
  /**
   * One store per lane, each on its own connection (WATCH belongs to a connection): schedules due
   * at the same moment are dispatched side by side, so the tenth does not wait for nine others.
   */
  lanes: ScheduleStore[];
  logger: Logger;
  metrics: BeatMetrics;
  /** The BullMQ state of a job ("unknown" once removed). */
  jobState(job: EnqueuedJob): Promise<string>;
  /** The lease was lost or a newer beat wrote a schedule: stop dispatching. */
  onFenceLost(reason: string): void;
}

export class Scheduler {
  private plans = new Map<string, SchedulePlan>();
  private registry!: TaskRegistry;
  /** When each schedule should be looked at next (epoch ms; 0 = now). */
  private readonly nextLook = new Map<string, number>();
  /**
   * The first two fire times after each schedule's last watermark, worked out while the loop is
   * idle: cron-parser takes milliseconds per expression in a process that calls it once a
   * second, and that time would otherwise sit between a fire time and its jobs.
   */
  private readonly upcoming = new Map<string, { after: number; times: Date[] }>();
  private fence?: Fence;
  private loop?: Promise<void>;
  private readonly sleeper = new WakeableSleep();
  dispatched = 0;
  lastDispatchAt: Date | null = null;

  constructor(private readonly deps: SchedulerDependencies) {}

  get scheduleCount(): number {
    return [...this.plans.values()].filter((plan) => plan.schedule.enabled).length;
  }

  /** Installs the schedules (at start and on reload); new and changed ones are looked at right away. */
  setPlans(plans: Map<string, SchedulePlan>, registry: TaskRegistry): void {
    this.registry = registry;
    for (const name of this.plans.keys()) {
      if (!plans.has(name)) {
        this.nextLook.delete(name);
        this.upcoming.delete(name);
        this.deps.metrics.forget(name);
      }
    }
    for (const [name, plan] of plans) {
      const previous = this.plans.get(name);
      if (!previous || JSON.stringify(previous.schedule) !== JSON.stringify(plan.schedule)) {
        this.nextLook.set(name, 0);
        this.upcoming.delete(name);
      }
    }
    this.plans = plans;
    this.sleeper.wake();
  }

  /** Starts dispatching under this fence (the lease was acquired). */
  lead(fence: Fence): void {
    this.fence = fence;
    for (const name of this.plans.keys()) this.nextLook.set(name, 0);
    const previous = this.loop ?? Promise.resolve();
    this.loop = previous.then(() => this.run(fence));
  }

  /** Stops dispatching and waits for a transaction in flight to end. */
  async stop(): Promise<void> {
    this.fence = undefined;
    this.sleeper.wake();
    await this.loop;
  }

  private async run(fence: Fence): Promise<void> {
    let failures = 0;
    while (this.fence === fence) {
      let waitMs = MAX_SLEEP_MS;
      try {
        const now = Date.now();
        const due = [...this.nextLook].filter(([, at]) => at <= now).map(([name]) => name);
        const results = await Promise.allSettled(
          this.deps.lanes.map(async (store) => {
            for (let name = due.shift(); name !== undefined && this.fence === fence; name = due.shift()) await this.look(name, fence, store);
          }),
        );
        for (const result of results) if (result.status === "rejected") throw result.reason;
        failures = 0;
      } catch (error) {
        failures++;
        waitMs = reconnectDelay(failures);
        this.deps.logger.warn({ err: errorMessage(error), retry_in_ms: waitMs }, "could not dispatch; retrying");
      }
      const next = Math.min(...this.nextLook.values());
      await this.sleeper.sleep(Math.min(waitMs, next - Date.now()));
    }
  }

  /** Looks at one schedule: decides from its state in Redis and commits, retrying on a concurrent write. */
  private async look(name: string, fence: Fence, store: ScheduleStore): Promise<void> {
    const plan = this.plans.get(name);
    if (!plan) return;
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      let next: Date | undefined;
      const outcome = await store.transact(name, fence, async (state) => {
        const decision = await this.decide(plan, state);
        next = decision.next;
        return decision.write;
      });
      if (outcome.status === "conflict") continue;
      if (outcome.status === "not leader" || outcome.status === "fenced out") {
        this.deps.onFenceLost(
          outcome.status === "not leader" ? `the lease is held by ${outcome.holder ?? "nobody"}` : `a beat with lease token ${outcome.fence} has written schedule ${name}`,
        );
        return;
      }
      if (outcome.status === "committed") this.report(plan, outcome.write);
      this.nextLook.set(name, next ? next.getTime() : Number.POSITIVE_INFINITY);
      if (next) {
        this.deps.metrics.nextFire.set({ schedule: name }, next.getTime() / 1000);
        // The watermark of the next look will be `next`: prepare the two fire times after it.
        this.upcoming.set(name, { after: next.getTime(), times: nextFireTimes(plan.schedule.cron, plan.schedule.timezone, next, 2) });
      }
      return;
    }
    this.deps.logger.warn({ schedule: name }, "the schedule's state kept changing while dispatching; trying again shortly");
    this.nextLook.set(name, Date.now() + 100);
  }

  private async decide(plan: SchedulePlan, state: ScheduleState): Promise<{ write?: ScheduleWrite; next: Date | undefined }> {
    const now = Date.now();
    const definitionChanged = state.definition !== null && state.definition !== plan.definition;
    const prepared = this.upcoming.get(plan.name);
    const upcoming = prepared && prepared.after === state.watermark ? prepared.times : undefined;
    const fires = planFires({ schedule: plan.schedule, watermark: state.watermark, definitionChanged, now, upcoming });
    const next = fires.next;
    const write: ScheduleWrite = { dispatches: [], watermark: fires.watermark, definition: plan.definition, nextFireTime: next ?? null };
    const skip = (fireTime: Date, reason: SkippedFire["reason"]) => {
      write.skipped = { fire_time: fireTime.toISOString(), reason, at: new Date(now).toISOString() };
    };
    if (fires.dropped) skip(fires.dropped.fireTime, fires.dropped.reason);
    const inactive = state.paused ? "paused" : plan.schedule.enabled ? undefined : "disabled";
    if (inactive) {
      const last = fires.dispatch.at(-1);
      if (last) skip(last.fireTime, inactive);
    } else {
      const unfinished = plan.schedule.overlap === "skip" ? await this.unfinishedQueues(plan, state) : undefined;
      for (const fire of fires.dispatch) {
        const targets = unfinished ? plan.plan.targets.filter((target) => !unfinished.has(target.queue)) : plan.plan.targets;
        if (targets.length < plan.plan.targets.length) skip(fire.fireTime, "overlap");
        if (targets.length === 0) continue;
        write.dispatches.push(fireDispatch(this.registry, plan, { fireTime: fire.fireTime, kind: fire.kind, targets }));
        // A job added by this very write is unfinished too: catch-up never stacks runs under overlap: skip.
        for (const target of targets) unfinished?.add(target.queue);
      }
    }
    const unchanged =
      write.dispatches.length === 0 &&
      !write.skipped &&
      state.watermark === fires.watermark &&
      state.definition === plan.definition &&
      state.next_fire_time === (next?.toISOString() ?? null);
    return { write: unchanged ? undefined : write, next };
  }

  /** Target queues whose latest job from this schedule is still waiting, delayed or running. */
  private async unfinishedQueues(plan: SchedulePlan, state: ScheduleState): Promise<Set<string>> {
    const queues = new Set<string>();
    await Promise.all(
      plan.plan.targets.map(async (target) => {
        const job = state.target_jobs[target.queue];
        if (job && UNFINISHED.has(await this.deps.jobState(job))) queues.add(target.queue);
      }),
    );
    return queues;
  }

  private report(plan: SchedulePlan, write: ScheduleWrite): void {
    const committedAt = Date.now();
    const { logger, metrics } = this.deps;
    for (const dispatch of write.dispatches) {
      const lagMs = committedAt - dispatch.fireTime.getTime();
      this.dispatched += dispatch.enqueued.length;
      this.lastDispatchAt = new Date(committedAt);
      metrics.dispatched.inc({ schedule: plan.name, kind: dispatch.kind });
      metrics.lastDispatch.set({ schedule: plan.name }, committedAt / 1000);
      metrics.lag.set({ schedule: plan.name }, lagMs / 1000);
      if (dispatch.kind === "cron") metrics.latency.observe(lagMs / 1000);
      logger.info(
        { schedule: plan.name, fire_time: dispatch.fireTime.toISOString(), kind: dispatch.kind, jobs: dispatch.enqueued.map((job) => job.id), lag_ms: lagMs },
        "dispatched",
      );
    }
    if (write.skipped) {
      metrics.skipped.inc({ schedule: plan.name, reason: write.skipped.reason });
      logger.info({ schedule: plan.name, fire_time: write.skipped.fire_time, reason: write.skipped.reason }, "skipped a fire time");
    }
  }
}
