/**
 * Pause, resume and trigger against a private redis-server: state kept in Redis across beat
 * restarts, honoured by whichever beat is active, and shown by the Inspector.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { start, type BeatHandle } from "../../src/beat/index.ts";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { Inspector } from "../../src/broker/inspector.ts";
import { readPayload } from "../../src/broker/payload.ts";
import { setSchedulePaused, triggerSchedule } from "../../src/broker/schedule-control.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { NotFoundError } from "../../src/util/errors.ts";
import { waitFor } from "../conformance/harness.ts";
import { loadedConfig } from "../helpers/config.ts";
import { yaml } from "../helpers/files.ts";
import { captureLogs, type CapturedLogs } from "../helpers/logs.ts";
import { startRedisServer, type RedisServer } from "../helpers/redis-server.ts";

setDefaultTimeout(30_000);

const CONFIG = yaml`
  prefix: ctl
  queues: [q1]
  beat: { lease_ttl: 2s, heartbeat: 500ms }
  schedules:
    tick: { cron: "* * * * * *", task: llmctl.ping, targets: [q1] }
    hourly: { cron: "0 * * * *", task: llmctl.ping, targets: [q1], description: never fires in the test }
`;

let redis: RedisServer;
let broker: Broker;
const beats: BeatHandle[] = [];

async function startBeat(logs: CapturedLogs): Promise<BeatHandle> {
  const beat = await start({ loaded: loadedConfig(CONFIG, redis.url), logger: logs.logger, hostname: "a" });
  beats.push(beat);
  return beat;
}

/** Fire times of the cron's jobs in q1 (triggered jobs left out). */
async function cronFireTimes(): Promise<number[]> {
  const jobs = await broker.queue("q1").getJobs(["waiting"], 0, -1);
  return jobs
    .filter((job) => !job.id!.includes(".trigger."))
    .map((job) => Date.parse(readPayload(job.data).meta.fire_time!))
    .sort((a, b) => a - b);
}

const registry = () => new TaskRegistry(BUILTIN_TASKS, broker.config);

beforeAll(async () => {
  redis = await startRedisServer();
  broker = await openBroker(loadedConfig(CONFIG, redis.url), "test");
});
afterEach(async () => {
  await Promise.all(beats.splice(0).map((beat) => beat.close()));
});
afterAll(async () => {
  await broker.close();
  await redis.stop();
});

describe("pause, resume and trigger", () => {
  it("keep their effect across a beat restart, and resume does not catch up the paused fire times", async () => {
    const first = captureLogs();
    await startBeat(first);
    await waitFor("a dispatch", () => first.find("dispatched", { schedule: "tick" }).length >= 1);
    expect(await setSchedulePaused(broker, "tick", true)).toEqual({ schedule: "tick", paused: true, was_paused: false });
    await waitFor("a skipped fire time", () => first.find("skipped a fire time", { schedule: "tick", reason: "paused" }).length >= 1, { timeoutMs: 3000 });
    const pausedAt = Date.now();
    await Promise.all(beats.splice(0).map((beat) => beat.close()));

    const second = captureLogs();
    await startBeat(second);
    await waitFor("two skipped fire times after the restart", () => second.find("skipped a fire time", { schedule: "tick", reason: "paused" }).length >= 2, { timeoutMs: 5000 });
    expect(second.find("dispatched")).toEqual([]);

    // A trigger runs now even while paused, and leaves the cron's count alone.
    const triggered = await triggerSchedule(broker, registry(), "tick", "cli");
    expect(triggered.jobs).toHaveLength(1);
    expect(triggered.jobs[0]!.id).toStartWith("tick.trigger.");
    const [view] = (await new Inspector(broker).schedules()).filter((schedule) => schedule.name === "tick");
    expect(view).toMatchObject({ paused: true, last_kind: "trigger", last_dispatched_by: "cli" });
    expect(view!.last_jobs.map((job) => job.state)).toEqual(["waiting"]);

    const resumedAt = Date.now();
    expect((await setSchedulePaused(broker, "tick", false)).was_paused).toBe(true);
    await waitFor("a dispatch after resume", () => second.find("dispatched", { schedule: "tick" }).length >= 1, { timeoutMs: 3000 });
    expect(second.find("dispatched", { schedule: "tick", kind: "catchup" })).toEqual([]);
    // No cron fire time of the paused interval was dispatched, then or on resume; the trigger's job is there.
    expect((await cronFireTimes()).filter((time) => time > pausedAt && time < resumedAt - 100)).toEqual([]);
    expect(await broker.queue("q1").getJobState(triggered.jobs[0]!.id)).toBe("waiting");
  });

  it("shows each schedule's state, the lease holder and the beats", async () => {
    const logs = captureLogs();
    const beat = await startBeat(logs);
    await waitFor("beat to be active", () => beat.role() === "active");
    await waitFor("a dispatch", () => logs.find("dispatched", { schedule: "tick" }).length >= 1);
    await broker.connection.sadd(broker.keys.schedules, "removed_from_config");
    const inspector = new Inspector(broker);
    const views = await inspector.schedules();
    expect(views.map((view) => [view.name, view.in_config])).toEqual([["tick", true], ["hourly", true], ["removed_from_config", false]]);
    const tick = views[0]!;
    expect(tick.lease?.holder).toBe(beat.id);
    expect(tick.last_kind).toBe("cron");
    expect(Date.parse(tick.next_fire_time!)).toBeGreaterThan(Date.parse(tick.last_fire_time!));
    expect(views[1]!.next_fire_time).toMatch(/:00:00\.000Z$/);
    await waitFor("the beat's heartbeat", async () => (await inspector.beats()).some((heartbeat) => heartbeat.id === beat.id && heartbeat.role === "active"));
  });

  it("refuses an unknown schedule with a did-you-mean, changing nothing", async () => {
    for (const act of [() => triggerSchedule(broker, registry(), "tik", "cli"), () => setSchedulePaused(broker, "tik", true)]) {
      let error: unknown;
      try {
        await act();
      } catch (thrown) {
        error = thrown;
      }
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).message).toBe('unknown schedule "tik" (did you mean "tick"?)');
      expect((error as NotFoundError).exitCode).toBe(2);
    }
    expect(await broker.connection.exists(broker.keys.schedule("tik"))).toBe(0);
  });
});
