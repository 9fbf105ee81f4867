/** `llmctl up`: choose the store and the token, start the three roles, and tell the user where the dashboard is. */
import type { LoadedConfig } from "../config/load.ts";
import { formatDuration, parseDurationMs } from "../util/duration.ts";
import type { Logger } from "../util/logger.ts";
import { startAll, type AllInOneHandle } from "./index.ts";
import { chooseUpStore, chooseUpToken, type UpStore, type UpToken } from "./settings.ts";
import { describeRedisTarget } from "../config/redis-target.ts";

export interface UpOptions {
  loaded: LoadedConfig;
  logger: Logger;
  host?: string;
  port?: number;
  dataDir?: string;
  tokenFile?: string;
  tasksDir?: string;
  concurrency?: number;
  graceMs?: number;
}

function banner(up: AllInOneHandle, loaded: LoadedConfig, store: UpStore, token: UpToken, graceMs: number): string {
  const tokenNote = token.origin === "generated" ? "generated for this run, or set LLMCTL_STUDIO_TOKEN" : `from ${token.origin}`;
  const schedules = Object.values(loaded.config.schedules).filter((schedule) => schedule.enabled).length;
  const rows: Array<[string, string]> = [
    ["dashboard", up.url],
    ["token", `${token.token}   (${tokenNote})`],
    ["store", `${describeRedisTarget(store.target)}   (${store.reason})`],
    ["worker", `${up.worker.queues.length} queue${up.worker.queues.length === 1 ? "" : "s"}, ${up.worker.concurrency} job${up.worker.concurrency === 1 ? "" : "s"} at once`],
    ["beat", `${schedules} schedule${schedules === 1 ? "" : "s"}`],
  ];
  return [
    "llmctl up: studio, worker and beat in one process",
    "",
    ...rows.map(([label, value]) => `  ${label.padEnd(10)} ${value}`),
    "",
    `Stop with Ctrl-C: running jobs get ${formatDuration(graceMs)} to finish${store.target.kind === "embedded" && store.target.path ? ", then the store is saved" : ""}.`,
    "",
  ].join("\n");
}

/** Starts everything and prints the dashboard's URL and token on stdout; logs go to stderr. */
export async function runUp(options: UpOptions): Promise<AllInOneHandle> {
  const store = chooseUpStore(options.loaded, { dataDir: options.dataDir });
  const token = chooseUpToken(options.loaded, { tokenFile: options.tokenFile });
  const graceMs = options.graceMs ?? parseDurationMs(options.loaded.config.worker.grace)!;
  const up = await startAll({
    loaded: { ...options.loaded, redis: store.target },
    logger: options.logger,
    token: token.token,
    host: options.host,
    port: options.port,
    tasksDir: options.tasksDir,
    concurrency: options.concurrency,
    graceMs,
  });
  process.stdout.write(banner(up, options.loaded, store, token, graceMs));
  options.logger.info({ url: up.url, redis: describeRedisTarget(store.target), token_from: token.origin }, "up started");
  return up;
}
