import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { connectOrExplain, createRealConnection } from "../../src/broker/connections.ts";
import { parseRedisUrl, type RealRedisTarget } from "../../src/config/redis-target.ts";
import { RuntimeError } from "../../src/util/errors.ts";
import { freePort, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

// Real servers and processes: five seconds (the default) is too short on a loaded machine.
setDefaultTimeout(30_000);

let open: RedisServer;
let guarded: RedisServer;

beforeAll(async () => {
  [open, guarded] = await Promise.all([startRedisServer(), startRedisServer({ password: "s3cret-pass" })]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), guarded?.stop()]);
});

function target(url: string, timeoutMs = 2000): RealRedisTarget {
  const parsed = parseRedisUrl(url, "test");
  if (parsed.kind !== "redis") throw new Error("not a real target");
  return { ...parsed, connectTimeoutMs: timeoutMs };
}

async function failure(promise: Promise<unknown>): Promise<RuntimeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof RuntimeError) return error;
    throw error;
  }
  throw new Error("expected a connection failure");
}

describe("Redis connections", () => {
  it("connects, selects the database and names the client", async () => {
    const client = await connectOrExplain(target(`redis://127.0.0.1:${open.port}/3`), { purpose: "command", name: "llmctl-test" });
    try {
      await client.set("k", "v");
      expect(await client.call("CLIENT", "GETNAME")).toBe("llmctl-test");
      expect((await client.call("CLIENT", "INFO")) as string).toContain("db=3");
    } finally {
      client.disconnect();
    }
  });

  it("gives blocking connections maxRetriesPerRequest: null, as BullMQ workers require", () => {
    const client = createRealConnection(target(open.url), { purpose: "blocking" });
    expect(client.options.maxRetriesPerRequest).toBeNull();
    expect(client.options.lazyConnect).toBe(true);
    client.disconnect();
  });

  it("says connection refused, with host:port and what to set, within the timeout", async () => {
    const port = await freePort();
    const started = Date.now();
    const error = await failure(connectOrExplain(target(`redis://127.0.0.1:${port}/0`), { purpose: "command" }));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error.message).toBe(`cannot reach Redis at 127.0.0.1:${port}: connection refused (ECONNREFUSED)`);
    expect(error.hint).toContain("LLMCTL_REDIS_URL");
    expect(error.exitCode).toBe(1);
  });

  it("says the credentials were rejected without printing the password", async () => {
    const error = await failure(connectOrExplain(target(`redis://:wrong-pass@127.0.0.1:${guarded.port}/0`), { purpose: "command" }));
    expect(error.message).toContain(`Redis at 127.0.0.1:${guarded.port} rejected the credentials`);
    expect(error.message).not.toContain("wrong-pass");
    expect(error.hint).toContain("LLMCTL_REDIS_PASSWORD");
  });

  it("says a password is required when none is given", async () => {
    const error = await failure(connectOrExplain(target(`redis://127.0.0.1:${guarded.port}/0`), { purpose: "command" }));
    expect(error.message).toContain("requires a password");
  });

  it("authenticates with the right password", async () => {
    const client = await connectOrExplain(target(`redis://:s3cret-pass@127.0.0.1:${guarded.port}/0`), { purpose: "command" });
    expect(await client.ping()).toBe("PONG");
    client.disconnect();
  });

  it("says TLS failed when rediss:// meets a plain server", async () => {
    const error = await failure(connectOrExplain(target(`rediss://127.0.0.1:${open.port}/0`), { purpose: "command" }));
    expect(error.message).toMatch(/^TLS with Redis at 127\.0\.0\.1:\d+ failed/);
    expect(error.message).not.toContain("servername");
  });

  it("gives up on an unroutable address within the bounded time", async () => {
    const started = Date.now();
    const error = await failure(connectOrExplain(target("redis://10.255.255.1:6379/0", 500), { purpose: "command" }));
    expect(Date.now() - started).toBeLessThan(2500);
    expect(error.message).toMatch(/no answer within 500 ms|ECONNREFUSED|not found|is not Redis|cannot/);
  });
});
