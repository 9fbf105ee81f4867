/**
 * Where the process finds its Redis: a real server, or the embedded in-process store. Built
 * from the file, an environment overlay, environment variables and the --redis-url flag, in
 * that order of increasing precedence; `origin` records which one set each part.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { ENV, readEnvInteger, readEnvString, type Env } from "./env.ts";
import type { RedisSection } from "./schema.ts";
import { parseDurationMs } from "../util/duration.ts";
import { UsageError, errorMessage } from "../util/errors.ts";
import { REDACTED } from "../util/redact.ts";

export const DEFAULT_REDIS_URL = "redis://localhost:6379/0";
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
export const EMBEDDED = "embedded";

export interface RealRedisTarget {
  kind: "redis";
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  tls: boolean;
  connectTimeoutMs: number;
}

export interface EmbeddedRedisTarget {
  kind: "embedded";
  /** Snapshot file; undefined keeps the data in memory only. */
  path?: string;
}

export type RedisTarget = (RealRedisTarget | EmbeddedRedisTarget) & {
  /** Which layer set each part: "default", "file", "environment <name>", an env var or "--redis-url". */
  origin: Record<string, string>;
  /** False when nothing but defaults chose this Redis; `llmctl up` then uses the embedded store. */
  configured: boolean;
};

interface Layer {
  url?: string;
  host?: string;
  port?: number;
  db?: number;
  username?: string;
  password?: string;
  tls?: boolean;
  connectTimeoutMs?: number;
}

class RedisTargetBuilder {
  private target: RealRedisTarget | EmbeddedRedisTarget;
  private readonly origin: Record<string, string> = {};
  private configured = false;

  constructor() {
    this.target = parseRedisUrl(DEFAULT_REDIS_URL, "default");
    for (const key of ["url", "host", "port", "db", "tls"]) this.origin[key] = "default";
  }

  apply(layer: Layer, from: string): void {
    if (layer.url !== undefined) {
      this.target = parseRedisUrl(layer.url, from);
      this.configured = true;
      for (const key of ["url", "host", "port", "db", "tls"]) this.origin[key] = from;
      delete this.origin.username;
      delete this.origin.password;
      if (this.target.kind === "redis" && this.target.username !== undefined) this.origin.username = from;
      if (this.target.kind === "redis" && this.target.password !== undefined) this.origin.password = from;
    }
    if (this.target.kind !== "redis") return;
    const real: RealRedisTarget = this.target;
    const set = <K extends keyof RealRedisTarget>(key: K, value: RealRedisTarget[K] | undefined) => {
      if (value === undefined) return;
      real[key] = value;
      this.origin[key] = from;
      this.configured = true;
    };
    set("host", layer.host);
    set("port", layer.port);
    set("db", layer.db);
    set("username", layer.username);
    set("password", layer.password);
    set("tls", layer.tls);
    if (layer.connectTimeoutMs !== undefined) real.connectTimeoutMs = layer.connectTimeoutMs;
  }

  build(): RedisTarget {
    return { ...this.target, origin: this.origin, configured: this.configured };
  }
}

/** Parses redis://, rediss://, `embedded` and `embedded:///path`. */
export function parseRedisUrl(url: string, from: string): RealRedisTarget | EmbeddedRedisTarget {
  if (url === EMBEDDED || url === `${EMBEDDED}:` || url === `${EMBEDDED}://`) return { kind: "embedded" };
  if (url.startsWith(`${EMBEDDED}://`)) {
    const path = url.slice(`${EMBEDDED}://`.length);
    return { kind: "embedded", path: resolve(path) };
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `${from}: "${url}" is not a Redis URL`,
      "write redis://host:6379/0, rediss://host:6380/0 for TLS, 'embedded' or 'embedded:///path/to/store.json'",
    );
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new UsageError(`${from}: unsupported scheme "${parsed.protocol}" in Redis URL`, "use redis://, rediss:// or embedded");
  }
  const dbText = parsed.pathname.replace(/^\//, "");
  const db = dbText === "" ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0 || db > 255) {
    throw new UsageError(`${from}: "${dbText}" in the Redis URL is not a database number`, "end the URL with /0 to /15");
  }
  return {
    kind: "redis",
    host: parsed.hostname.replace(/^\[|\]$/g, "") || "localhost",
    port: parsed.port ? Number(parsed.port) : 6379,
    db,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    tls: parsed.protocol === "rediss:",
    connectTimeoutMs: DEFAULT_CONNECT_TIMEOUT_MS,
  };
}

function readPasswordFile(path: string, from: string): string {
  try {
    return readFileSync(path, "utf8").replace(/\r?\n$/, "");
  } catch (error) {
    throw new UsageError(`${from}: cannot read redis.password_file ${path}: ${errorMessage(error)}`, "mount the Secret at that path or fix the path");
  }
}

function fileLayer(section: RedisSection | undefined, from: string): Layer {
  if (!section) return {};
  return {
    url: section.url,
    host: section.host,
    port: section.port,
    db: section.db,
    username: section.username,
    password: section.password_file ? readPasswordFile(section.password_file, from) : undefined,
    tls: section.tls,
    connectTimeoutMs: section.connect_timeout ? parseDurationMs(section.connect_timeout) : undefined,
  };
}

export interface RedisLayers {
  file?: RedisSection;
  environment?: { name: string; redis?: RedisSection };
  env: Env;
  flagUrl?: string;
}

export function resolveRedisTarget(layers: RedisLayers): RedisTarget {
  const builder = new RedisTargetBuilder();
  builder.apply(fileLayer(layers.file, "file"), "file");
  if (layers.environment?.redis) {
    const from = `environment ${layers.environment.name}`;
    builder.apply(fileLayer(layers.environment.redis, from), from);
  }
  const env = layers.env;
  const url = readEnvString(env, ENV.redisUrl);
  if (url) builder.apply({ url: url.value }, url.name);
  const host = readEnvString(env, ENV.redisHost);
  if (host) builder.apply({ host: host.value }, host.name);
  const port = readEnvInteger(env, ENV.redisPort, 1, 65535);
  if (port) builder.apply({ port: port.value }, port.name);
  const db = readEnvInteger(env, ENV.redisDb, 0, 255);
  if (db) builder.apply({ db: db.value }, db.name);
  const password = readEnvString(env, ENV.redisPassword);
  if (password) builder.apply({ password: password.value }, password.name);
  if (layers.flagUrl) builder.apply({ url: layers.flagUrl }, "--redis-url");
  return builder.build();
}

/** The URL to show a human: never contains the password. */
export function describeRedisTarget(target: RealRedisTarget | EmbeddedRedisTarget): string {
  if (target.kind === "embedded") return target.path ? `${EMBEDDED}://${target.path}` : EMBEDDED;
  const scheme = target.tls ? "rediss" : "redis";
  const user = target.username ? encodeURIComponent(target.username) : "";
  const auth = target.password !== undefined ? `${user}:${REDACTED}@` : user ? `${user}@` : "";
  const host = target.host.includes(":") ? `[${target.host}]` : target.host;
  return `${scheme}://${auth}${host}:${target.port}/${target.db}`;
}
