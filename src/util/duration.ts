import { FlagError } from "./errors.ts";

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};


/**
 * Parses "250ms", "30s", "10m", "1.5h", "7d" or compound "1h30m" into milliseconds.
 * Returns undefined for anything else so that callers can report the error where it occurred.
 */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return undefined;
  if (/^\d+$/.test(trimmed)) return undefined; // a bare number is ambiguous: seconds or milliseconds?
  let total = 0;
  let rest = trimmed;
  while (rest.length > 0) {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)/.exec(rest);
    if (!match) return undefined;
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    rest = rest.slice(match[0].length);
  }
  return Math.round(total);
}

export function isDuration(text: string): boolean {
  return parseDurationMs(text) !== undefined;
}

/** For flags: parses or throws a UsageError that names the flag and shows valid forms. */
export function durationFlag(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) {
    throw new FlagError(
      `--${flag}: "${value}" is not a duration`,
      `write a number with a unit: 500ms, 30s, 10m, 2h or 1d (for example --${flag} 30s)`,
    );
  }
  return ms;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${Number.isInteger(seconds) ? seconds : seconds.toFixed(1)}s`;
  const minutes = Math.floor(seconds / 60);
  const restSeconds = Math.round(seconds % 60);
  if (minutes < 60) return restSeconds ? `${minutes}m${restSeconds}s` : `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  const restMinutes = minutes % 60;
  if (hours < 24) return restMinutes ? `${hours}h${restMinutes}m` : `${hours}h`;
  const days = Math.floor(hours / 24);
  const restHours = hours % 24;
  return restHours ? `${days}d${restHours}h` : `${days}d`;
}


