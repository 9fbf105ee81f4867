/**
 * Structured logs (pino): JSON lines for machines when stderr is not a terminal, a compact
 * human format when it is. Secrets are redacted by key name wherever they appear.
 */
import pino from "pino";

export type Logger = pino.Logger;

export type LogFormat = "json" | "pretty";

const LEVEL_NAMES: Record<number, string> = { 10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL" };
const SKIP_KEYS = new Set(["level", "time", "msg", "pid", "hostname"]);

function prettyLine(line: string): string {
  try {
    const entry = JSON.parse(line) as Record<string, unknown>;
    const time = new Date(entry.time as number).toISOString().slice(11, 23);
    const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
    const fields = Object.entries(entry)
      .filter(([key]) => !SKIP_KEYS.has(key))
      .map(([key, value]) => `${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
      .join(" ");
    return `${time} ${level} ${String(entry.msg ?? "")}${fields ? `  ${fields}` : ""}\n`;
  } catch {
    return line;
  }
}

export function createLogger(options: { name: string; level?: string; format?: LogFormat; bindings?: Record<string, unknown> }): Logger {
  const format = options.format ?? (process.env.LLMCTL_LOG_FORMAT === "json" || !process.stderr.isTTY ? "json" : "pretty");
  const destination =
    format === "pretty"
      ? { write: (line: string) => process.stderr.write(prettyLine(line)) }
      : { write: (line: string) => process.stderr.write(line) };
  return pino(
    {
      name: options.name,
      level: options.level ?? process.env.LLMCTL_LOG_LEVEL ?? "info",
      base: { ...options.bindings },
      redact: { paths: ["password", "*.password", "token", "*.token", "authorization", "*.authorization", "api_key", "*.api_key"], censor: "***" },
      timestamp: pino.stdTimeFunctions.epochTime,
    },
    destination,
  );
}

/** A logger that drops everything, for library use and tests. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
