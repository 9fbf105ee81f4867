/**
 * A small full BullMQ scenario run in-process, used by `llmctl doctor` to show that the
 * embedded store does what the roles need from it: return values, retries with backoff that
 * end in failure, delayed jobs, a job scheduler firing, and QueueEvents seeing all of it.
 * It takes a connection factory, so tests can also point it at a real or a broken server.
 */
import { Queue, QueueEvents, Worker, type Job } from "bullmq";
import type { Redis } from "ioredis";
import { errorMessage } from "../util/errors.ts";
import { withTimeout as withDeadline } from "../util/timeout.ts";

export interface SelfTestResult {
  name: string;
  ok: boolean;
  /** What was observed, or what went wrong. */
  detail: string;
  ms: number;
}

export interface SelfTestOptions {
  /** Each part of the scenario fails if it has not finished by then (default 10 s). */
  timeoutMs?: number;
  prefix?: string;
  /** Called as each part finishes, for progress on a terminal. */
  onResult?: (result: SelfTestResult) => void;
}

const QUEUE = "llmctl-self-test";
const DELAY_MS = 300;
const SCHEDULE_EVERY_MS = 200;
const CLOSE_WAIT_MS = 2_000;

class SelfTestFailure extends Error {}

function expectThat(condition: boolean, message: string): void {
  if (!condition) throw new SelfTestFailure(message);
}

function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  return withDeadline(work, ms, () => new SelfTestFailure(`${what} did not happen within ${ms} ms`));
}

async function processJob(job: Job): Promise<unknown> {
  switch (job.name) {
    case "sum":
      await job.updateProgress(50);
      return (job.data.a as number) + (job.data.b as number);
    case "flaky":
      throw new Error(`planned failure on attempt ${job.attemptsMade + 1}`);
    case "delayed":
      return { ranAfterMs: Date.now() - job.timestamp };
    case "tick":
      return "tick";
    default:
      throw new Error(`unknown self-test job ${job.name}`);
  }
}

/** Runs the scenario on connections from `connect` and reports each part; never throws. */
export async function runQueueSelfTest(connect: (name: string) => Redis, options: SelfTestOptions = {}): Promise<SelfTestResult[]> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const prefix = options.prefix ?? "llmctl-self-test";
  const results: SelfTestResult[] = [];
  const record = (result: SelfTestResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  const connections: Redis[] = [];
  const connection = (name: string) => {
    const client = connect(name);
    client.on("error", () => {});
    connections.push(client);
    return client;
  };
  const started = Date.now();
  let queue: Queue | undefined;
  let events: QueueEvents | undefined;
  let worker: Worker | undefined;
  try {
    queue = new Queue(QUEUE, { connection: connection("llmctl:self-test:queue"), prefix });
    events = new QueueEvents(QUEUE, { connection: connection("llmctl:self-test:events"), prefix });
    queue.on("error", () => {});
    events.on("error", () => {});
    await withTimeout(Promise.all([queue.waitUntilReady(), events.waitUntilReady()]), timeoutMs, "connecting");
    const seen = { completed: 0, failed: 0, progress: 0 };
    events.on("completed", () => seen.completed++);
    events.on("failed", () => seen.failed++);
    events.on("progress", () => seen.progress++);
    worker = new Worker(QUEUE, processJob, { connection: connection("llmctl:self-test:worker"), prefix, concurrency: 4 });
    worker.on("error", () => {});
    const ticked = new Promise<Job>((resolve) => worker!.on("completed", (job) => job.name === "tick" && resolve(job)));
    const parts: Array<[string, () => Promise<string>]> = [
      [
        "return values",
        async () => {
          const jobs = await queue!.addBulk([1, 2, 3].map((n) => ({ name: "sum", data: { a: n, b: 10 * n } })));
          const values = await Promise.all(jobs.map((job) => job.waitUntilFinished(events!, timeoutMs)));
          expectThat(JSON.stringify(values) === "[11,22,33]", `expected [11,22,33], got ${JSON.stringify(values)}`);
          return `${jobs.length} jobs returned ${JSON.stringify(values)}`;
        },
      ],
      [
        "retry then fail",
        async () => {
          const job = await queue!.add("flaky", {}, { attempts: 2, backoff: { type: "fixed", delay: 50 } });
          const outcome = await job.waitUntilFinished(events!, timeoutMs).then(
            () => "completed",
            (error: unknown) => errorMessage(error),
          );
          const final = await queue!.getJob(job.id!);
          const state = await final?.getState();
          expectThat(state === "failed", `expected the job to end failed, it is ${state ?? "gone"} (${outcome})`);
          expectThat(final!.attemptsMade === 2, `expected 2 attempts, saw ${final!.attemptsMade}`);
          return `failed after ${final!.attemptsMade} attempts: ${final!.failedReason}`;
        },
      ],
      [
        "delayed job",
        async () => {
          const job = await queue!.add("delayed", {}, { delay: DELAY_MS });
          expectThat((await job.getState()) === "delayed", "the job was not in the delayed set after add");
          const value = (await job.waitUntilFinished(events!, timeoutMs)) as { ranAfterMs: number };
          expectThat(value.ranAfterMs >= DELAY_MS, `ran after ${value.ranAfterMs} ms, before its ${DELAY_MS} ms delay`);
          return `ran ${value.ranAfterMs} ms after add (delay ${DELAY_MS} ms)`;
        },
      ],
      [
        "job scheduler",
        async () => {
          await queue!.upsertJobScheduler("self-test-tick", { every: SCHEDULE_EVERY_MS }, { name: "tick" });
          const job = await withTimeout(ticked, timeoutMs, "a scheduler tick");
          await queue!.removeJobScheduler("self-test-tick");
          return `every ${SCHEDULE_EVERY_MS} ms: job ${job.id} ran`;
        },
      ],
    ];
    await Promise.all(
      parts.map(async ([name, run]) => {
        const partStarted = Date.now();
        try {
          const detail = await withTimeout(run(), timeoutMs, name);
          record({ name, ok: true, detail, ms: Date.now() - partStarted });
        } catch (error) {
          record({ name, ok: false, detail: errorMessage(error), ms: Date.now() - partStarted });
        }
      }),
    );
    // Every job above has finished, so each one's event is in the stream; allow the reader to catch up.
    const eventsStarted = Date.now();
    const expected = { completed: 3 + 1, failed: 1, progress: 3 };
    const caughtUp = () => seen.completed >= expected.completed && seen.failed >= expected.failed && seen.progress >= expected.progress;
    while (!caughtUp() && Date.now() - eventsStarted < Math.min(timeoutMs, 2_000)) await Bun.sleep(20);
    record({
      name: "queue events",
      ok: caughtUp(),
      detail: `saw ${seen.completed} completed, ${seen.failed} failed, ${seen.progress} progress events (expected at least ${expected.completed}, ${expected.failed}, ${expected.progress})`,
      ms: Date.now() - eventsStarted,
    });
  } catch (error) {
    record({ name: "start", ok: false, detail: errorMessage(error), ms: Date.now() - started });
  } finally {
    // Closing waits for the server; one that never answered must not hold the report back.
    const closing = Promise.allSettled([worker?.close(true), events?.close(), queue?.close()]);
    await withTimeout(closing, CLOSE_WAIT_MS, "closing").catch(() => {});
    for (const client of connections) client.disconnect();
  }
  return results;
}
