import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { Redis } from "ioredis";
import { RedisReplyError, RenewalConnection, encodeCommand, parseReply, type RenewalTarget } from "../../src/worker/renewal-connection.ts";
import { freePort, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

const PASSWORD = "s3cret:pass word";
let plain: RedisServer;
let guarded: RedisServer;

beforeAll(async () => {
  [plain, guarded] = await Promise.all([startRedisServer(), startRedisServer({ password: PASSWORD })]);
});
afterAll(async () => {
  await Promise.all([plain.stop(), guarded.stop()]);
});

const target = (port: number, extra: Partial<RenewalTarget> = {}): RenewalTarget => ({ host: "127.0.0.1", port, db: 0, tls: false, connectTimeoutMs: 2000, ...extra });

describe("RESP encoding and parsing", () => {
  it("encodes arguments by byte length", () => {
    expect(encodeCommand(["SET", "k", "é"]).toString()).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\né\r\n");
  });

  it("waits for a reply that has not fully arrived, and parses every kind the thread can meet", () => {
    const whole = Buffer.from("*3\r\n:1\r\n$5\r\nhello\r\n*2\r\n$-1\r\n+OK\r\n-ERR boom\r\n");
    for (let cut = 0; cut < 33; cut++) expect(parseReply(whole.subarray(0, cut), 0)).toBeUndefined();
    const array = parseReply(whole, 0)!;
    expect(array.value).toEqual([1, "hello", [null, "OK"]]);
    const error = parseReply(whole, array.end)!;
    expect(error.value).toBeInstanceOf(RedisReplyError);
    expect((error.value as Error).message).toBe("ERR boom");
    expect(error.end).toBe(whole.length);
  });
});

describe("RenewalConnection against redis-server", () => {
  it("runs scripts, pipelines commands in order, and rejects an error reply without closing", async () => {
    const connection = await RenewalConnection.open(target(plain.port), "test:renewal");
    const replies = await Promise.all([
      connection.send(["EVAL", "return tonumber(ARGV[1]) + 1", "0", "41"]),
      connection.send(["CLIENT", "GETNAME"]),
      connection.send(["PING"]),
    ]);
    expect(replies).toEqual([42, "test:renewal", "PONG"]);
    const noScript = await connection.send(["EVALSHA", "0".repeat(40), "0"]).catch((error: unknown) => error);
    expect(noScript).toBeInstanceOf(RedisReplyError);
    expect(String(noScript)).toContain("NOSCRIPT");
    expect(await connection.send(["PING"])).toBe("PONG");
    connection.close();
    expect(connection.closed).toBe(true);
    await expect(connection.send(["PING"])).rejects.toThrow("connection closed");
  });

  it("authenticates and selects the database", async () => {
    const connection = await RenewalConnection.open(target(guarded.port, { password: PASSWORD, db: 3 }), "test:renewal");
    await connection.send(["SET", "renewal-db-check", "here"]);
    connection.close();
    const reader = new Redis({ port: guarded.port, host: "127.0.0.1", password: PASSWORD, db: 3, lazyConnect: true });
    await reader.connect();
    expect(await reader.get("renewal-db-check")).toBe("here");
    reader.disconnect();
  });

  it("refuses a wrong password with Redis' own message", async () => {
    const refused = await RenewalConnection.open(target(guarded.port, { password: "wrong" }), "test:renewal").catch((error: unknown) => error);
    expect(String(refused)).toMatch(/WRONGPASS|invalid password/);
  });

  it("fails at once on a closed port, and within the connect timeout on a server that never answers", async () => {
    const closedPort = await freePort();
    const refusedAt = Date.now();
    await expect(RenewalConnection.open(target(closedPort), "test:renewal")).rejects.toThrow();
    expect(Date.now() - refusedAt).toBeLessThan(1000);

    const silent = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const startedAt = Date.now();
    const failure = await RenewalConnection.open(target(silent.port, { connectTimeoutMs: 300 }), "test:renewal").catch((error: unknown) => error);
    const waited = Date.now() - startedAt;
    silent.stop(true);
    expect(String(failure)).toContain("within 300 ms");
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(2000);
  });

  it("reports a connection Redis drops, and fails commands sent on it", async () => {
    const connection = await RenewalConnection.open(target(plain.port), "test:renewal-killed");
    const closed = new Promise<Error>((resolve) => (connection.onclose = resolve));
    const admin = new Redis({ port: plain.port, host: "127.0.0.1", lazyConnect: true });
    await admin.connect();
    expect(Number(await admin.call("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))).toBeGreaterThanOrEqual(1);
    admin.disconnect();
    expect(await closed).toBeInstanceOf(Error);
    expect(connection.closed).toBe(true);
    await expect(connection.send(["PING"])).rejects.toThrow();
  });
});
