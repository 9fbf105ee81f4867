import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { readFileSync } from "node:fs";
import { Redis } from "ioredis";
import { runDoctor, type DoctorCheck, type DoctorReport } from "../../src/broker/doctor.ts";
import { loadConfig } from "../../src/config/load.ts";
import { runQueueSelfTest } from "../../src/embedded/self-test.ts";
import { tempDir } from "../helpers/files.ts";
import { freePort, rawCommand, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(30_000);

let server: RedisServer;
const files = tempDir("llmctl-doctor-");

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
  files.cleanup();
});

function doctorWith(redisUrl: string, configPath?: string): Promise<DoctorReport> {
  return runDoctor({ loadConfig: () => loadConfig({ configPath, redisUrl, env: {} }), redisTimeoutMs: 2_000 });
}

function check(report: DoctorReport, name: string): DoctorCheck {
  const found = report.checks.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no check named ${name}: ${report.checks.map((c) => c.name).join(", ")}`);
  return found;
}

function configSet(settings: Record<string, string>): Promise<string> {
  return rawCommand(server.port, Object.entries(settings).map(([name, value]) => ["CONFIG", "SET", name, value]));
}

const SELF_TEST_PARTS = ["return values", "retry then fail", "delayed job", "job scheduler", "queue events"];

describe("llmctl doctor against a real Redis", () => {
  it("passes a server with noeviction and warns that it keeps nothing on disk", async () => {
    const report = await doctorWith(server.url);
    expect(report.ok).toBe(true);
    expect(check(report, "config").status).toBe("pass");
    expect(check(report, "redis reachable").status).toBe("pass");
    expect(check(report, "redis version").detail).toMatch(/^\d+\.\d+\.\d+/);
    expect(check(report, "maxmemory-policy").status).toBe("pass");
    const persistence = check(report, "persistence");
    expect(persistence.status).toBe("warn");
    expect(persistence.detail).toContain("a Redis restart loses every queued");
    expect(persistence.fix).toContain("appendonly yes");
    for (const part of SELF_TEST_PARTS) expect(check(report, `embedded self-test: ${part}`).status).toBe("pass");
  });

  it("fails an evicting server and says how to fix it; sees AOF and RDB settings", async () => {
    await configSet({ "maxmemory-policy": "allkeys-lru", save: "900 1" });
    try {
      const evicting = await doctorWith(server.url);
      expect(evicting.ok).toBe(false);
      const policy = check(evicting, "maxmemory-policy");
      expect(policy.status).toBe("fail");
      expect(policy.detail).toContain("allkeys-lru");
      expect(policy.fix).toContain("CONFIG SET maxmemory-policy noeviction");
      expect(check(evicting, "persistence").detail).toContain('RDB snapshots only (save "900 1")');

      await configSet({ appendonly: "yes" });
      const withAof = await doctorWith(server.url);
      expect(check(withAof, "persistence").status).toBe("pass");
    } finally {
      await configSet({ "maxmemory-policy": "noeviction", save: "", appendonly: "no" });
    }
  });

  it("reports an unreachable server with the fix, skips its settings, and still runs the self-test", async () => {
    const port = await freePort();
    const report = await doctorWith(`redis://127.0.0.1:${port}/0`);
    expect(report.ok).toBe(false);
    const reachable = check(report, "redis reachable");
    expect(reachable.status).toBe("fail");
    expect(reachable.detail).toContain("ECONNREFUSED");
    expect(reachable.fix).toContain("LLMCTL_REDIS_URL");
    expect(check(report, "redis settings").status).toBe("skip");
    expect(check(report, "embedded self-test: queue events").status).toBe("pass");
  });

  it("fails an invalid config with file:line:col and checks no Redis", async () => {
    const path = files.file("bad.yaml", "prefix: t\nqueus: [a]\n");
    const report = await doctorWith(server.url, path);
    expect(report.ok).toBe(false);
    const config = check(report, "config");
    expect(config.status).toBe("fail");
    expect(config.detail).toContain(`${path}:2:1`);
    expect(config.detail).toContain('did you mean "queues"');
    expect(check(report, "redis").status).toBe("skip");
  });
});

describe("llmctl doctor with the embedded store", () => {
  it("accepts a snapshot path that does not exist yet", async () => {
    const report = await doctorWith(`embedded://${files.dir}/state/store.json`);
    expect(report.ok).toBe(true);
    expect(check(report, "snapshot").detail).toContain("does not exist yet");
  });

  it("fails a corrupt snapshot with the store's hint and leaves the file as it was", async () => {
    const path = files.file("corrupt.json", "{ not json");
    const report = await doctorWith(`embedded://${path}`);
    expect(report.ok).toBe(false);
    const snapshot = check(report, "snapshot");
    expect(snapshot.status).toBe("fail");
    expect(snapshot.detail).toContain("cannot be loaded");
    expect(snapshot.fix).toContain(`mv ${path}`);
    expect(readFileSync(path, "utf8")).toBe("{ not json");
  });
});

describe("the queue self-test", () => {
  it("passes on a real redis-server too (the scenario is the same on both backends)", async () => {
    const results = await runQueueSelfTest((name) => new Redis(server.port, "127.0.0.1", { connectionName: name, maxRetriesPerRequest: null }), {
      prefix: `self-test-${Date.now()}`,
    });
    expect(results.map((result) => [result.name, result.ok])).toEqual(expect.arrayContaining(SELF_TEST_PARTS.map((part) => [part, true])));
  });

  it("reports a failure, not a hang, when the store does not answer", async () => {
    const port = await freePort();
    const started = Date.now();
    const results = await runQueueSelfTest(
      (name) => new Redis(port, "127.0.0.1", { connectionName: name, maxRetriesPerRequest: null, retryStrategy: () => 200 }),
      { timeoutMs: 1_000 },
    );
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(results.some((result) => !result.ok)).toBe(true);
    expect(results.find((result) => !result.ok)?.detail).toContain("did not happen within 1000 ms");
  });
});
