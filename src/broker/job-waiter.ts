/** Following jobs to their end, for `llmctl task --wait` and smoke checks. */
import type { Broker } from "./broker.ts";
import type { EnqueuedJob } from "./producer.ts";

export type FinalState = "completed" | "failed" | "removed" | "did not return";

export interface JobOutcome {
  job: EnqueuedJob;
  state: FinalState;
  result?: unknown;
  error?: string;
}

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  /** Called on each poll with every job's progress as a fraction 0–1 (finished jobs count 1). */
  onProgress?: (fractions: number[], finished: number) => void;
  /** Stops waiting early; jobs not finished by then are reported as "did not return". */
  signal?: AbortSignal;
}

function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return Bun.sleep(ms);
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal!.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

function fractionOf(progress: unknown): number {
  if (typeof progress === "number") return Math.max(0, Math.min(1, progress / 100));
  if (progress && typeof progress === "object" && "percent" in progress && typeof progress.percent === "number") return progress.percent / 100;
  return 0;
}

export async function waitForJobs(broker: Broker, jobs: EnqueuedJob[], options: WaitOptions): Promise<JobOutcome[]> {
  const deadline = Date.now() + options.timeoutMs;
  const outcomes = new Map<number, JobOutcome>();
  const fractions = jobs.map(() => 0);
  for (;;) {
    await Promise.all(
      jobs.map(async (enqueued, index) => {
        if (outcomes.has(index)) return;
        const queue = broker.queue(enqueued.queue);
        // State first, then the job: read the other way round, a job that finishes in between
        // would look failed without its reason.
        const state = await queue.getJobState(enqueued.id);
        const job = state === "unknown" ? undefined : await queue.getJob(enqueued.id);
        if (!job) {
          outcomes.set(index, { job: enqueued, state: "removed", error: "the job was removed (revoked before it ran, or cleaned up)" });
          fractions[index] = 1;
        } else if (state === "completed") {
          outcomes.set(index, { job: enqueued, state: "completed", result: job.returnvalue ?? null });
          fractions[index] = 1;
        } else if (state === "failed") {
          outcomes.set(index, { job: enqueued, state: "failed", error: job.failedReason });
          fractions[index] = 1;
        } else {
          fractions[index] = fractionOf(job.progress);
        }
      }),
    );
    options.onProgress?.(fractions, outcomes.size);
    if (outcomes.size === jobs.length || Date.now() >= deadline || options.signal?.aborted) break;
    await sleepUnlessAborted(Math.min(options.pollMs ?? 200, Math.max(0, deadline - Date.now())), options.signal);
  }
  return jobs.map((job, index) => outcomes.get(index) ?? { job, state: "did not return" });
}
