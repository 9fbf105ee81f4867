/**
 * `llmctl smoke`: a self-test of a whole topology with a pass/fail line per check. --local
 * starts studio, worker and beat in this process on a fresh in-memory store (local.ts); without
 * it, the deployment behind the configured Redis is checked and nothing is started (live.ts).
 */
import type { LoadedConfig } from "../config/load.ts";
import { describeRedisTarget } from "../config/redis-target.ts";
import { UsageError } from "../util/errors.ts";
import { createLogger } from "../util/logger.ts";
import { SmokeReport } from "./report.ts";

export interface SmokeOptions {
  loaded: LoadedConfig;
  local: boolean;
  timeoutMs: number;
  json: boolean;
  /** Without --local: also check this studio's /readyz. */
  studioUrl?: string;
  tasksDir?: string;
}

/** Runs every check and prints the report; true when none failed. */
export async function runSmoke(options: SmokeOptions): Promise<boolean> {
  const { loaded } = options;
  if (!options.local && loaded.redis.kind === "embedded") {
    throw new UsageError(
      "llmctl smoke checks a deployment through its Redis, but the config names the embedded store, which lives inside one process",
      "set LLMCTL_REDIS_URL (or --redis-url) to the deployment's Redis, or run llmctl smoke --local",
    );
  }
  const report = new SmokeReport({ json: options.json, progress: !options.json && process.stdout.isTTY === true, write: (text) => process.stdout.write(text) });
  if (!options.json) {
    process.stdout.write(
      options.local
        ? "llmctl smoke --local: studio, worker and beat in this process on a fresh in-memory store\n\n"
        : `llmctl smoke: the deployment on ${describeRedisTarget(loaded.redis)}${options.studioUrl ? ` and the studio at ${options.studioUrl}` : ""}\n\n`,
    );
  }
  if (options.local) {
    const { runLocalSmoke } = await import("./local.ts");
    // The roles' start-up lines would drown the report; their warnings and errors still show.
    const logger = createLogger({ name: "llmctl.smoke", level: process.env.LLMCTL_LOG_LEVEL ?? "warn" });
    await runLocalSmoke({ loaded, logger, report, timeoutMs: options.timeoutMs, tasksDir: options.tasksDir });
  } else {
    const { runLiveSmoke } = await import("./live.ts");
    await runLiveSmoke({ loaded, report, timeoutMs: options.timeoutMs, studioUrl: options.studioUrl, tasksDir: options.tasksDir });
  }
  report.finish({ mode: options.local ? "local" : "live", redis: options.local ? "embedded (in memory)" : describeRedisTarget(loaded.redis) });
  return report.ok;
}
