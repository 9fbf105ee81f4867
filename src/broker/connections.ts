/**
 * Redis connections with the options BullMQ needs. Blocking connections (workers, event
 * listeners) must have maxRetriesPerRequest: null, or BullMQ refuses them; command
 * connections fail a request after a few retries so an API call does not hang while Redis is
 * away. Both reconnect with capped exponential backoff.
 */
import { isIP } from "node:net";
import { Redis, type RedisOptions } from "ioredis";
import type { RealRedisTarget, RedisTarget } from "../config/redis-target.ts";
import { RuntimeError, errorMessage } from "../util/errors.ts";
import { redactSecrets } from "../util/redact.ts";

/**
 * command: fails a request after a few retries; blocking: waits forever (BullMQ requires it);
 * transaction: for WATCH/MULTI, never queues or re-sends a command across a reconnect (a WATCH
 * does not survive one, so a re-sent EXEC would run unguarded); it fails at once instead.
 */
export type ConnectionPurpose = "command" | "blocking" | "transaction";

export interface ConnectionOptions {
  purpose: ConnectionPurpose;
  /** CLIENT SETNAME, so `CLIENT LIST` and BullMQ's getWorkers show who is connected. */
  name?: string;
}

const MAX_BACKOFF_MS = 10_000;

export function reconnectDelay(attempt: number): number {
  const base = Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(attempt, 10));
  return Math.round(base / 2 + Math.random() * (base / 2));
}

export function redisOptions(target: RealRedisTarget, options: ConnectionOptions): RedisOptions {
  return {
    host: target.host,
    port: target.port,
    db: target.db,
    username: target.username,
    password: target.password,
    // SNI must not carry an IP address, only a host name.
    tls: target.tls ? (isIP(target.host) ? {} : { servername: target.host }) : undefined,
    connectTimeout: target.connectTimeoutMs,
    connectionName: options.name,
    maxRetriesPerRequest: options.purpose === "blocking" ? null : 3,
    enableReadyCheck: true,
    lazyConnect: true,
    retryStrategy: reconnectDelay,
    ...(options.purpose === "transaction" ? { enableOfflineQueue: false, autoResendUnfulfilledCommands: false } : {}),
  };
}

export function createRealConnection(target: RealRedisTarget, options: ConnectionOptions): Redis {
  const connection = new Redis(redisOptions(target, options));
  // Without a listener ioredis prints every reconnect failure; outages are reported by the
  // commands that fail and by the readiness probes instead.
  connection.on("error", () => {});
  return connection;
}

/** What went wrong, in words, with what to set; the password never appears in it. */
export function explainConnectionFailure(target: RealRedisTarget & Partial<Pick<RedisTarget, "origin">>, error: unknown): RuntimeError {
  const where = `${target.host}:${target.port}`;
  const raw = redactSecrets(errorMessage(error), [target.password]);
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const from = target.origin?.host ?? target.origin?.url;
  const setWhat = `set LLMCTL_REDIS_URL (or LLMCTL_REDIS_HOST and LLMCTL_REDIS_PORT)${from && from !== "default" ? `; the address came from ${from}` : ""}`;
  if (/WRONGPASS|invalid password|invalid username-password/i.test(raw)) {
    return new RuntimeError(`Redis at ${where} rejected the credentials (${raw})`, "set LLMCTL_REDIS_PASSWORD (and redis.username for an ACL user) to the right values", error);
  }
  if (/NOAUTH|Authentication required/i.test(raw)) {
    return new RuntimeError(`Redis at ${where} requires a password (${raw})`, "set LLMCTL_REDIS_PASSWORD or redis.password_file", error);
  }
  const timedOut = code === "ETIMEDOUT" || /timed? ?out/i.test(raw);
  if (/ssl|tls|certificate|wrong version number|EPROTO|handshake/i.test(`${raw} ${code}`) || (timedOut && target.tls)) {
    return new RuntimeError(
      `TLS with Redis at ${where} failed (${raw})`,
      target.tls ? "use redis:// if the server does not speak TLS, or fix its certificate" : "use rediss:// if the server requires TLS",
      error,
    );
  }
  if (/Unknown RESP type|Protocol error/i.test(raw)) {
    return new RuntimeError(`something at ${where} answered, but it is not Redis (${raw})`, `check the port, or ${setWhat}`, error);
  }
  if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(raw)) {
    return new RuntimeError(`cannot reach Redis at ${where}: connection refused (ECONNREFUSED)`, `start Redis there, or ${setWhat}`, error);
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || /ENOTFOUND|EAI_AGAIN/.test(raw)) {
    return new RuntimeError(`cannot reach Redis at ${where}: host "${target.host}" not found (${code || "ENOTFOUND"})`, setWhat, error);
  }
  if (timedOut) {
    return new RuntimeError(`cannot reach Redis at ${where}: no answer within ${target.connectTimeoutMs} ms (ETIMEDOUT)`, `check the address and any firewall, or ${setWhat}`, error);
  }
  return new RuntimeError(`cannot connect to Redis at ${where}: ${raw}`, setWhat, error);
}

/**
 * Connects and waits until the server answers, for at most `timeoutMs`. The returned client
 * keeps reconnecting on its own afterwards; before the first success a failure is final.
 */
export async function connectOrExplain(target: RealRedisTarget & Partial<Pick<RedisTarget, "origin">>, options: ConnectionOptions, timeoutMs = target.connectTimeoutMs): Promise<Redis> {
  const client = new Redis({ ...redisOptions(target, options), retryStrategy: () => null, connectTimeout: timeoutMs });
  let lastError: unknown;
  const onError = (error: unknown) => {
    lastError = error;
  };
  client.on("error", onError);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), timeoutMs);
      }),
    ]);
  } catch (error) {
    // The listener stays: a late socket error after disconnect must not become an unhandled event.
    client.disconnect();
    throw explainConnectionFailure(target, lastError ?? error);
  } finally {
    clearTimeout(timer);
  }
  client.off("error", onError);
  // From here on, behave like every other long-lived connection: reconnect with backoff.
  client.options.retryStrategy = reconnectDelay;
  return client;
}
