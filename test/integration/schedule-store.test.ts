/**
 * The lease and the dispatch transaction on both backends: a real redis-server and the embedded
 * store (where `llmctl up` runs beat), so the Lua scripts, WATCH and the BullMQ inserts inside
 * our MULTI behave the same on each.
 */
import { describe, expect, it } from "bun:test";
import { BeatLease, readLease } from "../../src/broker/beat-lease.ts";
import { JobInserter } from "../../src/broker/job-inserter.ts";
import { llmctlKeys } from "../../src/broker/keys.ts";
import { buildJobs, describeJobs, type EnqueuePlan } from "../../src/broker/producer.ts";
import { ScheduleStore, type FireDispatch, type ScheduleWrite } from "../../src/broker/schedule-store.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { BACKENDS } from "../conformance/backends.ts";
import { useBackend } from "../conformance/harness.ts";
import { loadedConfig } from "../helpers/config.ts";

const { config } = loadedConfig("queues: [q1]\n", "redis://127.0.0.1:1/0");
const registry = new TaskRegistry(BUILTIN_TASKS, config);

let prefixCounter = 0;

function dispatchOf(queue: string, schedule: string, fireTime: Date): FireDispatch {
  const plan: EnqueuePlan = { args: {}, targets: [{ target: queue, queue }] };
  const jobs = buildJobs(registry, "llmctl.ping", plan, { source: "beat", schedule, fireTime, jobId: `${schedule}.${fireTime.getTime()}` });
  return { fireTime, kind: "cron", jobs, enqueued: describeJobs("llmctl.ping", plan, jobs) };
}

for (const backend of BACKENDS) {
  describe(`beat lease and schedule store on ${backend.name}`, () => {
    const t = useBackend(backend);

    function setup() {
      const prefix = `s${++prefixCounter}`;
      const keys = llmctlKeys(prefix);
      const connection = t.connection("store");
      const inserter = new JobInserter(connection, prefix);
      t.defer(() => inserter.close());
      const queueName = t.queueName();
      const queue = t.queue(queueName, { prefix });
      return { prefix, keys, connection, inserter, queueName, queue, store: new ScheduleStore(connection, keys, inserter) };
    }

    it("hands the lease to one beat, renews it for the holder, and gives a new fencing token to the next", async () => {
      const { keys } = setup();
      const a = new BeatLease(t.connection(), keys, "beat-a", 5000);
      const b = new BeatLease(t.connection(), keys, "beat-b", 5000);
      const first = await a.acquireOrRenew();
      expect(first).toMatchObject({ held: true, holder: "beat-a", token: 1 });
      expect(await b.acquireOrRenew()).toMatchObject({ held: false, holder: "beat-a", token: 1 });
      expect((await a.acquireOrRenew()).token).toBe(1);
      expect(await b.release(1)).toBe(false);
      expect((await readLease(t.connection(), keys))?.holder).toBe("beat-a");
      expect(await a.release(1)).toBe(true);
      expect(await b.acquireOrRenew()).toMatchObject({ held: true, holder: "beat-b", token: 2 });
    });

    it("lets a standby take an expired lease", async () => {
      const { keys } = setup();
      const a = new BeatLease(t.connection(), keys, "beat-a", 200);
      const b = new BeatLease(t.connection(), keys, "beat-b", 200);
      expect((await a.acquireOrRenew()).held).toBe(true);
      expect((await b.acquireOrRenew()).held).toBe(false);
      await Bun.sleep(300);
      expect(await b.acquireOrRenew()).toMatchObject({ held: true, token: 2 });
      expect((await a.acquireOrRenew()).held).toBe(false);
    });

    it("commits the jobs of a fire time together with the watermark, and never twice", async () => {
      const { keys, store, queueName, queue } = setup();
      const lease = await new BeatLease(t.connection(), keys, "beat-a", 5000).acquireOrRenew();
      const fireTime = new Date("2026-06-01T10:00:00Z");
      const decide = async (state: { watermark: number | null }): Promise<ScheduleWrite | undefined> =>
        (state.watermark ?? 0) >= fireTime.getTime() ? undefined : { dispatches: [dispatchOf(queueName, "nightly", fireTime)], watermark: fireTime.getTime() };
      expect((await store.transact("nightly", { token: lease.token, beatId: "beat-a" }, decide)).status).toBe("committed");
      expect((await store.transact("nightly", { token: lease.token, beatId: "beat-a" }, decide)).status).toBe("unchanged");
      const jobs = await queue.getJobs(["waiting"]);
      expect(jobs.map((job) => job.id)).toEqual([`nightly.${fireTime.getTime()}`]);
      const state = await store.read("nightly");
      expect(state).toMatchObject({ watermark: fireTime.getTime(), fence: lease.token, last_kind: "cron", last_dispatched_by: "beat-a" });
      expect(state.target_jobs[queueName]?.id).toBe(`nightly.${fireTime.getTime()}`);
      expect(await store.names()).toEqual(["nightly"]);
    });

    it("adds nothing when another client changes the state between read and commit", async () => {
      const { keys, store, queueName, queue } = setup();
      const lease = await new BeatLease(t.connection(), keys, "beat-a", 5000).acquireOrRenew();
      const other = new ScheduleStore(t.connection(), keys, new JobInserter(t.connection(), "unused"));
      const outcome = await store.transact("hourly", { token: lease.token, beatId: "beat-a" }, async () => {
        await other.setPaused("hourly", true);
        return { dispatches: [dispatchOf(queueName, "hourly", new Date("2026-06-01T11:00:00Z"))], watermark: Date.parse("2026-06-01T11:00:00Z") };
      });
      expect(outcome.status).toBe("conflict");
      expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 0 });
      expect((await store.read("hourly")).watermark).toBeNull();
    });

    it("refuses a beat that no longer holds the lease, or whose token is older than the state's", async () => {
      const { keys, store, queueName, queue } = setup();
      const a = new BeatLease(t.connection(), keys, "beat-a", 5000);
      const held = await a.acquireOrRenew();
      const write = async () => ({ dispatches: [dispatchOf(queueName, "s", new Date())] });
      expect(await store.transact("s", { token: held.token, beatId: "beat-b" }, write)).toEqual({ status: "not leader", holder: "beat-a" });
      await t.connection().hset(keys.schedule("s"), "fence", String(held.token + 5));
      expect(await store.transact("s", { token: held.token, beatId: "beat-a" }, write)).toEqual({ status: "fenced out", fence: held.token + 5 });
      expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 0 });
    });

    it("records a trigger without WATCH, keeping the watermark", async () => {
      const { store, queueName, queue } = setup();
      await store.record("manual", { dispatches: [{ ...dispatchOf(queueName, "manual", new Date("2026-06-01T12:00:00Z")), kind: "trigger" }] }, "cli");
      expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });
      expect(await store.read("manual")).toMatchObject({ watermark: null, last_kind: "trigger", last_dispatched_by: "cli" });
    });
  });
}
