/** Revoking and retrying jobs: the write side of `llmctl job`, shared with the studio. */
import type { Job } from "bullmq";
import type { Broker } from "./broker.ts";
import { Revocations } from "./revocations.ts";
import { ConflictError } from "../util/errors.ts";

const WAITING_STATES = new Set(["waiting", "delayed", "prioritized", "paused", "waiting-children"]);
const FINISHED_STATES = new Set(["completed", "failed"]);

export interface RevokeOutcome {
  id: string;
  queue: string;
  previous_state: string;
  /** removed: it never ran; aborting: its worker is stopping it; finished: nothing left to stop. */
  outcome: "removed" | "aborting" | "finished";
}

export async function revokeJob(broker: Broker, job: Job): Promise<RevokeOutcome> {
  const state = await job.getState();
  const base = { id: job.id!, queue: job.queueName, previous_state: state };
  if (FINISHED_STATES.has(state)) return { ...base, outcome: "finished" };
  // Recorded first, so that a worker taking the job between here and the removal still sees it,
  // and a workflow adding children after this line finds the record (job-flow.ts).
  await new Revocations(broker.connection, broker.keys).record(job.queueName, job.id!);
  // A workflow that has started is not removed: its unfinished children are revoked, and once
  // they have ended it runs one last time and fails with "revoked", listing what ran.
  const children = await revokeUnfinishedChildren(broker, job);
  if (WAITING_STATES.has(state) && children === 0) {
    try {
      await job.remove();
      return { ...base, outcome: "removed" };
    } catch {
      // It became active meanwhile (a locked job cannot be removed): its worker aborts it.
    }
  }
  return { ...base, outcome: "aborting" };
}

/** Revokes the children a flow parent is still waiting for; returns how many children it has had, finished or not. */
async function revokeUnfinishedChildren(broker: Broker, parent: Job): Promise<number> {
  const { processed = {}, unprocessed = [], ignored = {}, failed = [] } = await parent.getDependencies();
  for (const key of unprocessed) {
    // "<prefix>:<queue>:<id>": queue names cannot contain ":", llmctl's job ids do not either.
    const [queue, id] = key.slice(broker.prefix.length + 1).split(":");
    const child = queue && id ? await broker.queue(queue).getJob(id) : undefined;
    if (child) await revokeJob(broker, child);
  }
  return Object.keys(processed).length + unprocessed.length + Object.keys(ignored).length + failed.length;
}

export async function retryJob(job: Job): Promise<{ id: string; queue: string; previous_state: string }> {
  const state = await job.getState();
  if (state !== "failed" && state !== "completed") {
    throw new ConflictError(`job ${job.id} is ${state}; only failed or completed jobs can be retried`, state === "active" ? "wait for it to finish, or revoke it" : undefined);
  }
  await job.retry(state);
  return { id: job.id!, queue: job.queueName, previous_state: state };
}

/** Polls until the job reaches one of the states or the time is up; returns the last state seen. */
export async function waitForState(job: Job, states: string[], timeoutMs: number, pollMs = 100): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let state = await job.getState();
  while (!states.includes(state) && Date.now() < deadline) {
    await Bun.sleep(pollMs);
    state = await job.getState();
  }
  return state;
}
