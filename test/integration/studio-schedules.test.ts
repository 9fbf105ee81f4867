/**
 * The studio's schedules: GET /api/v1/schedules, pause, resume and trigger, their bad input, the
 * schedule and beat events of the live stream, and beat's side of /metrics — with a real beat and
 * worker in the same process, against a private redis-server.
 */
import { afterAll, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { start as startBeat, type BeatHandle } from "../../src/beat/index.ts";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { start as startStudio, type StudioHandle } from "../../src/studio/index.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start as startWorker, type WorkerHandle } from "../../src/worker/index.ts";
import { waitFor } from "../conformance/harness.ts";
import { loadedConfig } from "../helpers/config.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";
import { documentedStudioClient, expectRefused, openEventStream, studioClient, type Refusal } from "../helpers/studio.ts";

setDefaultTimeout(30_000);

const TOKEN = "schedules-test-token-0123456789";
const SCHEDULES = `
prefix: ss
queues: [q1, q2]
beat: { lease_ttl: 2s, heartbeat: 500ms }
worker: { heartbeat: 500ms }
schedules:
  tick: { cron: "* * * * * *", task: llmctl.ping, targets: [q1] }
  nightly: { cron: "0 3 * * *", timezone: Europe/Berlin, task: llmctl.ping, targets: [q2], description: never fires in the test }
`;
// The studio's config also has a schedule whose task it does not know (a beat would refuse to start with it).
const STUDIO_CONFIG = `${SCHEDULES}  orphan: { cron: "0 * * * *", task: not.registered }\n`;

let redis: RedisServer;
let broker: Broker;
let studio: StudioHandle;
let api: ReturnType<typeof studioClient>;
/** The API with every reply checked against the route table. */
let call: ReturnType<typeof documentedStudioClient>;

beforeAll(async () => {
  redis = await startRedisServer();
  const loaded = loadedConfig(STUDIO_CONFIG, redis.url);
  broker = await openBroker(loaded, "schedules-test");
  studio = await startStudio({ loaded, logger: silentLogger(), port: 0, token: TOKEN, workerPollMs: 100 });
  api = studioClient(studio.url, TOKEN);
  call = documentedStudioClient(studio.url, TOKEN);
});
afterAll(async () => {
  await studio.close();
  await broker.close();
  await redis.stop();
});


async function scheduleNamed(name: string) {
  const { body } = await call("GET", "/api/v1/schedules");
  return body.schedules.find((schedule: { name: string }) => schedule.name === name);
}

/** Every key and value under the prefix: what "nothing changed" compares. */
async function everything(): Promise<Record<string, string>> {
  const keys = (await broker.connection.keys("ss:*")).sort();
  const dump: Record<string, string> = {};
  for (const key of keys) dump[key] = JSON.stringify(await broker.connection.dump(key));
  return dump;
}

describe("schedules without a beat", () => {
  it("lists every schedule with its next fire time, no lease, and no lag before a beat counted it", async () => {
    const reply = await call("GET", "/api/v1/schedules");
    expect(reply.status).toBe(200);
    expect(reply.body.lease).toBeNull();
    expect(reply.body.beats).toEqual([]);
    expect(reply.body.schedules.map((schedule: { name: string }) => schedule.name)).toEqual(["tick", "nightly", "orphan"]);
    const nightly = reply.body.schedules[1];
    expect(nightly).toMatchObject({ in_config: true, enabled: true, cron: "0 3 * * *", timezone: "Europe/Berlin", task: "llmctl.ping", targets: ["q2"], paused: false, last_fire_time: null, last_jobs: [], handled_until: null, lag_ms: null, lease: null });
    expect(Date.parse(nightly.next_fire_time)).toBeGreaterThan(Date.now());
  });

  const cases: Array<{ name: string; method: string; path: string; token?: string | null } & Refusal> = [
    { name: "pausing an unknown schedule", method: "POST", path: "/api/v1/schedules/nightyl/pause", status: 404, code: "not_found", message: 'unknown schedule "nightyl" (did you mean "nightly"?)' },
    { name: "resuming an unknown schedule", method: "POST", path: "/api/v1/schedules/tock/resume", status: 404, code: "not_found", message: 'unknown schedule "tock" (did you mean "tick"?)' },
    { name: "triggering an unknown schedule", method: "POST", path: "/api/v1/schedules/nothing/trigger", status: 404, code: "not_found", message: /^unknown schedule "nothing"/ },
    { name: "path traversal in a schedule name", method: "POST", path: "/api/v1/schedules/..%2Ftick/trigger", status: 400, code: "invalid_request", message: /^name: schedule names use/, field: "name" },
    { name: "a schedule name that is too long", method: "POST", path: `/api/v1/schedules/${"x".repeat(201)}/pause`, status: 400, code: "invalid_request", message: /^name: /, field: "name" },
    { name: "triggering a schedule whose task is unknown", method: "POST", path: "/api/v1/schedules/orphan/trigger", status: 409, code: "conflict", message: /^schedule orphan cannot be dispatched: unknown task "not.registered"/ },
    { name: "triggering without a token", method: "POST", path: "/api/v1/schedules/tick/trigger", token: null, status: 401, code: "unauthorized", message: "this endpoint needs the studio token" },
    { name: "pausing with a wrong token", method: "POST", path: "/api/v1/schedules/tick/pause", token: "wrong", status: 401, code: "unauthorized", message: "the token is not valid" },
    { name: "listing without a token", method: "GET", path: "/api/v1/schedules", token: null, status: 401, code: "unauthorized", message: "this endpoint needs the studio token" },
  ];

  it.each(cases)("$name → $status, nothing changed", async ({ method, path, token, status, code, message, field }) => {
    const before = await everything();
    const reply = await call(method, path, { token });
    expectRefused(reply, { status, code, message, field });
    expect(await everything()).toEqual(before);
  });

  it("answers 405 for another method on a schedule action", async () => {
    const reply = await api("GET", "/api/v1/schedules/tick/trigger");
    expect(reply.status).toBe(405);
    expect(reply.headers.get("allow")).toBe("POST");
  });
});

describe("schedules with a beat and a worker", () => {
  let beat: BeatHandle;
  let worker: WorkerHandle;

  beforeAll(async () => {
    const loaded = loadedConfig(SCHEDULES, redis.url);
    const registry = new TaskRegistry(BUILTIN_TASKS, loaded.config);
    worker = await startWorker({ loaded, registry, logger: silentLogger(), concurrency: 2, graceMs: 1000, queues: "all" });
    beat = await startBeat({ loaded, registry, logger: silentLogger(), hostname: "beat-host" });
  });
  afterAll(async () => {
    await beat.close();
    await worker.close();
  });

  it("shows the lease holder, the beat's last dispatch with its jobs' outcome, and no lag while beat keeps up", async () => {
    const tick = await waitFor("tick dispatched by beat and its job completed", async () => {
      const view = await scheduleNamed("tick");
      return view.last_kind === "cron" && view.last_jobs[0]?.state === "completed" && view;
    });
    expect(tick.last_dispatched_by).toBe(beat.id);
    expect(tick.lease).toMatchObject({ holder: beat.id });
    expect(tick.last_jobs[0]).toMatchObject({ queue: "q1", task: "llmctl.ping", error: null });
    expect(tick.lag_ms).toBeLessThan(1500);
    expect(Date.parse(tick.handled_until)).toBeGreaterThanOrEqual(Date.parse(tick.last_fire_time));
    const { body } = await call("GET", "/api/v1/schedules");
    expect(body.lease.holder).toBe(beat.id);
    expect(body.beats).toHaveLength(1);
    expect(body.beats[0]).toMatchObject({ id: beat.id, role: "active", hostname: "beat-host" });
    expect((await scheduleNamed("nightly")).lag_ms).toBe(0);
  });

  it("pauses a schedule (beat skips its fire times) and resumes it", async () => {
    const paused = await call("POST", "/api/v1/schedules/tick/pause");
    expect(paused.body).toEqual({ schedule: "tick", paused: true, was_paused: false });
    expect((await call("POST", "/api/v1/schedules/tick/pause")).body).toEqual({ schedule: "tick", paused: true, was_paused: true });
    const skipped = await waitFor("a fire time skipped while paused", async () => {
      const view = await scheduleNamed("tick");
      return view.last_skip?.reason === "paused" && view;
    });
    expect(skipped.paused).toBe(true);
    expect(skipped.paused_at).not.toBeNull();
    expect(skipped.lag_ms).toBeLessThan(1500);
    expect((await call("POST", "/api/v1/schedules/tick/resume")).body).toEqual({ schedule: "tick", paused: false, was_paused: true });
    expect((await scheduleNamed("tick")).paused).toBe(false);
  });

  it("triggers a schedule now: 202 with its jobs, recorded as a trigger by the studio", async () => {
    const reply = await call("POST", "/api/v1/schedules/nightly/trigger");
    expect(reply.status).toBe(202);
    expect(reply.body.schedule).toBe("nightly");
    expect(reply.body.jobs).toEqual([{ id: expect.stringMatching(/^nightly\.trigger\./), queue: "q2", task: "llmctl.ping", target: "q2" }]);
    const nightly = await waitFor("the triggered job completed", async () => {
      const view = await scheduleNamed("nightly");
      return view.last_jobs[0]?.state === "completed" && view;
    });
    expect(nightly).toMatchObject({ last_kind: "trigger", last_dispatched_by: "studio", last_fire_time: reply.body.fire_time });
  });

  it("exports beat leadership, lag, dispatch lag and paused per schedule on /metrics", async () => {
    const text: string = (await api("GET", "/metrics", { token: null })).body;
    expect(text).toContain("llmctl_beat_lease_held 1");
    expect(text).toContain('llmctl_beats{role="active"} 1');
    expect(text).toContain('llmctl_beats{role="standby"} 0');
    expect(text).toMatch(/llmctl_schedule_lag_seconds\{schedule="tick"\} (0|0\.\d+|1(\.\d+)?)\n/);
    expect(text).toContain('llmctl_schedule_lag_seconds{schedule="nightly"} 0');
    expect(text).toMatch(/llmctl_schedule_dispatch_lag_seconds\{schedule="tick"\} 0(\.\d+)?\n/);
    expect(text).toContain('llmctl_schedule_paused{schedule="tick"} 0');
    // A trigger is not a beat dispatch: no dispatch lag for a schedule only ever triggered.
    expect(text).not.toContain('llmctl_schedule_dispatch_lag_seconds{schedule="nightly"}');
    expect(text).not.toContain('llmctl_schedule_lag_seconds{schedule="orphan"}');
  });

  it("streams schedule and beat changes, and the lag growing once no beat dispatches", async () => {
    const stream = await openEventStream(new URL("/api/v1/events", studio.url).href, { headers: { authorization: `Bearer ${TOKEN}` } });
    try {
      const snapshot = await stream.next((event) => event.event === "snapshot");
      expect(snapshot.data.schedules.map((schedule: { name: string }) => schedule.name)).toEqual(["tick", "nightly", "orphan"]);
      expect(snapshot.data.beats.map((entry: { id: string }) => entry.id)).toEqual([beat.id]);
      await call("POST", "/api/v1/schedules/nightly/pause");
      const paused = await stream.next((event) => event.event === "schedule" && event.data.schedule.name === "nightly" && event.data.schedule.paused);
      expect(paused.data.schedule.paused_at).not.toBeNull();
      await call("POST", "/api/v1/schedules/nightly/resume");

      await beat.close();
      const down = await stream.next((event) => event.event === "beat" && event.data.change === "down");
      expect(down.data.beat.id).toBe(beat.id);
      const lagging = await stream.next((event) => event.event === "schedule" && event.data.schedule.name === "tick" && event.data.schedule.lag_ms >= 1000, 5000);
      expect(lagging.data.schedule.lease).toBeNull();
      const text: string = (await api("GET", "/metrics", { token: null })).body;
      expect(text).toContain("llmctl_beat_lease_held 0");
      expect(text).toMatch(/llmctl_schedule_lag_seconds\{schedule="tick"\} [1-9]/);
    } finally {
      stream.close();
    }
  });
});
