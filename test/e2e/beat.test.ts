/**
 * Beat as deployed: dist/llmctl beat processes against a private redis-server. Two beats, the
 * active one killed with SIGKILL: the standby takes over within the lease TTL and every fire time
 * is dispatched exactly once per target. Dry-run across DST changes; bad input refused with
 * exit 2; workflows from `llmctl task --steps`.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { readPayload } from "../../src/broker/payload.ts";
import { STANDBY_POLL_MS } from "../../src/beat/leadership.ts";
import { ensureBinary, llmctl } from "../helpers/cli.ts";
import { loadedConfig } from "../helpers/config.ts";
import { tempDir, yaml } from "../helpers/files.ts";
import { startRole, type RoleProcess } from "../helpers/processes.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(30_000);

const LEASE_TTL_MS = 3000;
const CONFIG = yaml`
  prefix: e2eb
  queues: [llmctl_studio]
  workers:
    web: { hostnames: [web01, web02], queue: web_q }
  beat: { lease_ttl: 3s, heartbeat: 1s }
  schedules:
    tick: { cron: "* * * * * *", task: llmctl.ping, targets: [web], catchup: all }
    other: { cron: "* * * * * *", task: llmctl.ping }
    berlin: { cron: "30 2 * * *", timezone: Europe/Berlin, task: llmctl.ping }
    new_york: { cron: "30 2 * * *", timezone: America/New_York, task: llmctl.ping }
    new_york_fall: { cron: "30 1 * * *", timezone: America/New_York, task: llmctl.ping }
`;

const files = tempDir();
const configPath = files.file("llmctl.yaml", CONFIG);
let redis: RedisServer;
let broker: Broker;
const roles: RoleProcess[] = [];

function env(): Record<string, string> {
  return { LLMCTL_REDIS_URL: redis.url, LLMCTL_CONFIG: configPath };
}

function startBeat(): RoleProcess {
  const beat = startRole(["beat"], env());
  roles.push(beat);
  return beat;
}

/** Fire times (ms) of the cron's jobs in a queue, sorted; triggered jobs left out. */
async function cronFireTimes(queue: string): Promise<number[]> {
  const jobs = await broker.queue(queue).getJobs(["waiting"], 0, -1);
  return jobs
    .filter((job) => !job.id!.includes(".trigger."))
    .map((job) => Date.parse(readPayload(job.data).meta.fire_time!))
    .sort((a, b) => a - b);
}

beforeAll(async () => {
  ensureBinary();
  redis = await startRedisServer();
  broker = await openBroker(loadedConfig(CONFIG, redis.url), "e2e-test");
}, 120_000);
afterEach(async () => {
  await Promise.all(roles.splice(0).map((role) => role.stop()));
  await broker.connection.flushdb();
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
  files.cleanup();
});

describe("llmctl beat (compiled binary, real Redis)", () => {
  it(
    "two beats: SIGKILL of the active one hands over within the lease TTL, each fire time once per target; pause, resume and trigger from the CLI",
    async () => {
      const a = startBeat();
      await a.waitForLog("became active: holding the lease");
      const b = startBeat();
      const bStarted = await b.waitForLog("beat started");
      await b.waitForLog("standing by: another beat holds the lease");
      const startedAt = Date.now();
      await Bun.sleep(14_000);

      const killedAt = Date.now();
      a.signal("SIGKILL");
      expect(await a.exited).toBe(137);
      const takeover = await b.waitForLog("became active: holding the lease", LEASE_TTL_MS + 5000);
      const handoverMs = (takeover.time as number) - killedAt;
      expect(handoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + STANDBY_POLL_MS + 500);

      const list = await llmctl(["schedule", "list", "--json"], { env: env() });
      expect(list.code).toBe(0);
      const listed = JSON.parse(list.stdout) as { lease: { holder: string }; beats: Array<{ id: string; role: string }>; schedules: Array<{ name: string }> };
      expect(listed.lease.holder).toBe(bStarted.beat as string);
      expect(listed.beats.map((beat) => [beat.id, beat.role])).toContainEqual([bStarted.beat as string, "active"]);
      expect(listed.schedules.map((schedule) => schedule.name)).toEqual(["tick", "other", "berlin", "new_york", "new_york_fall"]);

      // Pause and resume another schedule meanwhile; a trigger runs at once.
      expect((await llmctl(["schedule", "pause", "other"], { env: env() })).code).toBe(0);
      await b.waitForLog(/skipped a fire time/, 5000);
      const resumed = await llmctl(["schedule", "resume", "other"], { env: env() });
      expect(resumed.stdout).toContain("resumed other");
      const triggered = await llmctl(["schedule", "trigger", "tick", "--json"], { env: env() });
      expect(triggered.code).toBe(0);
      expect((JSON.parse(triggered.stdout) as { jobs: Array<{ hostname: string }> }).jobs.map((job) => job.hostname)).toEqual(["web01", "web02"]);
      const status = await llmctl(["task", "status"], { env: env() });
      expect(status.stdout).toContain("SCHEDULES");
      expect(status.stdout).toContain(`active beat: ${bStarted.beat as string}`);

      await Bun.sleep(Math.max(0, 32_000 - (Date.now() - startedAt)));
      b.signal("SIGTERM");
      expect(await b.exited).toBe(0);

      const [web01, web02] = await Promise.all([cronFireTimes("web_q.web01"), cronFireTimes("web_q.web02")]);
      expect(web01.length).toBeGreaterThanOrEqual(30);
      expect(new Set(web01).size).toBe(web01.length);
      const expected = [];
      for (let time = web01[0]!; time <= web01.at(-1)!; time += 1000) expected.push(time);
      expect(web01).toEqual(expected);
      expect(web02).toEqual(web01);
    },
    75_000,
  );

  it("--dry-run shows fire times across the DST changes of Berlin and New York, and what Redis says", async () => {
    const run = async (from: string, count = 3) => {
      const result = await llmctl(["beat", "--dry-run", "--json", "--count", String(count), "--from", from], { env: env() });
      expect(result.code).toBe(0);
      return JSON.parse(result.stdout) as { redis: { read: boolean }; schedules: Array<{ name: string; next: Array<{ local: string; utc: string }>; redis: string[] }> };
    };
    const local = (report: Awaited<ReturnType<typeof run>>, name: string) => report.schedules.find((schedule) => schedule.name === name)!.next.map((next) => next.local);

    const spring = await run("2027-03-27T00:00:00Z");
    expect(spring.redis.read).toBe(true);
    expect(local(spring, "berlin")).toEqual(["2027-03-27 02:30:00 +01:00", "2027-03-28 03:30:00 +02:00", "2027-03-29 02:30:00 +02:00"]);
    expect(spring.schedules.find((schedule) => schedule.name === "berlin")!.redis).toEqual(["new: no state in Redis yet; it runs from its next fire time, nothing is caught up"]);
    const autumn = await run("2027-10-30T00:00:00Z");
    expect(local(autumn, "berlin")).toEqual(["2027-10-30 02:30:00 +02:00", "2027-10-31 02:30:00 +02:00", "2027-11-01 02:30:00 +01:00"]);
    const newYorkSpring = await run("2027-03-13T12:00:00Z", 2);
    expect(local(newYorkSpring, "new_york")).toEqual(["2027-03-14 03:30:00 -04:00", "2027-03-15 02:30:00 -04:00"]);
    const newYorkFall = await run("2027-11-06T12:00:00Z", 2);
    expect(local(newYorkFall, "new_york_fall")).toEqual(["2027-11-07 01:30:00 -04:00", "2027-11-08 01:30:00 -05:00"]);

    const text = await llmctl(["beat", "--dry-run", "--count", "2", "--from", "2027-03-27T00:00:00Z"], { env: env() });
    expect(text.stdout).toContain("2027-03-28 03:30:00 +02:00   2027-03-28T01:30:00.000Z");
    expect(text.stdout).toContain("llmctl.ping → web01 → web_q.web01, web02 → web_q.web02");
    expect(text.stdout).toContain("no beat holds the lease");
    expect(await broker.connection.keys("e2eb:*")).toEqual([]);

    const offline = await llmctl(["beat", "--dry-run", "--count", "1"], { env: { ...env(), LLMCTL_REDIS_URL: "redis://127.0.0.1:1/0" } });
    expect(offline.code).toBe(0);
    expect(offline.stdout).toContain("Redis not read (cannot reach Redis at 127.0.0.1:1: connection refused");
    expect(offline.stdout).toContain('tick: cron "* * * * * *" in UTC');
  });

  it("refuses bad schedules with exit 2 and file:line:col, dispatching nothing", async () => {
    const cases: Array<[string, string, string]> = [
      ["unknown task", "bad: { cron: \"* * * * * *\", task: llmctl.pnig }", 'schedules.bad.task: unknown task "llmctl.pnig" (did you mean "llmctl.ping"?)'],
      ["unknown target", "bad: { cron: \"* * * * * *\", task: llmctl.ping, targets: [webb] }", 'schedules.bad.targets[0]: target "webb" names no role or queue (did you mean "web"?)'],
      ["invalid cron", "bad: { cron: \"61 * * * *\", task: llmctl.ping }", 'schedules.bad.cron: "61 * * * *" has an invalid minute field'],
      ["invalid time zone", "bad: { cron: \"* * * * *\", timezone: Europe/Berln, task: llmctl.ping }", 'schedules.bad.timezone: "Europe/Berln" is not an IANA time zone (did you mean "Europe/Berlin"?)'],
      ["max_catchup out of range", "bad: { cron: \"* * * * *\", task: llmctl.ping, catchup: all, max_catchup: 100000 }", "schedules.bad.max_catchup:"],
    ];
    for (const [what, schedule, message] of cases) {
      const path = files.file(`bad-${what.replaceAll(" ", "-")}.yaml`, `prefix: e2eb\nqueues: [q1]\nworkers:\n  web: { hostnames: [w1], queue: web_q }\nschedules:\n  ${schedule}\n`);
      for (const args of [["beat"], ["beat", "--dry-run"]]) {
        const result = await llmctl([...args, "-c", path], { env: { LLMCTL_REDIS_URL: redis.url } });
        expect({ what, args, code: result.code }).toEqual({ what, args, code: 2 });
        expect(result.stderr).toContain(`${path}:6:`);
        expect(result.stderr).toContain(message);
      }
    }
    const trigger = await llmctl(["schedule", "trigger", "tik"], { env: env() });
    expect(trigger.code).toBe(2);
    expect(trigger.stderr).toContain('unknown schedule "tik" (did you mean "tick"?)');
    const misuse = await llmctl(["beat", "--count", "3"], { env: env() });
    expect(misuse.code).toBe(2);
    expect(await broker.connection.keys("e2eb:*")).toEqual([]);
  });

  it("runs a workflow from `llmctl task --steps FILE --wait` and points at a bad step's line", async () => {
    const worker = startRole(["worker", "--queues", "all", "--role", "web", "--hostname", "web01"], env());
    roles.push(worker);
    await worker.waitForLog("worker started");
    const steps = files.file("steps.yaml", "- { name: first, task: llmctl.ping }\n- { name: second, task: llmctl.ping, targets: [\"web:any\"] }\n");
    const result = await llmctl(["task", "--steps", steps, "--wait"], { env: env() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/workflow \S+: completed/);
    expect(result.stdout).toMatch(/first\s+llmctl\.ping\s+succeeded\s+llmctl_studio\s+completed/);
    expect(result.stdout).toMatch(/second\s+llmctl\.ping\s+succeeded\s+web:any\s+completed/);

    const bad = files.file("bad-steps.yaml", "- { task: llmctl.ping }\n- { task: llmctl.pnig }\n");
    const refused = await llmctl(["task", "--steps", bad], { env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`${bad}:2:11: steps[1]: unknown task "llmctl.pnig"`);
  });
});
