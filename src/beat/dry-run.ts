/**
 * `llmctl beat --dry-run`: what beat would do with this config — each schedule's next fire times
 * (local time with offset, and UTC), the queues and hosts its jobs go to, and how that differs
 * from the schedule state in Redis — without enqueueing anything. Redis is only read, and only
 * if it answers quickly; without it the plan is still printed.
 */
import { openBroker } from "../broker/broker.ts";
import { planSchedules, type SchedulePlan } from "../broker/schedule-plan.ts";
import type { ScheduleState } from "../broker/schedule-state.ts";
import { ScheduleStore } from "../broker/schedule-store.ts";
import { readLease } from "../broker/beat-lease.ts";
import { workflowNodes, type WorkflowArgs } from "../broker/workflow.ts";
import { formatLocal, nextFireTimes } from "../config/cron.ts";
import type { LoadedConfig } from "../config/load.ts";
import { describeRedisTarget } from "../config/redis-target.ts";
import { resolveTaskTargets } from "../config/report.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { printJson } from "../util/output.ts";
import { errorMessage } from "../util/errors.ts";
import { planFires } from "./fire-times.ts";

/** Dry-run does not wait for a slow Redis as long as a role would. */
const DRY_RUN_CONNECT_TIMEOUT_MS = 3_000;

export interface PlannedTarget {
  target: string;
  queue: string;
  hostname: string | null;
}

export interface DryRunSchedule {
  name: string;
  enabled: boolean;
  cron: string;
  timezone: string;
  catchup: string;
  overlap: string;
  /** The task, or llmctl.workflow for steps. */
  task: string;
  targets: PlannedTarget[];
  /** For a workflow: each step's task and targets (the workflow job itself goes to `targets`). */
  steps: Array<{ name: string; task: string; targets: PlannedTarget[] }>;
  next: Array<{ local: string; utc: string }>;
  /** Differences between this config and the schedule's state in Redis; empty when Redis was not read. */
  redis: string[];
}

export interface DryRunReport {
  config: string;
  /** Set when fire times are listed from another instant than now (--from). */
  from: string | null;
  redis: { address: string; read: boolean; note: string | null; lease: { holder: string; token: number; expires_in_ms: number } | null; stale: string[] };
  schedules: DryRunSchedule[];
}

function planned(plan: SchedulePlan): PlannedTarget[] {
  return plan.plan.targets.map((target) => ({ target: target.target || "(task's queue)", queue: target.queue, hostname: target.hostname ?? null }));
}

function stepTargets(loaded: LoadedConfig, task: string, targets: string[] | undefined): PlannedTarget[] {
  return resolveTaskTargets(loaded.config, task, targets).map((target) => ({ target: targets ? target.target : "(task's queue)", queue: target.queue, hostname: target.hostname ?? null }));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** What differs between the config's schedule and its state in Redis, in words. */
export function describeDifferences(plan: SchedulePlan, state: ScheduleState | undefined, now: Date): string[] {
  const { schedule } = plan;
  if (!state || (state.watermark === null && state.last_fire_time === null && !state.paused)) {
    return ["new: no state in Redis yet; it runs from its next fire time, nothing is caught up"];
  }
  const notes: string[] = [];
  if (state.paused) notes.push(`paused in Redis since ${state.paused_at ?? "?"}: fire times are skipped (llmctl schedule resume ${plan.name})`);
  if (!schedule.enabled) notes.push("disabled in this config: fire times are skipped");
  if (state.last_fire_time) notes.push(`last dispatched: fire time ${state.last_fire_time} (${state.last_kind ?? "cron"}) by ${state.last_dispatched_by ?? "?"}, ${state.last_jobs.length} job(s)`);
  const definitionChanged = state.definition !== null && state.definition !== plan.definition;
  if (definitionChanged) {
    const [cron, timezone] = state.definition!.split("|");
    notes.push(`changed: Redis counted fire times for cron "${cron}" in ${timezone}; with this config counting restarts at its next fire time (no catch-up)`);
  } else if (state.watermark !== null && !state.paused && schedule.enabled) {
    const fires = planFires({ schedule, watermark: state.watermark, definitionChanged: false, now: now.getTime() });
    const late = fires.dispatch.filter((fire) => fire.kind === "catchup");
    if (late.length > 0) notes.push(`catch-up (${schedule.catchup}): beat would dispatch ${late.length} missed fire time(s) at start: ${late.map((fire) => fire.fireTime.toISOString()).join(", ")}`);
    if (fires.dropped) notes.push(`catch-up (${schedule.catchup}): missed fire times up to ${fires.dropped.fireTime.toISOString()} would be dropped (${fires.dropped.reason})`);
    if (late.length === 0 && !fires.dropped) notes.push(`up to date: counted up to ${iso(state.watermark)}, nothing missed`);
  }
  return notes;
}

export async function planDryRun(loaded: LoadedConfig, registry: TaskRegistry, options: { count: number; from?: Date }): Promise<DryRunReport> {
  // Differences with Redis are always judged at the real now; `from` only moves the listed fire times.
  const now = new Date();
  const from = options.from ?? now;
  const plans = planSchedules(loaded, registry);
  const redis: DryRunReport["redis"] = { address: describeRedisTarget(loaded.redis), read: false, note: null, lease: null, stale: [] };
  let states = new Map<string, ScheduleState>();
  if (loaded.redis.kind === "embedded") {
    redis.note = "the embedded store lives inside the process that runs it; there is no shared state to compare";
  } else {
    try {
      const broker = await openBroker({ ...loaded, redis: { ...loaded.redis, connectTimeoutMs: Math.min(loaded.redis.connectTimeoutMs, DRY_RUN_CONNECT_TIMEOUT_MS) } }, "llmctl:beat:dry-run");
      try {
        const store = new ScheduleStore(broker.connection, broker.keys, broker.flowProducer());
        const known = await store.names();
        states = await store.readMany([...new Set([...plans.keys(), ...known])]);
        const lease = await readLease(broker.connection, broker.keys);
        redis.lease = lease ? { holder: lease.holder, token: lease.token, expires_in_ms: lease.expiresInMs } : null;
        redis.stale = known.filter((name) => !plans.has(name));
        redis.read = true;
      } finally {
        await broker.close();
      }
    } catch (error) {
      redis.note = `Redis not read (${errorMessage(error)}); the plan below does not compare with the schedule state`;
    }
  }
  const schedules = [...plans.values()].map((plan): DryRunSchedule => {
    const { schedule } = plan;
    const steps = schedule.steps
      ? workflowNodes(plan.plan.args as WorkflowArgs).map((node) => ({ name: node.id, task: node.task, targets: stepTargets(loaded, node.task, node.targets) }))
      : [];
    return {
      name: plan.name,
      enabled: schedule.enabled,
      cron: schedule.cron,
      timezone: schedule.timezone,
      catchup: schedule.catchup === "all" ? `all (max ${schedule.max_catchup})` : schedule.catchup,
      overlap: schedule.overlap,
      task: plan.task,
      targets: planned(plan),
      steps,
      next: nextFireTimes(schedule.cron, schedule.timezone, from, options.count).map((date) => ({ local: formatLocal(date, schedule.timezone), utc: date.toISOString() })),
      redis: redis.read ? describeDifferences(plan, states.get(plan.name), now) : [],
    };
  });
  return { config: loaded.path ?? "built-in default contract", from: options.from?.toISOString() ?? null, redis, schedules };
}

function describeTargets(targets: PlannedTarget[]): string {
  return targets.map((target) => (target.hostname ? `${target.hostname} → ${target.queue}` : target.queue)).join(", ");
}

export function renderDryRun(report: DryRunReport): string {
  const lines = [`dry run of ${report.config}: nothing is enqueued${report.from ? `; fire times after ${report.from}` : ""}`, `redis: ${report.redis.address}${report.redis.read ? "" : " (not read)"}`];
  if (report.redis.note) lines.push(`  ${report.redis.note}`);
  if (report.redis.read) {
    lines.push(report.redis.lease ? `  active beat: ${report.redis.lease.holder} (lease token ${report.redis.lease.token})` : "  no beat holds the lease");
    if (report.redis.stale.length) lines.push(`  state in Redis for schedules not in this config (beat ignores them): ${report.redis.stale.join(", ")}`);
  }
  if (report.schedules.length === 0) lines.push("", "no schedules in this config");
  for (const schedule of report.schedules) {
    lines.push("", `${schedule.name}${schedule.enabled ? "" : " (disabled)"}: cron "${schedule.cron}" in ${schedule.timezone}, catchup ${schedule.catchup}, overlap ${schedule.overlap}`);
    if (schedule.steps.length) {
      lines.push(`  workflow job → ${describeTargets(schedule.targets)}`);
      schedule.steps.forEach((step, index) => lines.push(`  step ${index + 1} ${step.name}: ${step.task} → ${describeTargets(step.targets)}`));
    } else {
      lines.push(`  ${schedule.task} → ${describeTargets(schedule.targets)}`);
    }
    lines.push("  next fire times (local / UTC):");
    for (const next of schedule.next) lines.push(`    ${next.local}   ${next.utc}`);
    for (const note of schedule.redis) lines.push(`  redis: ${note}`);
  }
  return `${lines.join("\n")}\n`;
}

export async function printDryRun(loaded: LoadedConfig, options: { count: number; from?: Date; tasksDir?: string; json: boolean }): Promise<void> {
  const registry = await loadTaskRegistry(loaded.config, { tasksDir: options.tasksDir, configPath: loaded.path });
  const report = await planDryRun(loaded, registry, { count: options.count, from: options.from });
  if (options.json) printJson(report);
  else process.stdout.write(renderDryRun(report));
}
