/** A logger whose entries a test can read, for asserting on what a role reported. */
import pino from "pino";
import type { Logger } from "../../src/util/logger.ts";

export interface CapturedLogs {
  logger: Logger;
  entries: Array<Record<string, unknown>>;
  /** Entries whose msg equals `message`, optionally with matching fields. */
  find(message: string, fields?: Record<string, unknown>): Array<Record<string, unknown>>;
}

export function captureLogs(): CapturedLogs {
  const entries: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info", base: {} }, { write: (line: string) => void entries.push(JSON.parse(line) as Record<string, unknown>) });
  return {
    logger,
    entries,
    find: (message, fields = {}) => entries.filter((entry) => entry.msg === message && Object.entries(fields).every(([key, value]) => entry[key] === value)),
  };
}
