/**
 * Beat against a private redis-server: two beats dispatch each fire time once per target,
 * through a network partition of the active one; catch-up and overlap policies; reload; bad
 * schedules refused before anything is dispatched; the embedded store.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { writeFileSync } from "node:fs";
import { start, type BeatHandle } from "../../src/beat/index.ts";
import { ON_TIME_GRACE_MS } from "../../src/beat/fire-times.ts";
import { STANDBY_POLL_MS } from "../../src/beat/leadership.ts";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { readPayload } from "../../src/broker/payload.ts";
import { ConfigError } from "../../src/config/diagnostics.ts";
import { loadConfig } from "../../src/config/load.ts";
import { waitFor } from "../conformance/harness.ts";
import { loadedConfig } from "../helpers/config.ts";
import { tempDir, yaml } from "../helpers/files.ts";
import { captureLogs, type CapturedLogs } from "../helpers/logs.ts";
import { freePort, startRedisServer, type RedisServer } from "../helpers/redis-server.ts";
import { startTcpProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

setDefaultTimeout(30_000);

const LEASE_TTL_MS = 2000;
const BASE = yaml`
  queues: [q1, qskip, qonce, qall, qoverlap]
  workers:
    web: { hostnames: [w1, w2], queue: web_q }
  beat: { lease_ttl: 2s, heartbeat: 500ms }
`;

let redis: RedisServer;
let broker: Broker;
const beats: BeatHandle[] = [];
const proxies: TcpProxy[] = [];
const files = tempDir();
let prefixCounter = 0;

function config(prefix: string, schedules: string): string {
  return `${BASE}prefix: ${prefix}\n${schedules ? `schedules:\n${schedules.replace(/^/gm, "  ")}\n` : ""}`;
}

async function startBeat(text: string, options: { url?: string; hostname: string; logs?: CapturedLogs; healthPort?: number }): Promise<BeatHandle> {
  const logs = options.logs ?? captureLogs();
  const beat = await start({ loaded: loadedConfig(text, options.url ?? redis.url), logger: logs.logger, hostname: options.hostname, healthPort: options.healthPort });
  beats.push(beat);
  return beat;
}

/** Fire times (ms) of the jobs in `queue`, sorted, as beat recorded them in each job's meta. */
async function fireTimes(prefixBroker: Broker, queue: string): Promise<number[]> {
  const jobs = await prefixBroker.queue(queue).getJobs(["waiting", "delayed", "active", "completed", "failed"], 0, -1);
  return jobs.map((job) => Date.parse(readPayload(job.data).meta.fire_time!)).sort((a, b) => a - b);
}

async function brokerFor(prefix: string): Promise<Broker> {
  const opened = await openBroker(loadedConfig(config(prefix, ""), redis.url), "test");
  afterCleanups.push(() => opened.close());
  return opened;
}

const afterCleanups: Array<() => Promise<unknown>> = [];

function nextPrefix(): string {
  return `b${++prefixCounter}`;
}

/** Per-second fire times from first to last with none missing and none repeated. */
function expectEverySecondOnce(times: number[]): void {
  expect(times.length).toBeGreaterThan(0);
  expect(new Set(times).size).toBe(times.length);
  const expected = [];
  for (let time = times[0]!; time <= times.at(-1)!; time += 1000) expected.push(time);
  expect(times).toEqual(expected);
}

beforeAll(async () => {
  redis = await startRedisServer();
  broker = await openBroker(loadedConfig(config("unused", ""), redis.url), "test");
});
afterEach(async () => {
  await Promise.all(beats.splice(0).map((beat) => beat.close()));
  for (const proxy of proxies.splice(0)) proxy.stop();
  for (const cleanup of afterCleanups.splice(0)) await cleanup();
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
  files.cleanup();
});

describe("beat", () => {
  it(
    "dispatches each per-second fire time once per target with two beats for 30 s, through a partition of the active one",
    async () => {
      const prefix = nextPrefix();
      const text = config(prefix, yaml`
        every_second:
          cron: "* * * * * *"
          task: llmctl.ping
          targets: [web]
          catchup: all
      `);
      const proxyA = await startTcpProxy(redis.port);
      proxies.push(proxyA);
      const logsA = captureLogs();
      const logsB = captureLogs();
      const a = await startBeat(text, { url: proxyA.url, hostname: "a", logs: logsA, healthPort: 0 });
      await waitFor("beat a to become active", () => a.role() === "active");
      const b = await startBeat(text, { hostname: "b", logs: logsB });
      const startedAt = Date.now();
      await Bun.sleep(12_000);
      expect(b.role()).toBe("standby");

      // Partition the active beat from Redis: the standby takes over once the lease expires.
      const cutAt = Date.now();
      proxyA.cut();
      await waitFor("beat b to take over", () => b.role() === "active", { timeoutMs: LEASE_TTL_MS + 5000 });
      const handoverMs = Date.now() - cutAt;
      expect(handoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + STANDBY_POLL_MS + 300);
      // Cut off, beat a reports not ready and stops acting as the active beat.
      await waitFor("beat a to report not ready", async () => (await fetch(`http://127.0.0.1:${a.healthPort}/readyz`)).status === 503, { timeoutMs: 10_000 });
      expect(a.role()).not.toBe("active");
      expect(logsA.find("no longer active: stopped dispatching").length).toBe(1);

      // Healed, beat a comes back as a standby (after its connections' reconnect backoff) and dispatches nothing.
      proxyA.restore();
      await waitFor("beat a to stand by again", () => a.role() === "standby", { timeoutMs: 20_000 });
      const dispatchedByABeforeHeal = logsA.find("dispatched").length;
      await Bun.sleep(Math.max(0, 32_000 - (Date.now() - startedAt)));
      expect(logsA.find("dispatched").length).toBe(dispatchedByABeforeHeal);
      await Promise.all(beats.splice(0).map((beat) => beat.close()));

      const reader = await brokerFor(prefix);
      const [w1, w2] = await Promise.all([fireTimes(reader, "web_q.w1"), fireTimes(reader, "web_q.w2")]);
      expect(w1.length).toBeGreaterThanOrEqual(30);
      expectEverySecondOnce(w1);
      expect(w2).toEqual(w1);
      // Beat a dispatched up to the partition, beat b from there on: each fire time by exactly one of them.
      const by = (logs: CapturedLogs) => logs.find("dispatched").map((entry) => Date.parse(entry.fire_time as string));
      expect(by(logsA).length).toBeGreaterThan(5);
      expect(by(logsB).length).toBeGreaterThan(5);
      expect([...by(logsA), ...by(logsB)].sort((x, y) => x - y)).toEqual(w1);
      expect(Math.max(...by(logsA))).toBeLessThan(Math.min(...by(logsB)));
    },
    60_000,
  );

  it("serves probes: a standby is ready, /metrics has the leader gauge and per-schedule dispatch time and lag", async () => {
    const prefix = nextPrefix();
    const text = config(prefix, yaml`
      probed: { cron: "* * * * * *", task: llmctl.ping, targets: [q1] }
    `);
    const logs = captureLogs();
    const active = await startBeat(text, { hostname: "a", logs, healthPort: 0 });
    await waitFor("beat a to become active", () => active.role() === "active");
    const standby = await startBeat(text, { hostname: "b", healthPort: 0 });
    await waitFor("a dispatch", () => logs.find("dispatched").length >= 1);
    const get = (beat: BeatHandle, path: string) => fetch(`http://127.0.0.1:${beat.healthPort}${path}`);
    const ready = await get(standby, "/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: "ready", role: "standby", lease_holder: active.id, redis: "connected" });
    expect((await get(active, "/healthz")).status).toBe(200);
    const metrics = await (await get(active, "/metrics")).text();
    expect(metrics).toContain("llmctl_beat_leader 1");
    expect(metrics).toMatch(/llmctl_beat_last_dispatch_timestamp_seconds\{schedule="probed"\} \d+/);
    expect(metrics).toMatch(/llmctl_beat_dispatch_lag_seconds\{schedule="probed"\} [\d.]+/);
    expect(await (await get(standby, "/metrics")).text()).toContain("llmctl_beat_leader 0");
  });

  it("waits for an unreachable Redis at start, not ready meanwhile, then dispatches", async () => {
    const prefix = nextPrefix();
    const text = config(prefix, yaml`
      late: { cron: "* * * * * *", task: llmctl.ping, targets: [q1] }
    `);
    const proxy = await startTcpProxy(redis.port);
    proxies.push(proxy);
    proxy.cut();
    const logs = captureLogs();
    const healthPort = await freePort();
    const starting = start({ loaded: loadedConfig(text, proxy.url), logger: logs.logger, hostname: "a", healthPort });
    await waitFor("a retry", () => logs.find("cannot reach Redis; retrying").length >= 1, { timeoutMs: 15_000 });
    const readiness = await fetch(`http://127.0.0.1:${healthPort}/readyz`);
    expect(readiness.status).toBe(503);
    expect(await readiness.json()).toMatchObject({ role: "starting", redis: "unreachable" });
    proxy.restore();
    const beat = await starting;
    beats.push(beat);
    await waitFor("a dispatch", () => logs.find("dispatched", { schedule: "late" }).length >= 1, { timeoutMs: 15_000 });
  });

  it("applies skip, once and all to the fire times missed while beat was down", async () => {
    const prefix = nextPrefix();
    const text = config(prefix, yaml`
      skip: { cron: "* * * * * *", task: llmctl.ping, targets: [qskip], catchup: skip }
      once: { cron: "* * * * * *", task: llmctl.ping, targets: [qonce], catchup: once }
      all: { cron: "* * * * * *", task: llmctl.ping, targets: [qall], catchup: all }
    `);
    const first = captureLogs();
    await startBeat(text, { hostname: "a", logs: first });
    await waitFor("two dispatches of each schedule", () => ["skip", "once", "all"].every((schedule) => first.find("dispatched", { schedule }).length >= 2));
    await Promise.all(beats.splice(0).map((beat) => beat.close()));
    const lastBefore = Math.max(...first.find("dispatched").map((entry) => Date.parse(entry.fire_time as string)));
    await Bun.sleep(ON_TIME_GRACE_MS + 3500);

    const second = captureLogs();
    const restartedAt = Date.now();
    await startBeat(text, { hostname: "a", logs: second });
    await waitFor("a dispatch of each schedule after the restart", () => ["skip", "once", "all"].every((schedule) => second.find("dispatched", { schedule, kind: "cron" }).length >= 1));
    await Promise.all(beats.splice(0).map((beat) => beat.close()));

    const missed = (schedule: string) => second.find("dispatched", { schedule, kind: "catchup" }).map((entry) => Date.parse(entry.fire_time as string));
    const reader = await brokerFor(prefix);
    // skip: the missed fire times were dropped, and said so.
    expect(missed("skip")).toEqual([]);
    const skipped = second.find("skipped a fire time", { schedule: "skip", reason: "missed" });
    expect(skipped).toHaveLength(1);
    const latestMissed = Date.parse(skipped[0]!.fire_time as string);
    expect(latestMissed).toBeLessThanOrEqual(restartedAt - ON_TIME_GRACE_MS + 1000);
    expect(latestMissed - lastBefore).toBeGreaterThanOrEqual(2000);
    const skipTimes = await fireTimes(reader, "qskip");
    expect(skipTimes.filter((time) => time > lastBefore && time <= latestMissed)).toEqual([]);
    // once: one run, keyed by the latest missed fire time.
    expect(missed("once")).toEqual([latestMissed]);
    const onceTimes = await fireTimes(reader, "qonce");
    expect(onceTimes.filter((time) => time > lastBefore && time <= latestMissed)).toEqual([latestMissed]);
    // all: every fire time, none twice.
    expect(missed("all").length).toBe((latestMissed - lastBefore) / 1000);
    expectEverySecondOnce(await fireTimes(reader, "qall"));
  });

  it("skips a fire time while the previous run for the target is unfinished (overlap: skip)", async () => {
    const prefix = nextPrefix();
    const text = config(prefix, yaml`
      busy: { cron: "* * * * * *", task: llmctl.ping, targets: [qoverlap], overlap: skip }
    `);
    const logs = captureLogs();
    await startBeat(text, { hostname: "a", logs });
    const reader = await brokerFor(prefix);
    await waitFor("three skipped fire times", () => logs.find("skipped a fire time", { reason: "overlap" }).length >= 3);
    const waiting = await reader.queue("qoverlap").getJobs(["waiting"]);
    expect(waiting).toHaveLength(1);
    // Once the run is gone (it finished, or was removed), the next fire time runs again.
    await waiting[0]!.remove();
    await waitFor("a new run", async () => (await reader.queue("qoverlap").getJobs(["waiting"])).length === 1, { timeoutMs: 3000 });
    expect(logs.find("dispatched", { schedule: "busy" })).toHaveLength(2);
  });

  it("reloads on a change of the config file: removed schedules stop, changed ones follow their new cron, a bad config is refused", async () => {
    const prefix = nextPrefix();
    const path = files.file(`${prefix}.yaml`, config(prefix, yaml`
      stays: { cron: "* * * * * *", task: llmctl.ping, targets: [q1] }
      goes: { cron: "* * * * * *", task: llmctl.ping, targets: [q1] }
    `));
    const logs = captureLogs();
    const reloadConfig = () => loadConfig({ configPath: path, redisUrl: redis.url, env: {} });
    const beat = await start({ loaded: reloadConfig(), logger: logs.logger, hostname: "a", reloadConfig });
    beats.push(beat);
    await waitFor("both schedules to dispatch", () => logs.find("dispatched", { schedule: "goes" }).length >= 1 && logs.find("dispatched", { schedule: "stays" }).length >= 1);

    writeFileSync(path, config(prefix, yaml`
      stays: { cron: "*/3 * * * * *", task: llmctl.ping, targets: [q1] }
    `));
    await waitFor("the reload", () => logs.find("config reloaded").length === 1, { timeoutMs: 5000 });
    const reloadedAt = Date.now();
    const goesBefore = logs.find("dispatched", { schedule: "goes" }).length;
    await waitFor("two dispatches on the new cron", () => logs.find("dispatched", { schedule: "stays" }).filter((entry) => Date.parse(entry.fire_time as string) > reloadedAt).length >= 2, { timeoutMs: 9000 });
    expect(logs.find("dispatched", { schedule: "goes" }).length).toBe(goesBefore);
    const afterReload = logs.find("dispatched", { schedule: "stays" }).filter((entry) => Date.parse(entry.fire_time as string) > reloadedAt);
    for (const entry of afterReload) expect(new Date(entry.fire_time as string).getUTCSeconds() % 3).toBe(0);
    // The cron changed, so nothing that the new cron would have fired before the reload is caught up.
    expect(logs.find("dispatched", { schedule: "stays", kind: "catchup" })).toEqual([]);

    writeFileSync(path, config(prefix, yaml`
      stays: { cron: "*/3 * * * * *", task: llmctl.pong, targets: [q1] }
    `));
    await waitFor("the rejected reload", () => logs.find("config reload rejected: keeping the running config").length === 1, { timeoutMs: 5000 });
    expect(String(logs.find("config reload rejected: keeping the running config")[0]!.err)).toContain('unknown task "llmctl.pong"');
    const count = logs.find("dispatched", { schedule: "stays" }).length;
    await waitFor("the running config to keep dispatching", () => logs.find("dispatched", { schedule: "stays" }).length > count, { timeoutMs: 5000 });
    expect(await beat.reload()).toBe(false);
  });

  it("refuses a schedule naming an unknown task or target with file:line:col, and dispatches nothing", async () => {
    const prefix = nextPrefix();
    const text = config(prefix, yaml`
      good: { cron: "* * * * * *", task: llmctl.ping }
      typo: { cron: "* * * * * *", task: llmctl.pnig }
      workflow:
        cron: "* * * * * *"
        steps:
          - { task: llmctl.ping }
          - { task: llmctl.ping, args: { sleep_ms: "long" } }
    `);
    let error: unknown;
    try {
      await startBeat(text, { hostname: "a" });
    } catch (thrown) {
      error = thrown;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const diagnostics = (error as ConfigError).diagnostics.map((d) => `${d.line}:${d.column} ${d.path}: ${d.message}`);
    expect(diagnostics[0]).toBe('8:38 schedules.typo.task: unknown task "llmctl.pnig" (did you mean "llmctl.ping"?)');
    expect(diagnostics[1]).toBe("13:48 schedules.workflow.steps[1].args.sleep_ms: invalid arguments for llmctl.ping: sleep_ms: expected number, received string");
    expect((error as ConfigError).exitCode).toBe(2);
    expect(await broker.connection.keys(`${prefix}:*`)).toEqual([]);
  });

  it("dispatches once per fire time with two beats sharing the embedded store", async () => {
    const loaded = loadedConfig(config("emb", yaml`
      tick: { cron: "* * * * * *", task: llmctl.ping, targets: [web] }
    `), "embedded");
    const shared = await openBroker(loaded, "test");
    afterCleanups.push(() => shared.close());
    const logs = [captureLogs(), captureLogs()];
    for (const [index, capture] of logs.entries()) beats.push(await start({ loaded, broker: shared, logger: capture.logger, hostname: `e${index}` }));
    await waitFor("five dispatches", () => logs.flatMap((capture) => capture.find("dispatched")).length >= 5, { timeoutMs: 10_000 });
    await Promise.all(beats.splice(0).map((beat) => beat.close()));
    expect(logs.filter((capture) => capture.find("dispatched").length > 0)).toHaveLength(1);
    const times = await fireTimes(shared, "web_q.w1");
    expectEverySecondOnce(times);
    expect(await fireTimes(shared, "web_q.w2")).toEqual(times);
  });
});
