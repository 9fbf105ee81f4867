/**
 * `llmctl doctor`: checks what a deployment needs and says what to fix. It reads and never
 * writes: the config, the Redis server's settings (version, eviction policy, persistence),
 * an embedded snapshot file, and a BullMQ scenario on a private in-memory embedded store.
 */
import { accessSync, constants, existsSync } from "node:fs";
import { dirname } from "node:path";
import type { Redis } from "ioredis";
import { formatDiagnostic } from "../config/diagnostics.ts";
import type { LoadedConfig } from "../config/load.ts";
import { describeRedisTarget, type RealRedisTarget, type RedisTarget } from "../config/redis-target.ts";
import { connectOrExplain } from "./connections.ts";
import { LlmctlError, errorMessage } from "../util/errors.ts";

export type CheckStatus = "pass" | "warn" | "fail" | "skip";

export interface DoctorCheck {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
}

export interface DoctorReport {
  /** False when any check failed; warnings do not fail the report. */
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** Loads the config the way the other commands would (flags, env, file). */
  loadConfig: () => LoadedConfig;
  /** Called as each check finishes, for progress on a terminal. */
  onCheck?: (check: DoctorCheck) => void;
  /** How long Redis may take to answer (default: the target's connect timeout, at most 5 s). */
  redisTimeoutMs?: number;
  selfTestTimeoutMs?: number;
}

/** BullMQ needs Redis 5 (streams, BZPOPMIN); 6.2 is what it is tested on. */
const MINIMUM_REDIS = [5, 0, 0] as const;
const RECOMMENDED_REDIS = [6, 2, 0] as const;
const REDIS_CONF_HINT = "set it in redis.conf (or the server's parameter group) so it survives a restart";

export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const add = (check: DoctorCheck) => {
    checks.push(check);
    options.onCheck?.(check);
  };
  const loaded = checkConfig(options.loadConfig, add);
  if (loaded?.redis.kind === "redis") await checkRedisServer(loaded.redis, add, options.redisTimeoutMs);
  else if (loaded?.redis.kind === "embedded") await checkEmbeddedTarget(loaded.redis, add);
  else add({ name: "redis", status: "skip", detail: "not checked: the config did not load, so the Redis to check is unknown" });
  await checkEmbeddedStore(add, options.selfTestTimeoutMs);
  return { ok: checks.every((check) => check.status !== "fail"), checks };
}

function checkConfig(load: () => LoadedConfig, add: (check: DoctorCheck) => void): LoadedConfig | undefined {
  try {
    const loaded = load();
    const file = loaded.path ?? "built-in default contract";
    const environment = loaded.environment ? ` with environment ${loaded.environment}` : "";
    if (loaded.warnings.length === 0) {
      add({ name: "config", status: "pass", detail: `${file}${environment}: valid` });
    } else {
      add({
        name: "config",
        status: "warn",
        detail: `${file}${environment}: valid, ${loaded.warnings.length} warning(s):\n${loaded.warnings.map(formatDiagnostic).join("\n")}`,
        fix: "see each warning's fix; `llmctl config validate` shows them too",
      });
    }
    return loaded;
  } catch (error) {
    if (!(error instanceof LlmctlError)) throw error;
    add({ name: "config", status: "fail", detail: error.message, fix: error.hint ?? "fix the errors above; `llmctl config validate` checks again" });
    return undefined;
  }
}

function parseVersion(text: string): number[] {
  return text.split(".").map((part) => Number.parseInt(part, 10) || 0);
}

function atLeast(version: number[], wanted: readonly number[]): boolean {
  for (let index = 0; index < wanted.length; index++) {
    const have = version[index] ?? 0;
    if (have !== wanted[index]) return have > wanted[index]!;
  }
  return true;
}

/** INFO text → field map. */
function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** CONFIG GET, or undefined where the server forbids CONFIG (many managed services do). */
async function configGet(client: Redis, name: string): Promise<string | undefined> {
  try {
    const reply = (await client.call("CONFIG", "GET", name)) as string[];
    return reply.length >= 2 ? String(reply[1]) : undefined;
  } catch {
    return undefined;
  }
}

async function checkRedisServer(target: RealRedisTarget & RedisTarget, add: (check: DoctorCheck) => void, timeoutMs?: number): Promise<void> {
  const where = describeRedisTarget(target);
  let client: Redis;
  const started = performance.now();
  try {
    client = await connectOrExplain(target, { purpose: "command", name: "llmctl:doctor" }, timeoutMs ?? Math.min(target.connectTimeoutMs, 5_000));
  } catch (error) {
    const hint = error instanceof LlmctlError ? error.hint : undefined;
    add({ name: "redis reachable", status: "fail", detail: errorMessage(error), fix: hint });
    add({ name: "redis settings", status: "skip", detail: "not checked: Redis is not reachable" });
    return;
  }
  client.on("error", () => {});
  try {
    add({ name: "redis reachable", status: "pass", detail: `${where} answered in ${(performance.now() - started).toFixed(1)} ms` });
    const info = parseInfo(String(await client.info()));
    add(versionCheck(info));
    add(evictionCheck(info.get("maxmemory_policy") ?? (await configGet(client, "maxmemory-policy"))));
    add(persistenceCheck(info, await configGet(client, "save")));
  } catch (error) {
    add({ name: "redis settings", status: "fail", detail: `reading the server's settings failed: ${errorMessage(error)}`, fix: "check that the user may run INFO (ACL +info)" });
  } finally {
    client.disconnect();
  }
}

function versionCheck(info: Map<string, string>): DoctorCheck {
  const text = info.get("redis_version");
  if (!text) return { name: "redis version", status: "warn", detail: "the server did not report redis_version in INFO", fix: "use Redis 6.2 or later (or a compatible server that reports its version)" };
  const version = parseVersion(text);
  if (!atLeast(version, MINIMUM_REDIS)) {
    return { name: "redis version", status: "fail", detail: `${text}: BullMQ needs Redis ${MINIMUM_REDIS.join(".")} or later`, fix: "upgrade Redis to 7.x" };
  }
  if (!atLeast(version, RECOMMENDED_REDIS)) {
    return { name: "redis version", status: "warn", detail: `${text}: works, but BullMQ is tested on ${RECOMMENDED_REDIS.join(".")} and later`, fix: "upgrade Redis to 7.x" };
  }
  return { name: "redis version", status: "pass", detail: `${text} (BullMQ needs ${MINIMUM_REDIS.slice(0, 2).join(".")} or later)` };
}

function evictionCheck(policy: string | undefined): DoctorCheck {
  if (policy === undefined) {
    return { name: "maxmemory-policy", status: "warn", detail: "could not read it (neither INFO memory nor CONFIG GET reports it)", fix: "make sure the server runs with maxmemory-policy noeviction" };
  }
  if (policy !== "noeviction") {
    return {
      name: "maxmemory-policy",
      status: "fail",
      detail: `${policy}: when memory runs out Redis deletes keys, and BullMQ loses jobs and their locks`,
      fix: `redis-cli CONFIG SET maxmemory-policy noeviction, and ${REDIS_CONF_HINT}`,
    };
  }
  return { name: "maxmemory-policy", status: "pass", detail: "noeviction: a full Redis refuses writes instead of deleting jobs" };
}

function persistenceCheck(info: Map<string, string>, save: string | undefined): DoctorCheck {
  if (info.get("aof_enabled") === "1") return { name: "persistence", status: "pass", detail: "AOF on: queued, delayed and scheduled jobs survive a Redis restart" };
  const fix = `redis-cli CONFIG SET appendonly yes, and ${REDIS_CONF_HINT}`;
  if (save === undefined) {
    return { name: "persistence", status: "warn", detail: "AOF off; RDB settings unreadable (CONFIG GET refused)", fix };
  }
  if (save.trim() !== "") {
    return { name: "persistence", status: "warn", detail: `RDB snapshots only (save "${save}"): jobs added since the last snapshot are lost if Redis stops`, fix };
  }
  return { name: "persistence", status: "warn", detail: "none (AOF off, no RDB snapshots): a Redis restart loses every queued, delayed and scheduled job", fix };
}

async function checkEmbeddedTarget(target: RedisTarget & { kind: "embedded" }, add: (check: DoctorCheck) => void): Promise<void> {
  if (!target.path) {
    add({ name: "store", status: "pass", detail: "embedded store in memory: no server needed; jobs live as long as the process (embedded:///path/file keeps them)" });
    return;
  }
  add({ name: "store", status: "pass", detail: `embedded store with snapshots at ${target.path}` });
  add(await checkSnapshotFile(target.path));
}

async function checkEmbeddedStore(add: (check: DoctorCheck) => void, timeoutMs?: number): Promise<void> {
  const { openEmbeddedStore } = await import("../embedded/index.ts");
  const { runQueueSelfTest } = await import("../embedded/self-test.ts");
  const store = await openEmbeddedStore();
  try {
    await runQueueSelfTest((name) => store.connect({ name }), {
      timeoutMs,
      onResult: (result) =>
        add({
          name: `embedded self-test: ${result.name}`,
          status: result.ok ? "pass" : "fail",
          detail: `${result.detail} (${result.ms} ms)`,
          fix: result.ok ? undefined : "a defect of llmctl's embedded store: report it with this output and `llmctl --version`",
        }),
    });
  } finally {
    await store.close();
  }
}

async function checkSnapshotFile(path: string): Promise<DoctorCheck> {
  const { inspectSnapshot } = await import("../embedded/index.ts");
  try {
    const summary = inspectSnapshot(path);
    if (!summary.exists) {
      const directory = nearestExistingDirectory(dirname(path));
      try {
        accessSync(directory, constants.W_OK);
      } catch {
        return { name: "snapshot", status: "fail", detail: `${path} does not exist and ${directory} is not writable`, fix: `make ${directory} writable for this user, or choose another embedded:///path` };
      }
      return { name: "snapshot", status: "pass", detail: `${path} does not exist yet; the first snapshot will create it` };
    }
    try {
      accessSync(path, constants.W_OK);
    } catch {
      return { name: "snapshot", status: "fail", detail: `${path} is readable (${summary.keys} keys) but not writable`, fix: `make ${path} writable for this user` };
    }
    return { name: "snapshot", status: "pass", detail: `${path}: ${summary.keys} keys, ${(summary.bytes / 1024).toFixed(1)} KiB` };
  } catch (error) {
    const hint = error instanceof LlmctlError ? error.hint : undefined;
    return { name: "snapshot", status: "fail", detail: errorMessage(error), fix: hint };
  }
}

function nearestExistingDirectory(path: string): string {
  let current = path;
  while (!existsSync(current) && dirname(current) !== current) current = dirname(current);
  return current;
}

const LABELS: Record<CheckStatus, { text: string; color: number }> = {
  pass: { text: "ok", color: 32 },
  warn: { text: "warn", color: 33 },
  fail: { text: "FAIL", color: 31 },
  skip: { text: "skip", color: 90 },
};

export function formatCheck(check: DoctorCheck, color: boolean): string {
  const label = LABELS[check.status];
  const tag = label.text.padEnd(4);
  const head = `${color ? `\u001b[${label.color}m${tag}\u001b[0m` : tag}  ${check.name}`;
  const [first, ...rest] = check.detail.split("\n");
  const lines = [`${head}: ${first}`, ...rest.map((line) => `      ${line}`)];
  if (check.fix && check.status !== "pass") lines.push(`      fix: ${check.fix}`);
  return lines.join("\n");
}

export function summarize(report: DoctorReport): string {
  const count = (status: CheckStatus) => report.checks.filter((check) => check.status === status).length;
  const parts = [`${count("pass")} ok`, `${count("warn")} warning(s)`, `${count("fail")} failed`];
  if (count("skip")) parts.push(`${count("skip")} skipped`);
  return `${report.ok ? "healthy" : "not healthy"}: ${parts.join(", ")}`;
}

/** Runs every check, printing each as it finishes (or one JSON document), and returns the exit code. */
export async function doctor(options: Omit<DoctorOptions, "onCheck"> & { json?: boolean }): Promise<number> {
  const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
  const report = await runDoctor({
    ...options,
    onCheck: options.json ? undefined : (check) => process.stdout.write(`${formatCheck(check, color)}\n`),
  });
  if (options.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${summarize(report)}\n`);
  return report.ok ? 0 : 1;
}
