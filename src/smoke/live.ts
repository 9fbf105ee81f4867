/**
 * `llmctl smoke` without --local: the post-deploy check of a rollout, against the deployment's
 * Redis (and its studio's /readyz with --studio URL). It starts nothing and reads only through
 * the Inspector; the only writes are its pings, which a revoke removes when nobody answers them.
 *
 *   - every contract queue is consumed by at least one live worker (heartbeats);
 *   - a ping on each queue completes within the timeout;
 *   - exactly one beat holds the lease, and it publishes heartbeats;
 *   - beat's dispatching is recent: no fire time of any schedule has waited longer than
 *     beat.lease_ttl + RECENT_SLACK_MS for a beat (Inspector's lag, counted from the watermark) —
 *     so each schedule's last dispatch is at most one cron period (plus that grace) old;
 *   - the studio answers /readyz.
 */
import { openBroker, type Broker } from "../broker/broker.ts";
import { Inspector, type ScheduleView } from "../broker/inspector.ts";
import { revokeJob } from "../broker/job-control.ts";
import { waitForJobs } from "../broker/job-waiter.ts";
import { Producer } from "../broker/producer.ts";
import type { LoadedConfig } from "../config/load.ts";
import { describeRedisTarget } from "../config/redis-target.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { formatDuration, parseDurationMs } from "../util/duration.ts";
import { CheckFailed, type SmokeReport } from "./report.ts";
import { StudioClient } from "./studio-client.ts";

/** On top of the lease TTL (a handover) before a due fire time counts as missed: beat's on-time grace and a few seconds for the look itself. */
export const RECENT_SLACK_MS = 5_000;

export interface LiveSmokeOptions {
  loaded: LoadedConfig;
  report: SmokeReport;
  timeoutMs: number;
  studioUrl?: string;
  tasksDir?: string;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

async function pingQueue(broker: Broker, registry: TaskRegistry, queue: string, timeoutMs: number): Promise<string> {
  const started = performance.now();
  const jobs = await new Producer(broker, registry).enqueue("llmctl.ping", {}, { targets: [queue], source: "smoke" });
  const [outcome] = await waitForJobs(broker, jobs, { timeoutMs, pollMs: 50 });
  if (outcome!.state === "completed") {
    const result = outcome!.result as { hostname?: string; pid?: number; queue?: string };
    if (result?.queue !== queue) throw new CheckFailed(`queue ${queue}: the ping was answered for queue ${result?.queue}`);
    return `answered by ${result.hostname} (pid ${result.pid}) in ${Math.round(performance.now() - started)} ms`;
  }
  if (outcome!.state === "did not return") {
    // Not left behind for a worker that appears later: the check is over.
    await revokeJob(broker, await new Inspector(broker).findJob(jobs[0]!.id, queue)).catch(() => {});
    throw new CheckFailed(`queue ${queue}: the ping was not answered within ${formatDuration(timeoutMs)} (the workers are busy or stuck)`);
  }
  throw new CheckFailed(`queue ${queue}: the ping ${outcome!.state}: ${outcome!.error ?? "no reason given"}`);
}

/** Exactly one beat holds the lease and publishes heartbeats as the active one. */
async function checkLease(inspector: Inspector): Promise<string> {
  const [lease, beats] = await Promise.all([inspector.lease(), inspector.beats()]);
  const standby = beats.filter((beat) => beat.role !== "active");
  if (!lease) {
    const waiting = standby.length ? ` (${plural(standby.length, "beat")} standing by without taking it: ${standby.map((beat) => `${beat.id} ${beat.role}`).join(", ")})` : "";
    throw new CheckFailed(`no beat holds the lease: schedules are not being dispatched${waiting}; start one with: llmctl beat`);
  }
  const active = beats.filter((beat) => beat.role === "active");
  if (active.length > 1) throw new CheckFailed(`${active.length} beats report holding the lease: ${active.map((beat) => beat.id).join(", ")} (the lease names ${lease.holder})`);
  if (!beats.some((beat) => beat.id === lease.holder)) {
    throw new CheckFailed(`the lease is held by ${lease.holder}, which publishes no heartbeat (a beat cut off from Redis, or stopped without releasing it; a standby takes over within ${formatDuration(lease.expires_in_ms)})`);
  }
  return `${lease.holder} (lease token ${lease.token})${standby.length ? `; standing by: ${standby.map((beat) => beat.id).join(", ")}` : ""}`;
}

/** Beat has handled every fire time that is due for longer than the grace. */
export function checkRecent(schedules: ScheduleView[], graceMs: number): string {
  const counted = schedules.filter((schedule) => schedule.in_config);
  if (counted.length === 0) return "no schedules in the config: nothing to dispatch";
  for (const schedule of counted) {
    if (schedule.lag_ms === null) throw new CheckFailed(`schedule ${schedule.name}: no beat has counted its fire times yet (no state in Redis for its current cron)`);
    if (schedule.lag_ms > graceMs) {
      throw new CheckFailed(`schedule ${schedule.name}: a fire time has waited ${formatDuration(schedule.lag_ms)} for a beat (allowed: ${formatDuration(graceMs)}); the active beat is not dispatching`);
    }
  }
  const last = counted
    .filter((schedule) => schedule.last_dispatched_at && schedule.last_kind !== "trigger")
    .sort((a, b) => Date.parse(b.last_dispatched_at!) - Date.parse(a.last_dispatched_at!))[0];
  const lastText = last ? `last dispatch: ${last.name}, ${formatDuration(Date.now() - Date.parse(last.last_dispatched_at!))} ago` : "no fire time due since beat started counting";
  return `${plural(counted.length, "schedule")} up to date (no fire time overdue by more than ${formatDuration(graceMs)}); ${lastText}`;
}

export async function runLiveSmoke(options: LiveSmokeOptions): Promise<void> {
  const { loaded, report, timeoutMs } = options;
  const queues = loaded.config.queues;
  const registry = await loadTaskRegistry(loaded.config, { tasksDir: options.tasksDir, configPath: loaded.path });
  const studio = options.studioUrl
    ? report.check("studio answers /readyz", async () => {
        const reply = await new StudioClient(options.studioUrl!, undefined, timeoutMs).request("GET", "/readyz");
        if (reply.status !== 200) throw new CheckFailed(`the studio at ${options.studioUrl} is not ready: ${reply.status} ${reply.text.slice(0, 200)}`);
        return `${options.studioUrl}: ${reply.body?.status ?? reply.status}`;
      })
    : Promise.resolve(true);

  let broker: Broker | undefined;
  const reached = await report.check("redis reachable", async () => {
    broker = await openBroker(loaded, `llmctl:smoke:${process.pid}`);
    return describeRedisTarget(loaded.redis);
  });
  if (!broker || !reached) {
    for (const queue of queues) report.skip(`ping on ${queue}`, "Redis is not reachable");
    await studio;
    return;
  }
  try {
    const inspector = new Inspector(broker);
    const workers = await inspector.workers();
    const leaseHeld = report.check("beat: exactly one holds the lease", () => checkLease(inspector));
    const graceMs = parseDurationMs(loaded.config.beat.lease_ttl)! + RECENT_SLACK_MS;
    await Promise.all([
      studio,
      ...queues.map(async (queue) => {
        const consumers = workers.filter((worker) => worker.queues.includes(queue));
        const consumed = await report.check(`queue ${queue} has a worker`, async () => {
          if (consumers.length === 0) throw new CheckFailed(`queue ${queue}: no live worker consumes it`);
          return `${plural(consumers.length, "worker")}, ${consumers.reduce((sum, worker) => sum + worker.concurrency, 0)} slots: ${consumers.map((worker) => worker.id).join(", ")}`;
        });
        if (!consumed) report.skip(`ping on ${queue}`, "no live worker consumes the queue, so nothing would answer");
        else await report.check(`ping on ${queue}`, () => pingQueue(broker!, registry, queue, timeoutMs));
      }),
      leaseHeld.then(async (held) => {
        const name = "beat: last dispatch is recent";
        if (!held) report.skip(name, "no single active beat to check");
        else await report.check(name, async () => checkRecent(await inspector.schedules(), graceMs));
      }),
    ]);
  } finally {
    await broker.close();
  }
}
