import { describe, expect, it } from "bun:test";
import { formatRedisUrl, parseRedisUrl, type RealRedisTarget } from "../../../src/config/redis-target.ts";

describe("formatRedisUrl (the lock-renewal thread's Bun client is configured by URL)", () => {
  it("parses back to the same target: credentials with reserved characters, TLS, IPv6, database", () => {
    const targets: RealRedisTarget[] = [
      { kind: "redis", host: "localhost", port: 6379, db: 0, tls: false, connectTimeoutMs: 10_000 },
      { kind: "redis", host: "redis.internal", port: 6380, db: 7, username: "app", password: "p@ss:w/rd#1", tls: true, connectTimeoutMs: 10_000 },
      { kind: "redis", host: "10.0.0.5", port: 6379, db: 2, password: "only-a-password", tls: false, connectTimeoutMs: 10_000 },
      { kind: "redis", host: "::1", port: 7000, db: 0, username: "acl-user", tls: false, connectTimeoutMs: 10_000 },
    ];
    for (const target of targets) expect(parseRedisUrl(formatRedisUrl(target), "test")).toEqual(target);
  });
});
