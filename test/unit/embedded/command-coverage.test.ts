/**
 * Guard: every Redis command BullMQ's installed Lua scripts and TS clients call must exist in
 * the embedded store, so a BullMQ upgrade that starts using a new command fails here instead
 * of in production. The Lua side is scanned; the client side is a reviewed list (its calls
 * cannot be found reliably by grepping the compiled JS).
 */
import { describe, expect, it } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import RedisMock from "ioredis-mock";
import { embeddedCommands } from "../../../src/embedded/commands.ts";
import { openEmbeddedStore } from "../../../src/embedded/index.ts";

const commandsDir = join(dirname(require.resolve("bullmq/package.json")), "dist/esm/commands");

function luaFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? luaFiles(join(dir, entry.name)) : entry.name.endsWith(".lua") ? [join(dir, entry.name)] : []);
}

/** `rcall("ZADD", …)`, `redis.call('get', …)`, `redis.pcall(...)`, across line breaks. */
export function commandsInLua(source: string): string[] {
  return [...source.matchAll(/\b(?:rcall|redis\.p?call)\(\s*["']([A-Za-z]+)["']/g)].map((match) => match[1]!.toUpperCase());
}

/**
 * Reviewed from bullmq/dist/esm/classes (ioredis-client.js, queue-getters.js, queue-events.js,
 * worker.js, redis-connection.js, job-scheduler.js) for bullmq 6.7.0: the commands sent
 * directly, outside scripts. Re-check this list when upgrading BullMQ.
 */
const CLIENT_COMMANDS = [
  "BZPOPMIN", "CLIENT", "DEL", "EVALSHA", "EXISTS", "GET", "HDEL", "HEXISTS", "HGET", "HGETALL", "HMGET", "HSCAN", "HSET",
  "INFO", "LLEN", "LPOS", "LRANGE", "LTRIM", "SCAN", "SCRIPT", "SET", "SMEMBERS", "SSCAN", "XADD", "XREAD", "XTRIM",
  "ZCARD", "ZRANGE", "ZREVRANGE", "ZSCORE", "MULTI", "EXEC",
];

const BLOCKING = new Set(["BZPOPMIN", "XREAD"]);

function supported(command: string): boolean {
  const name = command.toLowerCase();
  return name in embeddedCommands || name in RedisMock.commands || BLOCKING.has(command) || name === "multi" || name === "exec";
}

describe("embedded store command coverage", () => {
  const files = luaFiles(commandsDir);
  const luaCommands = new Set(files.flatMap((file) => commandsInLua(readFileSync(file, "utf8"))));

  it("finds BullMQ's scripts and the commands they call", () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files.some((file) => file.includes(`${"/"}includes${"/"}`))).toBe(true);
    for (const known of ["ZADD", "HSET", "XADD", "LPUSH", "RPOPLPUSH"]) expect(luaCommands).toContain(known);
  });

  it("supports every command BullMQ's Lua scripts call", () => {
    expect([...luaCommands].filter((command) => !supported(command)).sort()).toEqual([]);
  });

  it("supports every command BullMQ's clients call directly", () => {
    expect(CLIENT_COMMANDS.filter((command) => !supported(command)).sort()).toEqual([]);
  });

  it("lets scripts call each command the scripts use (no 'unknown command')", async () => {
    const store = await openEmbeddedStore();
    const redis = store.connect();
    const unknown: string[] = [];
    for (const command of luaCommands) {
      const reply = await redis.eval(`local r = redis.pcall('${command}') if type(r) == 'table' and r.err then return r.err end return ''`, 0);
      if (/unknown command/i.test(String(reply))) unknown.push(command);
    }
    await store.close();
    expect(unknown).toEqual([]);
  });
});
