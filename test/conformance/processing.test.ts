/**
 * Conformance: how workers take jobs — concurrency, retries with fixed and exponential backoff,
 * delayed jobs, priorities, removeOnComplete/removeOnFail by count and by age, rate limiting.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { Worker, type Job } from "bullmq";
import { BACKENDS } from "./backends.ts";
import { gate, useBackend, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

/**
 * Timestamps compared across a Redis round trip (the limiter's window opens in the script, the
 * job's processedOn is the client clock just before the call) can be off by a millisecond or so.
 */
const CLOCK_SLACK_MS = 10;

/**
 * A retry is scheduled `delay` ms after the failure: at least that, and less than twice that
 * (the slack is for the client work between the throw and BullMQ's Date.now()), so a fixed
 * backoff cannot pass for an exponential one and the other way round.
 */
function expectScheduledDelay(actual: number, delay: number): void {
  expect(actual).toBeGreaterThanOrEqual(delay);
  expect(actual).toBeLessThan(2 * delay);
}

for (const backend of BACKENDS) {
  describe(`processing [${backend.name}]`, () => {
    const c = useBackend(backend);

    /** The due times of the queue's retries, from the "delayed" events (delay = due timestamp). */
    async function retryDueTimes(name: string): Promise<number[]> {
      const events = await c.events(name);
      const due: number[] = [];
      events.on("delayed", ({ delay }: { jobId: string; delay: number }) => due.push(Number(delay)));
      return due;
    }

    it("runs at most `concurrency` jobs at once and uses all of it", async () => {
      const name = c.queueName("concurrency");
      const queue = c.queue(name);
      await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: "n", data: { i } })));
      const release = gate();
      let running = 0;
      let highest = 0;
      c.worker(
        name,
        async (job) => {
          running += 1;
          highest = Math.max(highest, running);
          await release.promise;
          running -= 1;
          return job.data.i * 10;
        },
        { concurrency: 3 },
      );
      await waitFor("three jobs running", () => running === 3);
      expect(await queue.getJobCounts("active", "waiting")).toEqual({ active: 3, waiting: 3 });
      release.open();
      await waitFor("six completed jobs", async () => (await queue.getJobCounts("completed")).completed === 6);
      expect(highest).toBe(3);
      const results = (await queue.getJobs(["completed"])).map((job) => job.returnvalue).sort((a, b) => a - b);
      expect(results).toEqual([0, 10, 20, 30, 40, 50]);
    });

    it("retries with a fixed backoff, waiting the delay before each attempt", async () => {
      const name = c.queueName("fixed");
      const queue = c.queue(name);
      const dueAt = await retryDueTimes(name);
      const failedAt: number[] = [];
      const startedAt: number[] = [];
      c.worker(name, async (job) => {
        startedAt.push(Date.now());
        if (job.attemptsMade < 2) {
          failedAt.push(Date.now());
          throw new Error(`attempt ${job.attemptsMade + 1} fails`);
        }
        return "third time lucky";
      });
      await queue.add("retry", {}, { jobId: "r", attempts: 3, backoff: { type: "fixed", delay: 120 } });
      await waitFor("r to complete", async () => (await queue.getJob("r"))?.finishedOn);
      const job = (await queue.getJob("r"))!;
      expect(job.returnvalue).toBe("third time lucky");
      expect(job.attemptsMade).toBe(3);
      expect(await job.getState()).toBe("completed");
      expect(startedAt).toHaveLength(3);
      for (let i = 0; i < 2; i++) expect(startedAt[i + 1]! - failedAt[i]!).toBeGreaterThanOrEqual(120);
      // The retry was scheduled 120 ms after the failure each time (not growing).
      await waitFor("two delayed events", () => dueAt.length >= 2);
      expect(dueAt).toHaveLength(2);
      for (let i = 0; i < 2; i++) expectScheduledDelay(dueAt[i]! - failedAt[i]!, 120);
    });

    it("retries with an exponential backoff (delay, 2×, 4×) and fails for good after the last attempt", async () => {
      const name = c.queueName("exponential");
      const queue = c.queue(name);
      const dueAt = await retryDueTimes(name);
      const failedAt: number[] = [];
      const startedAt: number[] = [];
      c.worker(name, async (job) => {
        startedAt.push(Date.now());
        failedAt.push(Date.now());
        throw new Error(`attempt ${job.attemptsMade + 1} fails`);
      });
      await queue.add("retry", {}, { jobId: "e", attempts: 4, backoff: { type: "exponential", delay: 60 } });
      await waitFor("e to fail for good", async () => (await queue.getJob("e"))?.finishedOn);
      const job = (await queue.getJob("e"))!;
      expect(await job.getState()).toBe("failed");
      expect(job.attemptsMade).toBe(4);
      expect(job.failedReason).toBe("attempt 4 fails");
      expect(job.stacktrace?.length).toBeGreaterThan(0);
      expect(startedAt).toHaveLength(4);
      await waitFor("three delayed events", () => dueAt.length >= 3);
      expect(dueAt).toHaveLength(3);
      [60, 120, 240].forEach((delay, i) => {
        expect(startedAt[i + 1]! - failedAt[i]!).toBeGreaterThanOrEqual(delay);
        expectScheduledDelay(dueAt[i]! - failedAt[i]!, delay);
      });
    });

    it("holds a delayed job until its delay has passed, and runs delayed jobs in due order", async () => {
      const name = c.queueName("delayed");
      const queue = c.queue(name);
      const late = await queue.add("late", {}, { jobId: "late", delay: 300 });
      await queue.add("soon", {}, { jobId: "soon", delay: 150 });
      expect(await late.getState()).toBe("delayed");
      expect((await queue.getJobCounts("delayed")).delayed).toBe(2);
      const order: string[] = [];
      c.worker(name, async (job) => {
        order.push(job.id!);
      });
      await waitFor("both delayed jobs to complete", async () => (await queue.getJobCounts("completed")).completed === 2);
      expect(order).toEqual(["soon", "late"]);
      for (const [id, delay] of [["late", 300], ["soon", 150]] as const) {
        const job = (await queue.getJob(id))!;
        // job.delay is reset to 0 once the job leaves the delayed set; opts.delay keeps what was asked.
        expect(job.delay).toBe(0);
        expect(job.opts.delay).toBe(delay);
        expect(job.processedOn! - job.timestamp).toBeGreaterThanOrEqual(delay);
      }
    });

    it("takes plain jobs first, then prioritized ones by priority, FIFO within a priority", async () => {
      const name = c.queueName("priority");
      const queue = c.queue(name);
      await queue.add("p5", {}, { priority: 5 });
      await queue.add("p1-first", {}, { priority: 1 });
      await queue.add("p3", {}, { priority: 3 });
      await queue.add("p1-second", {}, { priority: 1 });
      await queue.add("plain", {});
      expect(await queue.getJobCounts("prioritized", "waiting")).toEqual({ prioritized: 4, waiting: 1 });
      expect(await queue.getCountsPerPriority([0, 1, 3, 5])).toEqual({ "0": 1, "1": 2, "3": 1, "5": 1 });
      const order: string[] = [];
      c.worker(name, async (job) => {
        order.push(job.name);
      });
      await waitFor("five completed jobs", async () => (await queue.getJobCounts("completed")).completed === 5);
      expect(order).toEqual(["plain", "p1-first", "p1-second", "p3", "p5"]);
    });

    it("removeOnComplete and removeOnFail with a count keep only the newest jobs", async () => {
      const name = c.queueName("keep-count");
      const queue = c.queue(name);
      await queue.addBulk(
        Array.from({ length: 5 }, (_, i) => ({
          name: "n",
          data: { fail: i % 2 === 1 },
          opts: { jobId: `j${i}`, removeOnComplete: 1, removeOnFail: 1 },
        })),
      );
      c.worker(name, async (job) => {
        if (job.data.fail) throw new Error("no");
        return "yes";
      });
      // j0 j2 j4 complete, j1 j3 fail; each finish trims to the newest one.
      await waitFor("the last job to finish", async () => (await queue.getJob("j4"))?.finishedOn);
      await waitFor("j3 to finish", async () => (await queue.getJob("j3"))?.finishedOn);
      expect((await queue.getJobs(["completed"])).map((job) => job.id)).toEqual(["j4"]);
      expect((await queue.getJobs(["failed"])).map((job) => job.id)).toEqual(["j3"]);
      for (const id of ["j0", "j1", "j2"]) expect(await queue.getJob(id)).toBeUndefined();
    });

    it("removeOnComplete and removeOnFail with an age remove jobs finished longer ago than the age", async () => {
      const name = c.queueName("keep-age");
      const queue = c.queue(name);
      const keep = { age: 1 }; // seconds: BullMQ's unit for age
      c.worker(
        name,
        async (job) => {
          if (job.data.fail) throw new Error("no");
          return "yes";
        },
        { removeOnComplete: keep, removeOnFail: keep },
      );
      await queue.add("old", { fail: false }, { jobId: "old-ok" });
      await queue.add("old", { fail: true }, { jobId: "old-bad" });
      await waitFor("the old jobs to finish", async () => (await queue.getJobCounts("completed", "failed")).failed === 1 && (await queue.getJobCounts("completed")).completed === 1);
      const finishedOn = Math.max((await queue.getJob("old-ok"))!.finishedOn!, (await queue.getJob("old-bad"))!.finishedOn!);
      // The age is only applied when a later job finishes: finish new ones once the old ones are over 1 s old.
      await waitFor("the old jobs to be over a second old", () => Date.now() - finishedOn > 1_100, { timeoutMs: 5_000 });
      await queue.add("new", { fail: false }, { jobId: "new-ok" });
      await queue.add("new", { fail: true }, { jobId: "new-bad" });
      await waitFor("the new jobs to finish", async () => (await queue.getJob("new-bad"))?.finishedOn && (await queue.getJob("new-ok"))?.finishedOn);
      expect(await queue.getJob("old-ok")).toBeUndefined();
      expect(await queue.getJob("old-bad")).toBeUndefined();
      expect((await queue.getJobs(["completed"])).map((job) => job.id)).toEqual(["new-ok"]);
      expect((await queue.getJobs(["failed"])).map((job) => job.id)).toEqual(["new-bad"]);
    });

    it("the worker limiter starts at most `max` jobs per `duration`", async () => {
      const name = c.queueName("limiter");
      const queue = c.queue(name);
      await queue.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: "n", data: {}, opts: { jobId: `l${i}` } })));
      c.worker(name, async () => "ok", { concurrency: 6, limiter: { max: 2, duration: 250 } });
      await waitFor("six completed jobs", async () => (await queue.getJobCounts("completed")).completed === 6);
      const started = (await queue.getJobs(["completed"])).map((job: Job) => job.processedOn!).sort((a, b) => a - b);
      for (let i = 0; i + 2 < started.length; i++) {
        expect(started[i + 2]! - started[i]!).toBeGreaterThanOrEqual(250 - CLOCK_SLACK_MS);
      }
      expect(started[5]! - started[0]!).toBeGreaterThanOrEqual(500 - CLOCK_SLACK_MS);
    });

    const RATE_LIMIT_MS = 800;
    it("a manual rateLimit puts the job back without using an attempt and pauses the queue for the delay", async () => {
      const name = c.queueName("manual-limit");
      const queue = c.queue(name);
      const startedAt: number[] = [];
      let limitedAt = 0;
      const worker: Worker = c.worker(name, async (job) => {
        startedAt.push(Date.now());
        if (startedAt.length === 1) {
          // Long enough that the TTL read below cannot miss it on a loaded machine.
          await worker.rateLimit(RATE_LIMIT_MS);
          limitedAt = Date.now();
          expect(await queue.getRateLimitTtl()).toBeGreaterThan(0);
          throw Worker.RateLimitError();
        }
        return `ran ${job.attemptsStarted} times`;
      });
      await queue.add("m", {}, { jobId: "m", attempts: 1 });
      await waitFor("m to complete", async () => (await queue.getJob("m"))?.finishedOn);
      const job = (await queue.getJob("m"))!;
      expect(await job.getState()).toBe("completed");
      // attempts: 1 and still completed: the rate-limited run did not count as an attempt.
      expect(job.attemptsMade).toBe(1);
      expect(job.returnvalue).toBe("ran 2 times");
      expect(startedAt).toHaveLength(2);
      expect(startedAt[1]! - limitedAt).toBeGreaterThanOrEqual(RATE_LIMIT_MS - CLOCK_SLACK_MS);
    });
  });
}
