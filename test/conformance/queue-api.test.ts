/**
 * Conformance: the producer and read side of a queue — add/addBulk, getJobCounts/getJobs,
 * clean, obliterate, pause/resume, progress and logs, deduplication.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { randomUUID } from "node:crypto";
import { BACKENDS } from "./backends.ts";
import { holdsFor, nextEvent, useBackend, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

for (const backend of BACKENDS) {
  describe(`queue API [${backend.name}]`, () => {
    const c = useBackend(backend);

    it("add stores name, data and options, and getJob reads them back", async () => {
      const name = c.queueName("add");
      const queue = c.queue(name);
      const job = await queue.add("greet", { who: "world", n: 1 }, { jobId: "fixed-1", attempts: 3 });
      expect(job.id).toBe("fixed-1");
      const read = await queue.getJob("fixed-1");
      expect(read?.name).toBe("greet");
      expect(read?.data).toEqual({ who: "world", n: 1 });
      expect(read?.opts.attempts).toBe(3);
      expect(await read?.getState()).toBe("waiting");
      // The id counter moves on every add, even one with its own jobId.
      const auto = await queue.add("greet", { who: "again" });
      expect(auto.id).toBe("2");
    });

    it("add with an existing jobId keeps the first job and adds nothing", async () => {
      const queue = c.queue(c.queueName("dup-id"));
      await queue.add("a", { v: 1 }, { jobId: "same" });
      const second = await queue.add("a", { v: 2 }, { jobId: "same" });
      expect(second.id).toBe("same");
      expect((await queue.getJob("same"))?.data).toEqual({ v: 1 });
      expect((await queue.getJobCounts("waiting")).waiting).toBe(1);
    });

    it("addBulk adds every job in order, and getJobs lists them oldest first", async () => {
      const queue = c.queue(c.queueName("bulk"));
      const jobs = await queue.addBulk(
        Array.from({ length: 5 }, (_, i) => ({ name: `job-${i}`, data: { i } })),
      );
      expect(jobs.map((job) => job.id)).toEqual(["1", "2", "3", "4", "5"]);
      const waiting = await queue.getJobs(["waiting"], 0, -1, true);
      expect(waiting.map((job) => job.name)).toEqual(["job-0", "job-1", "job-2", "job-3", "job-4"]);
      expect(waiting.map((job) => job.data.i)).toEqual([0, 1, 2, 3, 4]);
    });

    it("getJobCounts counts each state, and getJobs filters by state", async () => {
      const name = c.queueName("counts");
      const queue = c.queue(name);
      await queue.add("will-fail", {}, { jobId: "bad" });
      await queue.add("will-pass", {}, { jobId: "good" });
      // Finish the first two jobs by hand, then add jobs that stay in the other states.
      const worker = c.worker(name, null, { autorun: false });
      const token = randomUUID();
      const bad = await worker.getNextJob(token);
      expect(bad?.id).toBe("bad");
      await bad!.moveToFailed(new Error("boom"), token);
      const good = await worker.getNextJob(token);
      expect(good?.id).toBe("good");
      await good!.moveToCompleted("ok", token, false);
      await queue.add("plain", {});
      await queue.add("plain", {});
      await queue.add("later", {}, { delay: 60_000 });
      await queue.add("urgent", {}, { priority: 3 });
      const counts = await queue.getJobCounts("waiting", "delayed", "prioritized", "completed", "failed", "active");
      expect(counts).toEqual({ waiting: 2, delayed: 1, prioritized: 1, completed: 1, failed: 1, active: 0 });
      expect(await queue.getJobCountByTypes("completed", "failed")).toBe(2);
      const failed = await queue.getJobs(["failed"]);
      expect(failed.map((job) => [job.id, job.failedReason])).toEqual([["bad", "boom"]]);
      const completed = await queue.getJobs(["completed"]);
      expect(completed.map((job) => [job.id, job.returnvalue])).toEqual([["good", "ok"]]);
    });

    it("clean removes finished jobs older than the grace period, up to the limit", async () => {
      const name = c.queueName("clean");
      const queue = c.queue(name);
      await queue.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: "n", data: { i } })));
      const worker = c.worker(name, async (job) => job.data.i);
      await waitFor("4 completed jobs", async () => (await queue.getJobCounts("completed")).completed === 4);
      await worker.close();
      // Nothing finished more than an hour ago.
      expect(await queue.clean(3_600_000, 100, "completed")).toEqual([]);
      const removed = await queue.clean(0, 3, "completed");
      expect(removed).toHaveLength(3);
      expect((await queue.getJobCounts("completed")).completed).toBe(1);
      for (const id of removed) expect(await queue.getJob(id)).toBeUndefined();
      await queue.add("w", {});
      expect(await queue.clean(0, 100, "wait")).toHaveLength(1);
      expect((await queue.getJobCounts("waiting")).waiting).toBe(0);
    });

    it("obliterate deletes every key of the queue, and refuses while jobs are active unless forced", async () => {
      const name = c.queueName("obliterate");
      const queue = c.queue(name);
      const redis = c.connection();
      await queue.addBulk(Array.from({ length: 3 }, () => ({ name: "n", data: {} })));
      await queue.add("later", {}, { delay: 60_000 });
      const worker = c.worker(name, null, { autorun: false });
      const active = await worker.getNextJob(randomUUID());
      expect(active?.id).toBe("1");
      expect((await redis.keys(`bull:${name}:*`)).length).toBeGreaterThan(0);
      await expect(queue.obliterate()).rejects.toThrow(/active jobs/i);
      await queue.obliterate({ force: true });
      expect(await redis.keys(`bull:${name}:*`)).toEqual([]);
    });

    it("pause holds jobs back from workers until resume", async () => {
      const name = c.queueName("pause");
      const queue = c.queue(name);
      await queue.pause();
      expect(await queue.isPaused()).toBe(true);
      await queue.add("held", { v: 1 });
      const fetcher = c.worker(name, null, { autorun: false });
      expect(await fetcher.getNextJob(randomUUID(), { block: false })).toBeUndefined();
      // Since BullMQ 5 a paused queue keeps its jobs in the wait list; only the meta flag changes.
      expect(await queue.getJobCounts("waiting")).toEqual({ waiting: 1 });
      expect(await (await queue.getJob("1"))?.getState()).toBe("waiting");
      await fetcher.close();

      const processedAt: number[] = [];
      c.worker(name, async () => {
        processedAt.push(Date.now());
        return "done";
      });
      const resumedAt = Date.now();
      await queue.resume();
      expect(await queue.isPaused()).toBe(false);
      await waitFor("the held job to complete", async () => (await queue.getJobCounts("completed")).completed === 1);
      expect(processedAt).toHaveLength(1);
      expect(processedAt[0]!).toBeGreaterThanOrEqual(resumedAt);
    });

    it("a paused worker fetches nothing until it is resumed", async () => {
      const name = c.queueName("worker-pause");
      const queue = c.queue(name);
      const events = await c.events(name);
      const processedAt: number[] = [];
      const worker = c.worker(name, async () => {
        processedAt.push(Date.now());
      });
      await worker.waitUntilReady();
      await worker.pause();
      expect(worker.isPaused()).toBe(true);
      const waiting = nextEvent<[{ jobId: string }]>(events, "waiting");
      await queue.add("w", {}, { jobId: "w1" });
      await waiting;
      // A running worker takes a job within milliseconds; a paused one leaves it for the window.
      await holdsFor("w1 to stay waiting", async () => (await (await queue.getJob("w1"))!.getState()) === "waiting", 250);
      expect(processedAt).toEqual([]);
      const resumedAt = Date.now();
      worker.resume();
      await waitFor("w1 to complete", async () => (await queue.getJob("w1"))?.finishedOn);
      expect(processedAt).toHaveLength(1);
      expect(processedAt[0]!).toBeGreaterThanOrEqual(resumedAt);
    });

    it("progress and logs are stored on the job and read back", async () => {
      const name = c.queueName("progress");
      const queue = c.queue(name);
      await queue.add("p", {}, { jobId: "p1", keepLogs: 3 });
      c.worker(name, async (job) => {
        await job.updateProgress(40);
        await job.log("step one");
        await job.updateProgress({ stage: "upload", percent: 80 });
        for (const row of ["two", "three", "four"]) await job.log(`step ${row}`);
        return "ok";
      });
      await waitFor("p1 to complete", async () => (await queue.getJob("p1"))?.finishedOn);
      const job = await queue.getJob("p1");
      expect(job?.progress).toEqual({ stage: "upload", percent: 80 });
      // keepLogs: 3 trims the oldest row.
      const logs = await queue.getJobLogs("p1");
      expect(logs).toEqual({ logs: ["step two", "step three", "step four"], count: 3 });
      expect((await queue.getJobLogs("p1", 0, 0, false)).logs).toEqual(["step four"]);
      expect(await queue.addJobLog("p1", "from the queue")).toBe(4);
      await queue.updateJobProgress("p1", 100);
      expect((await queue.getJob("p1"))?.progress).toBe(100);
    });

    it("deduplication returns the existing job while it is not finished, then adds again", async () => {
      const name = c.queueName("dedup");
      const queue = c.queue(name);
      const events = await c.events(name);
      const deduplicated = nextEvent<[{ jobId: string; deduplicationId: string; deduplicatedJobId: string }]>(events, "deduplicated");
      const first = await queue.add("d", { v: 1 }, { deduplication: { id: "same-work" } });
      const second = await queue.add("d", { v: 2 }, { deduplication: { id: "same-work" } });
      expect(second.id).toBe(first.id!);
      expect((await queue.getJobCounts("waiting")).waiting).toBe(1);
      expect((await queue.getJob(first.id!))?.data).toEqual({ v: 1 });
      expect(await queue.getDeduplicationJobId("same-work")).toBe(first.id!);
      const [event] = await deduplicated;
      expect(event.jobId).toBe(first.id!);
      expect(event.deduplicationId).toBe("same-work");

      c.worker(name, async () => "done");
      await waitFor("the job to complete", async () => (await queue.getJobCounts("completed")).completed === 1);
      expect(await queue.getDeduplicationJobId("same-work")).toBeNull();
      const third = await queue.add("d", { v: 3 }, { deduplication: { id: "same-work" } });
      expect(third.id).not.toBe(first.id!);
    });

    it("deduplication with a ttl lets a new job in once the ttl has passed", async () => {
      const queue = c.queue(c.queueName("dedup-ttl"));
      const first = await queue.add("d", {}, { deduplication: { id: "t", ttl: 150 } });
      const again = await queue.add("d", {}, { deduplication: { id: "t", ttl: 150 } });
      expect(again.id).toBe(first.id!);
      await waitFor("the deduplication key to expire", async () => (await queue.getDeduplicationJobId("t")) === null);
      const later = await queue.add("d", {}, { deduplication: { id: "t", ttl: 150 } });
      expect(later.id).not.toBe(first.id!);
      expect((await queue.getJobCounts("waiting")).waiting).toBe(2);
    });
  });
}
