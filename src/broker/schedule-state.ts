/**
 * What Redis keeps per schedule (a hash at keys.schedule(name)), shared by beat, `llmctl
 * schedule` and the studio. Beat counts catch-up from `watermark`, refuses to write with a lease
 * token below `fence`, and checks overlap against `target_jobs`.
 */
import type { EnqueuedJob } from "./producer.ts";

export type DispatchKind = "cron" | "catchup" | "trigger";

export interface SkippedFire {
  fire_time: string;
  reason: "paused" | "missed" | "overlap" | "catchup limit" | "disabled";
  at: string;
}

export interface ScheduleState {
  /** The last cron fire time beat handled, dispatched or skipped by policy (epoch ms); catch-up counts from here. */
  watermark: number | null;
  /** "cron|timezone" the watermark was counted with; a change of either restarts the count. */
  definition: string | null;
  /** The highest lease token that wrote this state; a beat holding a lower one is stale. */
  fence: number;
  paused: boolean;
  paused_at: string | null;
  /** The fire time of the last dispatch (cron, catch-up or trigger). */
  last_fire_time: string | null;
  last_dispatched_at: string | null;
  last_kind: DispatchKind | null;
  /** Who dispatched last: a beat id, or "cli"/"studio" for a trigger. */
  last_dispatched_by: string | null;
  last_jobs: EnqueuedJob[];
  /** The latest job per target queue, for overlap: skip while it is unfinished (hash fields "job:<queue>"). */
  target_jobs: Record<string, EnqueuedJob>;
  last_skip: SkippedFire | null;
  /** The next cron fire time as the active beat computed it. */
  next_fire_time: string | null;
}

export const EMPTY_STATE: ScheduleState = {
  watermark: null,
  definition: null,
  fence: 0,
  paused: false,
  paused_at: null,
  last_fire_time: null,
  last_dispatched_at: null,
  last_kind: null,
  last_dispatched_by: null,
  last_jobs: [],
  target_jobs: {},
  last_skip: null,
  next_fire_time: null,
};

function json<T>(text: string | undefined, fallback: T): T {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

function number(text: string | undefined): number | null {
  const value = text === undefined || text === "" ? NaN : Number(text);
  return Number.isFinite(value) ? value : null;
}

export function parseScheduleState(hash: Record<string, string>): ScheduleState {
  return {
    watermark: number(hash.watermark),
    definition: hash.definition || null,
    fence: number(hash.fence) ?? 0,
    paused: hash.paused === "1",
    paused_at: hash.paused_at || null,
    last_fire_time: hash.last_fire_time || null,
    last_dispatched_at: hash.last_dispatched_at || null,
    last_kind: (hash.last_kind as DispatchKind) || null,
    last_dispatched_by: hash.last_dispatched_by || null,
    last_jobs: json(hash.last_jobs, []),
    target_jobs: Object.fromEntries(
      Object.entries(hash)
        .filter(([field]) => field.startsWith(TARGET_JOB_FIELD))
        .map(([field, value]) => [field.slice(TARGET_JOB_FIELD.length), json<EnqueuedJob | null>(value, null)])
        .filter((entry): entry is [string, EnqueuedJob] => entry[1] !== null),
    ),
    last_skip: json(hash.last_skip, null),
    next_fire_time: hash.next_fire_time || null,
  };
}

/**
 * Target jobs are one field per queue, so that a write sets its own targets' fields without
 * reading (and racing to rewrite) the others.
 */
const TARGET_JOB_FIELD = "job:";

/** The hash fields for a partial state (what a write changes). */
export function stateFields(state: Partial<ScheduleState>): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const [key, value] of Object.entries(state)) {
    if (value === undefined) continue;
    if (key === "target_jobs") {
      for (const [queue, job] of Object.entries(value as Record<string, EnqueuedJob>)) fields[`${TARGET_JOB_FIELD}${queue}`] = JSON.stringify(job);
      continue;
    }
    if (key === "paused") fields[key] = value ? "1" : "0";
    else if (value === null) fields[key] = "";
    else fields[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
  }
  return fields;
}

/** cron and timezone, the part of a schedule that decides its fire times. */
export function scheduleDefinition(schedule: { cron: string; timezone: string }): string {
  return `${schedule.cron.trim()}|${schedule.timezone}`;
}
