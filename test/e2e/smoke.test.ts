/**
 * `dist/llmctl smoke` as shipped. --local needs no Redis at all (a Redis URL that points at a
 * closed port proves none is used); against a private redis-server with two `dist/llmctl
 * worker` processes, a `dist/llmctl beat` and a `dist/llmctl studio` it passes, and fails with a
 * clear reason when a queue has no worker or no beat runs.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { ensureBinary, llmctl } from "../helpers/cli.ts";
import { tempDir } from "../helpers/files.ts";
import { startRole, type RoleProcess } from "../helpers/processes.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(60_000);

const QUEUES = ["llmctl_studio", "llmctl_studio.rag.index", "llmctl_studio.rag.git"];
const files = tempDir();
const configPath = files.file(
  "llmctl.yaml",
  `prefix: e2e_smoke
queues: [${QUEUES.join(", ")}]
worker: { heartbeat: 500ms, grace: 2s }
beat: { lease_ttl: 2s, heartbeat: 500ms }
schedules:
  tick: { cron: "*/2 * * * * *", task: llmctl.ping, targets: [llmctl_studio], overlap: skip }
  nightly: { cron: "0 3 * * *", task: llmctl.ping }
`,
);

interface SmokeJson {
  ok: boolean;
  mode: string;
  duration_ms: number;
  summary: { passed: number; failed: number; skipped: number };
  checks: Array<{ name: string; status: "pass" | "fail" | "skip"; detail: string; ms: number }>;
}

function parseReport(stdout: string): SmokeJson {
  return JSON.parse(stdout) as SmokeJson;
}

/** Fails with the report in the message, so a failing check says which and why. */
function expectExit(result: { code: number; stdout: string; stderr: string }, code: number): void {
  if (result.code !== code) throw new Error(`exit ${result.code}, expected ${code}:\n${result.stdout}\n${result.stderr}`);
}

function check(report: SmokeJson, name: string) {
  const found = report.checks.find((entry) => entry.name === name);
  if (!found) throw new Error(`no check "${name}" in: ${report.checks.map((entry) => entry.name).join(", ")}`);
  return found;
}

beforeAll(() => {
  ensureBinary();
});
afterAll(() => files.cleanup());

describe("dist/llmctl smoke --local", () => {
  it("passes in one process with no Redis server, one line per check and a summary", async () => {
    const started = performance.now();
    const result = await llmctl(["smoke", "--local"], { env: { LLMCTL_CONFIG: configPath, LLMCTL_REDIS_URL: "redis://127.0.0.1:1/0" } });
    const wallMs = performance.now() - started;
    expectExit(result, 0);
    expect(result.stderr).toBe("");
    const lines = result.stdout.split("\n");
    for (const queue of QUEUES) expect(lines.some((line) => line.startsWith("PASS  ping on " + queue))).toBe(true);
    for (const name of ["beat dispatches schedule llmctl.smoke", "revoke a running job", "schedule pause, trigger, resume via the API", "GET /api/v1/events", "GET /api/v1/jobs/{id}", "GET /metrics"]) {
      expect(lines.some((line) => line.startsWith(`PASS  ${name}`))).toBe(true);
    }
    expect(lines.filter((line) => /^(FAIL|SKIP) /.test(line))).toEqual([]);
    expect(result.stdout).toMatch(/\nsmoke passed: \d+ checks, \d+ passed, 0 failed in \d+\.\d s\n$/);
    // A generous bound for a loaded test machine; docs/benchmarks.md has the measured figure.
    expect(wallMs).toBeLessThan(15_000);
  });

  it("reports as JSON", async () => {
    const result = await llmctl(["smoke", "--local", "--json"], { env: { LLMCTL_CONFIG: configPath } });
    expectExit(result, 0);
    const report = parseReport(result.stdout);
    expect(report).toMatchObject({ ok: true, mode: "local", summary: { failed: 0, skipped: 0 } });
    expect(report.checks.length).toBe(report.summary.passed);
    expect(check(report, "worker consumes every queue").detail).toBe("3 queues, 2 slots");
  });

  it("refuses bad flags with exit 2", async () => {
    for (const [flags, message] of [
      [["--timeout", "soon"], '--timeout: "soon" is not a duration'],
      [["--timeout", "0s"], "--timeout must be longer than 0"],
      [["--local", "--studio", "http://x:8080"], "--studio checks a deployed studio; --local starts its own"],
      [["--studio", "ftp://x"], '--studio: "ftp://x" is not an http(s) URL'],
      [["--locl"], "--locl"],
    ] as const) {
      const result = await llmctl(["smoke", ...flags], { env: { LLMCTL_CONFIG: configPath } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(message);
    }
    const embedded = await llmctl(["smoke"], { env: { LLMCTL_CONFIG: configPath, LLMCTL_REDIS_URL: "embedded" } });
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toContain("or run llmctl smoke --local");
  });
});

describe("dist/llmctl smoke against a live deployment", () => {
  let redis: RedisServer;
  let env: Record<string, string>;
  const roles: RoleProcess[] = [];
  let beat: RoleProcess;
  let studioUrl: string;

  function start(args: string[]): RoleProcess {
    const role = startRole(args, env);
    roles.push(role);
    return role;
  }

  beforeAll(async () => {
    redis = await startRedisServer();
    env = { LLMCTL_REDIS_URL: redis.url, LLMCTL_CONFIG: configPath, LLMCTL_STUDIO_TOKEN: "smoke-e2e-token" };
    const workers = [start(["worker", "--concurrency", "2"]), start(["worker", "--concurrency", "2"])];
    beat = start(["beat"]);
    const studio = start(["studio", "--port", "0"]);
    // The first dispatch of tick, so that "recent" has a dispatch to report.
    await Promise.all([...workers.map((worker) => worker.waitForLog("worker started")), beat.waitForLog("dispatched")]);
    studioUrl = String((await studio.waitForLog("studio started")).url);
  }, 60_000);
  afterAll(async () => {
    await Promise.all(roles.map((role) => role.stop()));
    await redis?.stop();
  });

  it("passes with two workers, a beat and a studio", async () => {
    const result = await llmctl(["smoke", "--studio", studioUrl, "--timeout", "10s"], { env });
    expectExit(result, 0);
    expect(result.stderr).toBe("");
    for (const queue of QUEUES) {
      expect(result.stdout).toMatch(new RegExp(`^PASS  queue ${queue.replace(/\./g, "\\.")} has a worker +2 workers, 4 slots`, "m"));
      expect(result.stdout).toMatch(new RegExp(`^PASS  ping on ${queue.replace(/\./g, "\\.")} +answered by `, "m"));
    }
    expect(result.stdout).toMatch(/^PASS {2}beat: exactly one holds the lease +\S+ \(lease token \d+\)/m);
    expect(result.stdout).toMatch(/^PASS {2}beat: last dispatch is recent +2 schedules up to date .*last dispatch: tick, /m);
    expect(result.stdout).toMatch(/^PASS {2}studio answers \/readyz/m);
    expect(result.stdout).toContain("smoke passed:");
  });

  it("fails, naming the queue, when a queue has no live worker (and the studio when it does not answer)", async () => {
    const config = files.file("more-queues.yaml", `prefix: e2e_smoke\nqueues: [${QUEUES.join(", ")}, llmctl_studio.downloads.huggingface]\nbeat: { lease_ttl: 2s }\n`);
    const result = await llmctl(["smoke", "--json", "--timeout", "5s", "--studio", "http://127.0.0.1:1/"], { env: { ...env, LLMCTL_CONFIG: config } });
    expect(result.code).toBe(1);
    const report = parseReport(result.stdout);
    expect(report.ok).toBe(false);
    expect(check(report, "queue llmctl_studio.downloads.huggingface has a worker")).toMatchObject({ status: "fail", detail: "queue llmctl_studio.downloads.huggingface: no live worker consumes it" });
    expect(check(report, "ping on llmctl_studio.downloads.huggingface")).toMatchObject({ status: "skip", detail: "no live worker consumes the queue, so nothing would answer" });
    expect(check(report, "ping on llmctl_studio").status).toBe("pass");
    expect(check(report, "studio answers /readyz")).toMatchObject({ status: "fail", detail: expect.stringContaining("GET http://127.0.0.1:1/readyz got no answer") });
    expect(report.summary.failed).toBe(2);
  });

  it("fails with a clear reason when no beat is running", async () => {
    beat.signal("SIGTERM");
    expect(await beat.exited).toBe(0);
    const result = await llmctl(["smoke", "--timeout", "5s"], { env });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL {2}beat: exactly one holds the lease +no beat holds the lease: schedules are not being dispatched; start one with: llmctl beat/m);
    expect(result.stdout).toMatch(/^SKIP {2}beat: last dispatch is recent +no single active beat to check/m);
    expect(result.stdout).toMatch(/^PASS {2}ping on llmctl_studio /m);
    expect(result.stdout).toContain("smoke FAILED:");
  });

  it("fails, naming the server, when Redis cannot be reached", async () => {
    const result = await llmctl(["smoke", "--json"], { env: { ...env, LLMCTL_REDIS_URL: "redis://127.0.0.1:1/0" } });
    expect(result.code).toBe(1);
    const report = parseReport(result.stdout);
    expect(check(report, "redis reachable")).toMatchObject({ status: "fail" });
    expect(check(report, "redis reachable").detail).toContain("127.0.0.1:1");
    expect(check(report, "ping on llmctl_studio")).toMatchObject({ status: "skip", detail: "Redis is not reachable" });
  });
});
