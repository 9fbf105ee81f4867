import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { llmctl } from "../helpers/cli.ts";
import { freePort } from "../helpers/redis-server.ts";

setDefaultTimeout(30_000);

// No redis-server anywhere on PATH: the embedded store needs nothing installed.
const NOTHING_INSTALLED = { PATH: "/nonexistent" };

describe("dist/llmctl doctor", () => {
  it("passes on the embedded store with no redis-server on the machine", async () => {
    const result = await llmctl(["doctor", "--redis-url", "embedded"], { env: NOTHING_INSTALLED });
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    for (const part of ["return values", "retry then fail", "delayed job", "job scheduler", "queue events"]) {
      expect(result.stdout).toMatch(new RegExp(`^ok\\s+embedded self-test: ${part}: `, "m"));
    }
    expect(result.stdout).toMatch(/^healthy: \d+ ok, 0 warning\(s\), 0 failed$/m);
  });

  it("prints one JSON document with --json", async () => {
    const result = await llmctl(["doctor", "--json"], { env: { ...NOTHING_INSTALLED, LLMCTL_REDIS_URL: "embedded" } });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { ok: boolean; checks: Array<{ name: string; status: string; detail: string }> };
    expect(report.ok).toBe(true);
    expect(report.checks.map((check) => check.name)).toContain("embedded self-test: job scheduler");
    expect(report.checks.every((check) => ["pass", "warn"].includes(check.status))).toBe(true);
  });

  it("exits 1 and says what to fix when Redis cannot be reached", async () => {
    const port = await freePort();
    const result = await llmctl(["doctor"], { env: { LLMCTL_REDIS_URL: `redis://127.0.0.1:${port}/0` } });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`FAIL  redis reachable: cannot reach Redis at 127.0.0.1:${port}: connection refused`);
    expect(result.stdout).toContain("fix: start Redis there, or set LLMCTL_REDIS_URL");
    expect(result.stdout).toMatch(/^not healthy: .*1 failed/m);
  });

  it("rejects an unknown flag with exit 2", async () => {
    const result = await llmctl(["doctor", "--jsn"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown flag --jsn (did you mean "json"?)');
  });
});
