/**
 * What `llmctl up` decides before it starts anything: where the jobs live (the configured
 * Redis, or an embedded store kept under a data directory so jobs survive a restart) and which
 * token guards the studio (the configured one, or one generated for this run).
 */
import { accessSync, constants, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { randomBytes } from "node:crypto";
import type { LoadedConfig } from "../config/load.ts";
import { describeRedisTarget, type RedisTarget } from "../config/redis-target.ts";
import type { Env } from "../config/env.ts";
import { resolveStudioToken } from "../studio/auth.ts";
import { UsageError, errorMessage } from "../util/errors.ts";

/** Relative to the working directory: the store belongs to the project `llmctl up` runs in (and .llmctl/ is git-ignored there). */
export const DEFAULT_DATA_DIR = ".llmctl";
export const SNAPSHOT_FILE = "store.snapshot";

export interface UpStore {
  target: RedisTarget;
  /** Why this store: shown at start-up. */
  reason: string;
  /** The data directory, when up chose the embedded store itself. */
  dataDir?: string;
}

/**
 * The configured Redis when anything configured one (file, environment, flag), otherwise an
 * embedded store snapshotted to <data dir>/store.snapshot. --data-dir with a configured Redis is
 * a contradiction, refused before anything starts.
 */
export function chooseUpStore(loaded: LoadedConfig, options: { dataDir?: string; cwd?: string } = {}): UpStore {
  const cwd = options.cwd ?? process.cwd();
  if (loaded.redis.configured) {
    if (options.dataDir !== undefined) {
      throw new UsageError(
        `--data-dir only applies to the embedded store, but Redis is configured (${describeRedisTarget(loaded.redis)}, from ${loaded.redis.origin.url ?? "the config"})`,
        "drop --data-dir, or unset LLMCTL_REDIS_URL / redis.url to keep jobs in an embedded store under the data directory",
      );
    }
    return { target: loaded.redis, reason: `configured by ${loaded.redis.origin.url ?? "the config"}` };
  }
  const dataDir = resolve(cwd, options.dataDir ?? DEFAULT_DATA_DIR);
  try {
    mkdirSync(dataDir, { recursive: true });
    accessSync(dataDir, constants.W_OK);
  } catch (error) {
    throw new UsageError(`cannot keep the embedded store in ${dataDir}: ${errorMessage(error)}`, "pick a writable directory with --data-dir DIR");
  }
  const target: RedisTarget = { kind: "embedded", path: join(dataDir, SNAPSHOT_FILE), origin: { url: "llmctl up" }, configured: false };
  return { target, dataDir, reason: "no Redis configured: the embedded store, kept on disk so jobs survive a restart" };
}

export interface UpToken {
  token: string;
  /** "generated" or where it was read from. */
  origin: string;
}

/** --token-file > LLMCTL_STUDIO_TOKEN > studio.token_file, as for `llmctl studio`; without any, a fresh random one for this run. */
export function chooseUpToken(loaded: LoadedConfig, options: { tokenFile?: string; env?: Env } = {}): UpToken {
  const configured = resolveStudioToken({ tokenFile: options.tokenFile, env: options.env ?? process.env, config: loaded.config, configPath: loaded.path });
  if (configured.token) return { token: configured.token, origin: configured.origin };
  return { token: randomBytes(24).toString("base64url"), origin: "generated" };
}
