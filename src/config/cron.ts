/**
 * Cron expressions as llmctl understands them: 5 fields (minute first) or 6 (seconds first),
 * or a macro such as @daily, evaluated by cron-parser in an IANA time zone.
 *
 * DST rule (cron-parser's, which beat relies on and docs/decisions.md records): a local time that
 * a spring-forward change skips runs once, shifted by the gap (02:30 → 03:30); a local time that
 * a fall-back change repeats runs once, at its first occurrence.
 */
import { CronExpressionParser, type CronExpression } from "cron-parser";
import { DateTime } from "luxon";

const FIELDS_5 = ["minute", "hour", "day-of-month", "month", "day-of-week"] as const;
const FIELDS_6 = ["second", ...FIELDS_5] as const;
const FIELD_RANGES: Record<string, string> = {
  second: "0-59",
  minute: "0-59",
  hour: "0-23",
  "day-of-month": "1-31 or L",
  month: "1-12 or JAN-DEC",
  "day-of-week": "0-7 or SUN-SAT (0 and 7 are Sunday)",
};

export interface CronProblem {
  /** The field at fault, when one field alone is wrong. */
  field?: string;
  message: string;
  fix: string;
}

function cronFields(expression: string): string[] {
  return expression.trim().split(/\s+/);
}

function tryParse(expression: string, timezone = "UTC"): Error | undefined {
  try {
    CronExpressionParser.parse(expression, { tz: timezone, currentDate: new Date(0) });
    return undefined;
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}

/** Why the expression is not valid cron, naming the field at fault; undefined when it is valid. */
export function checkCron(expression: string): CronProblem | undefined {
  const trimmed = expression.trim();
  if (trimmed.startsWith("@")) {
    const error = tryParse(trimmed);
    return error
      ? {
          message: `"${trimmed}" is not a known macro`,
          fix: "use @yearly, @monthly, @weekly, @daily or @hourly, or write the 5 fields",
        }
      : undefined;
  }
  const fields = cronFields(trimmed);
  if (fields.length !== 5 && fields.length !== 6) {
    return {
      message: `"${trimmed}" has ${fields.length} field${fields.length === 1 ? "" : "s"}; cron needs 5 or 6`,
      fix: 'write "minute hour day-of-month month day-of-week" (e.g. "0 2 * * *"), or 6 fields with seconds first',
    };
  }
  const names = fields.length === 6 ? FIELDS_6 : FIELDS_5;
  for (let index = 0; index < fields.length; index++) {
    const probe = fields.map((field, i) => (i === index ? field : "*")).join(" ");
    const error = tryParse(probe);
    if (error) {
      const field = names[index]!;
      return {
        field,
        message: `"${trimmed}" has an invalid ${field} field "${fields[index]}" (${error.message})`,
        fix: `the ${field} field (field ${index + 1}) takes ${FIELD_RANGES[field]}, lists (1,15), ranges (1-5) and steps (*/10)`,
      };
    }
  }
  const error = tryParse(trimmed);
  if (error) {
    return {
      message: `"${trimmed}" can never fire (${error.message})`,
      fix: "check that the day-of-month exists in the month (e.g. no 30 in February)",
    };
  }
  return undefined;
}

export function isValidTimezone(name: string): boolean {
  if (/^[+-]/.test(name) || /^(GMT|UTC)[+-]/i.test(name)) return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

export function knownTimezones(): string[] {
  return [...Intl.supportedValuesOf("timeZone"), "UTC"];
}

function parse(expression: string, timezone: string, after: Date): CronExpression {
  return CronExpressionParser.parse(expression.trim(), { tz: timezone, currentDate: after });
}

/**
 * The next fire time, or undefined when the expression has none left. Not hasNext(): it walks a
 * copy of the expression ahead and costs more than next() itself.
 */
function step(cron: CronExpression): Date | undefined {
  try {
    return cron.next().toDate();
  } catch {
    return undefined;
  }
}

/** The next `count` fire times strictly after `after`. */
export function nextFireTimes(expression: string, timezone: string, after: Date, count: number): Date[] {
  const cron = parse(expression, timezone, after);
  const times: Date[] = [];
  for (let next = count > 0 ? step(cron) : undefined; next; next = times.length < count ? step(cron) : undefined) times.push(next);
  return times;
}

/** Fire times in (after, until], at most `limit`. */
export function fireTimesBetween(expression: string, timezone: string, after: Date, until: Date, limit: number): Date[] {
  const cron = parse(expression, timezone, after);
  const times: Date[] = [];
  for (let next = step(cron); next && times.length < limit; next = step(cron)) {
    if (next.getTime() > until.getTime()) break;
    times.push(next);
  }
  return times;
}

export interface LatestFireTimes {
  /** The latest fire times in (after, until], at most `count`, oldest first. */
  times: Date[];
  /** True when (after, until] holds older fire times than those returned. */
  truncated: boolean;
}

/**
 * The latest `count` fire times in (after, until], found without walking every fire time since
 * `after` (a per-second schedule missed for a day has 86,400 of them, and cron-parser takes about
 * 50 µs per step). The window ending at `until` grows until it holds count + 1 fire times or
 * reaches `after`; each window starts outside a repeated DST hour, so the rule "a repeated local
 * time runs once, at its first occurrence" holds as it does when iterating from `after`.
 */
export function latestFireTimes(expression: string, timezone: string, after: Date, until: Date, count: number): LatestFireTimes {
  if (count <= 0 || until.getTime() <= after.getTime()) return { times: [], truncated: false };
  const sample = nextFireTimes(expression, timezone, until, 2);
  const period = sample.length === 2 ? sample[1]!.getTime() - sample[0]!.getTime() : 86_400_000;
  let windowMs = Math.max(1000, period * (count + 1));
  for (;;) {
    const windowStart = Math.max(after.getTime(), until.getTime() - windowMs);
    const reachesAfter = windowStart === after.getTime();
    const iterationStart = reachesAfter ? after : startOutsideRepeatedHour(timezone, new Date(windowStart));
    const cron = parse(expression, timezone, iterationStart);
    const kept: Date[] = [];
    for (let next = step(cron); next; next = step(cron)) {
      if (next.getTime() > until.getTime()) break;
      if (next.getTime() <= after.getTime()) continue;
      kept.push(next);
      if (kept.length > count + 1) kept.shift();
    }
    if (kept.length > count) return { times: kept.slice(-count), truncated: true };
    if (reachesAfter) return { times: kept, truncated: false };
    windowMs *= 4;
  }
}

/**
 * `instant`, or — when it lies in the second pass of a local hour that a fall-back change
 * repeats — a moment just before the first pass of that hour. Iterating from inside the second
 * pass, cron-parser would return the repeated local time a second time.
 */
export function startOutsideRepeatedHour(timezone: string, instant: Date): Date {
  const at = instant.getTime();
  const lookBack = at - 4 * 3_600_000;
  const offsetNow = offsetAt(timezone, at);
  const offsetBefore = offsetAt(timezone, lookBack);
  if (offsetBefore <= offsetNow) return instant;
  const change = changeInstant(timezone, lookBack, at);
  const repeatedMs = (offsetBefore - offsetNow) * 60_000;
  return at < change + repeatedMs ? new Date(change - repeatedMs - 1) : instant;
}

/** "2026-03-29 03:30 +02:00" — a fire time as a user in that zone reads it. */
export function formatLocal(date: Date, timezone: string): string {
  return DateTime.fromJSDate(date, { zone: timezone }).toFormat("yyyy-MM-dd HH:mm:ss ZZ");
}

export interface DstAnomaly {
  kind: "skipped" | "repeated";
  /** Local calendar date of the change, YYYY-MM-DD. */
  date: string;
  /** Local wall-clock times of the schedule that fall into the gap or overlap, HH:mm. */
  localTimes: string[];
}

/**
 * Finds the DST changes of `timezone` in [from, until) at which the schedule has a fire time
 * in the skipped or repeated local hour. Only schedules with a fixed hour field are checked:
 * an hourly schedule is not surprised by a missing or doubled hour the way a daily one is.
 */
export function dstAnomalies(expression: string, timezone: string, from: Date, until: Date): DstAnomaly[] {
  const trimmed = expression.trim();
  if (trimmed.startsWith("@")) {
    if (!/^@(daily|midnight|weekly|monthly|yearly|annually)$/.test(trimmed)) return [];
  } else {
    const fields = cronFields(trimmed);
    const hour = fields[fields.length === 6 ? 2 : 1];
    if (hour === undefined || hour === "*" || hour.startsWith("*/")) return [];
  }
  const anomalies: DstAnomaly[] = [];
  for (const change of offsetChanges(timezone, from, until)) {
    const gapStart = change.instant + Math.min(change.before, change.after) * 60_000;
    const gapEnd = change.instant + Math.max(change.before, change.after) * 60_000;
    // Wall-clock times written as if they were UTC, so the expression can be matched against
    // local times without a zone getting in the way.
    const matches = fireTimesBetween(trimmed, "UTC", new Date(gapStart - 1), new Date(gapEnd - 1), 120);
    if (matches.length === 0) continue;
    anomalies.push({
      kind: change.after > change.before ? "skipped" : "repeated",
      date: new Date(gapStart).toISOString().slice(0, 10),
      localTimes: [...new Set(matches.map((m) => m.toISOString().slice(11, 16)))],
    });
  }
  return anomalies;
}

interface OffsetChange {
  instant: number;
  /** UTC offsets in minutes before and after the change. */
  before: number;
  after: number;
}

function offsetAt(timezone: string, instant: number): number {
  return DateTime.fromMillis(instant, { zone: timezone }).offset;
}

/** The first millisecond with the new offset, given one offset change in (low, high]. */
function changeInstant(timezone: string, low: number, high: number): number {
  const offsetAtLow = offsetAt(timezone, low);
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (offsetAt(timezone, middle) === offsetAtLow) low = middle;
    else high = middle;
  }
  return high;
}

function offsetChanges(timezone: string, from: Date, until: Date): OffsetChange[] {
  const changes: OffsetChange[] = [];
  const step = 6 * 3_600_000;
  let previousInstant = from.getTime();
  let previousOffset = offsetAt(timezone, previousInstant);
  for (let t = previousInstant + step; t <= until.getTime(); t += step) {
    const offset = offsetAt(timezone, t);
    if (offset !== previousOffset) changes.push({ instant: changeInstant(timezone, previousInstant, t), before: previousOffset, after: offset });
    previousInstant = t;
    previousOffset = offset;
  }
  return changes;
}
