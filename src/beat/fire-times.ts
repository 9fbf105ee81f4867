/**
 * Which fire times beat dispatches when it looks at a schedule: the arithmetic of on-time,
 * missed and caught-up fire times, without Redis, so that it can be tested on its own.
 *
 * Counting starts at the schedule's watermark in Redis — the last fire time beat handled, by
 * dispatching or by skipping it under the policy. A fire time is on time while beat gets to it
 * within ON_TIME_GRACE_MS; older ones were missed (beat was down, a standby was taking over,
 * Redis was away) and the catch-up policy decides:
 *   skip  — missed fire times are dropped; on-time ones run.
 *   once  — the missed fire times run as one job, keyed by the latest of them; on-time ones run.
 *   all   — every missed fire time runs, oldest first, at most max_catchup (the latest ones).
 * Without a watermark (a new schedule) or after its cron or time zone changed, counting starts
 * now: a schedule takes effect from its next fire time, never with a burst of catch-up.
 *
 * DST: fire times come from one walk forward from the watermark (cron.ts), so a local time that
 * a fall-back change repeats runs once, at its first occurrence, and a skipped one runs once,
 * shifted by the gap — also when beat restarts or hands over inside the repeated hour.
 */
import { latestFireTimes, nextFireTimes } from "../config/cron.ts";
import type { CatchupPolicy } from "../config/schema.ts";

/** How late a fire time may be picked up and still count as on time (a busy event loop, a Redis blip). */
export const ON_TIME_GRACE_MS = 2000;

/** At most this many fire times can be on time at once (a 6-field cron fires at most once a second). */
const ON_TIME_LIMIT = Math.ceil(ON_TIME_GRACE_MS / 1000) + 2;

export interface FireSchedule {
  cron: string;
  timezone: string;
  catchup: CatchupPolicy;
  max_catchup: number;
}

export interface PlannedFire {
  fireTime: Date;
  /** cron: on time; catchup: dispatched late under the catch-up policy. */
  kind: "cron" | "catchup";
}

export interface FirePlan {
  /** Fire times to dispatch, oldest first. */
  dispatch: PlannedFire[];
  /** The latest fire time dropped, and why, when the policy dropped any. */
  dropped?: { fireTime: Date; reason: "missed" | "catchup limit" };
  /** The watermark after this plan: the latest fire time handled, or the instant counting restarts from. */
  watermark: number;
  /** The first fire time after the new watermark: when to look again. */
  next: Date | undefined;
}

export interface FirePlanInput {
  schedule: FireSchedule;
  /** The stored watermark; null for a schedule never handled. */
  watermark: number | null;
  /** True when the stored watermark was counted with another cron or time zone. */
  definitionChanged: boolean;
  now: number;
  /** The first two fire times after `watermark`, when the caller worked them out ahead of time. */
  upcoming?: Date[];
}

export function planFires({ schedule, watermark, definitionChanged, now, upcoming }: FirePlanInput): FirePlan {
  const { cron, timezone } = schedule;
  const restart = watermark === null || definitionChanged;
  const countFrom = restart ? now : watermark;
  // The common case — nothing due, or only the fire time that just came — from one cron walk:
  // cron-parser spends more on parsing an expression than on stepping through it.
  const [first, second] = !restart && upcoming ? upcoming : nextFireTimes(cron, timezone, new Date(countFrom), 2);
  if (!first || first.getTime() > now) return { dispatch: [], watermark: countFrom, next: first };
  if (!second || second.getTime() > now) {
    const onTime = first.getTime() > now - ON_TIME_GRACE_MS;
    if (onTime) return { dispatch: [{ fireTime: first, kind: "cron" }], watermark: first.getTime(), next: second };
    if (schedule.catchup === "skip") return { dispatch: [], dropped: { fireTime: first, reason: "missed" }, watermark: first.getTime(), next: second };
    return { dispatch: [{ fireTime: first, kind: "catchup" }], watermark: first.getTime(), next: second };
  }

  // One walk from the watermark, split afterwards: starting a second walk at now - grace could
  // begin inside a DST-repeated hour and return its local time a second time.
  const wanted = schedule.catchup === "all" ? schedule.max_catchup : 1;
  const due = latestFireTimes(cron, timezone, new Date(countFrom), new Date(now), wanted + ON_TIME_LIMIT);
  const onTime = due.times.filter((time) => time.getTime() > now - ON_TIME_GRACE_MS);
  const late = due.times.filter((time) => time.getTime() <= now - ON_TIME_GRACE_MS);
  const missed = { times: late.slice(-wanted), truncated: due.truncated || late.length > wanted };

  const latest = due.times.at(-1)!;
  const plan: FirePlan = { dispatch: [], watermark: latest.getTime(), next: nextFireTimes(cron, timezone, latest, 1)[0] };
  const cronRuns = onTime.map((fireTime) => ({ fireTime, kind: "cron" as const }));
  if (missed.times.length === 0) {
    plan.dispatch = cronRuns;
    return plan;
  }
  switch (schedule.catchup) {
    case "skip":
      plan.dispatch = cronRuns;
      plan.dropped = { fireTime: missed.times.at(-1)!, reason: "missed" };
      break;
    case "once":
      plan.dispatch = [{ fireTime: missed.times.at(-1)!, kind: "catchup" }, ...cronRuns];
      break;
    case "all":
      plan.dispatch = [...missed.times.map((fireTime) => ({ fireTime, kind: "catchup" as const })), ...cronRuns];
      if (missed.truncated) {
        const before = latestFireTimes(cron, timezone, new Date(countFrom), new Date(missed.times[0]!.getTime() - 1), 1).times[0];
        if (before) plan.dropped = { fireTime: before, reason: "catchup limit" };
      }
      break;
  }
  return plan;
}
