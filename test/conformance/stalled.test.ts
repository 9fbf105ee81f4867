/**
 * Conformance: stalled-job recovery. A job whose lock expires (its worker died, or stopped
 * renewing) is found by a stalled check and either handed to another worker or, past
 * maxStalledCount, failed. Short lockDuration/stalledInterval keep this under a second.
 */
import { describe, expect, it, setDefaultTimeout } from "bun:test";
import { BACKENDS } from "./backends.ts";
import { gate, nextEvent, useBackend, waitFor } from "./harness.ts";

setDefaultTimeout(30_000);

for (const backend of BACKENDS) {
  describe(`stalled jobs [${backend.name}]`, () => {
    const c = useBackend(backend);

    it("a job left active by a worker that died is recovered and completed by another worker", async () => {
      const name = c.queueName("stalled-recover");
      const queue = c.queue(name);
      const events = await c.events(name);
      const stalledEvent = nextEvent<[{ jobId: string }]>(events, "stalled");
      const hang = gate();
      c.defer(() => hang.open());
      const started = gate<string>();
      const dying = c.worker(
        name,
        async (job) => {
          started.open(job.id!);
          await hang.promise;
          return "from the dead worker";
        },
        // No stalled check of its own: the first check of a queue sets `stalled-check` for the
        // checking worker's stalledInterval, which would hold off the rescuer's checks.
        { lockDuration: 300, skipStalledCheck: true, name: "dying" },
      );
      await queue.add("s", { v: 1 }, { jobId: "s1" });
      expect(await started.promise).toBe("s1");
      // Forced close: no waiting for the job, no more lock renewals — as if the process died.
      await dying.close(true);
      expect(await (await queue.getJob("s1"))!.getState()).toBe("active");

      const rescuer = c.worker(name, async (job) => `rescued ${job.data.v}`, {
        lockDuration: 300,
        stalledInterval: 150,
        name: "rescuer",
      });
      const workerStalled = nextEvent<[string, string]>(rescuer, "stalled");
      await waitFor("s1 to complete", async () => (await queue.getJob("s1"))?.finishedOn);
      const job = (await queue.getJob("s1"))!;
      expect(await job.getState()).toBe("completed");
      expect(job.returnvalue).toBe("rescued 1");
      expect(job.stalledCounter).toBe(1);
      expect(job.attemptsStarted).toBe(2);
      expect(job.attemptsMade).toBe(1);
      const [stalledId, prev] = await workerStalled;
      expect(stalledId).toBe("s1");
      expect(prev).toBe("active");
      expect((await stalledEvent)[0].jobId).toBe("s1");
    });

    it("a job whose lock is not renewed fails once it stalls more than maxStalledCount times", async () => {
      const name = c.queueName("stalled-fail");
      const queue = c.queue(name);
      const hang = gate();
      c.defer(() => hang.open());
      const worker = c.worker(
        name,
        async () => {
          await hang.promise;
        },
        // concurrency 2: BullMQ 6 does not fail an over-stalled job in the stalled check; it marks
        // it (`defa`) and moves it to wait, and the next fetch fails it. A free slot must fetch it.
        { skipLockRenewal: true, lockDuration: 200, stalledInterval: 100, maxStalledCount: 0, concurrency: 2 },
      );
      const stalled = nextEvent<[string]>(worker, "stalled");
      const events = await c.events(name);
      const failed = nextEvent<[{ jobId: string; failedReason: string; prev?: string }]>(events, "failed");
      await queue.add("s", {}, { jobId: "s2", attempts: 3 });
      const [event] = await failed;
      expect(event.jobId).toBe("s2");
      expect(event.failedReason).toMatch(/stalled more than allowable limit/);
      expect((await stalled)[0]).toBe("s2");
      const job = (await queue.getJob("s2"))!;
      expect(await job.getState()).toBe("failed");
      expect(job.failedReason).toMatch(/stalled more than allowable limit/);
      expect(job.stalledCounter).toBe(1);
      // A stall past the limit fails the job for good, whatever attempts are left.
      expect(job.attemptsMade).toBeLessThan(3);
      expect(await queue.getJobCounts("active", "waiting", "delayed")).toEqual({ active: 0, waiting: 0, delayed: 0 });
    });
  });
}
