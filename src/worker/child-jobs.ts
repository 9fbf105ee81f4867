/**
 * Child jobs: how a running handler runs another registered task (an agent's tool call). The
 * child is a real job — enqueued through the Producer on its routed queue, validated, revocable,
 * with its own log and result — and the parent polls it to its end. While the parent waits, its
 * slot is lent out (SlotGate.lend), so a worker whose slots are all held by waiting parents still
 * runs their children instead of deadlocking.
 */
import type { Broker } from "../broker/broker.ts";
import { revokeJob } from "../broker/job-control.ts";
import { waitForJobs } from "../broker/job-waiter.ts";
import { Producer } from "../broker/producer.ts";
import type { ChildJobOutcome, TaskCaller } from "../tasks/define.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { RuntimeError } from "../util/errors.ts";

/** Tools calling tools calling tools: deeper than this is a loop, not a plan. */
export const MAX_CHILD_DEPTH = 3;
/** How long a parent waits for a child whose caller named no limit. */
export const DEFAULT_CHILD_WAIT_MS = 30 * 60_000;
const CHILD_POLL_MS = 100;

export interface ParentJob {
  id: string;
  queue: string;
  /** The parent's own depth (0 for a job nobody waits on). */
  depth: number;
  signal: AbortSignal;
}

export class ChildJobs {
  private readonly producer: Producer;

  constructor(
    private readonly broker: Broker,
    private readonly registry: TaskRegistry,
    /** Gives the parent's slot back while it waits; returns the function that takes it back. */
    private readonly lendSlot: () => () => void,
  ) {
    this.producer = new Producer(broker, registry);
  }

  callerFor(parent: ParentJob): TaskCaller {
    // One slot per parent: lent while any of its children is pending, taken back when none is.
    let pending = 0;
    let reclaimSlot: (() => void) | undefined;
    const waiting = () => {
      if (pending++ === 0) reclaimSlot = this.lendSlot();
      return () => {
        if (--pending === 0) reclaimSlot!();
      };
    };
    return {
      describe: (name) => {
        if (!this.registry.get(name)) return undefined;
        const { description, args_schema } = this.registry.summary(name);
        return { name, description, args_schema };
      },
      run: (name, args, options = {}) => this.run(parent, name, args, options.timeoutMs ?? DEFAULT_CHILD_WAIT_MS, waiting),
    };
  }

  private async run(parent: ParentJob, task: string, args: Record<string, unknown>, timeoutMs: number, waiting: () => () => void): Promise<ChildJobOutcome> {
    if (parent.signal.aborted) throw parent.signal.reason;
    const depth = parent.depth + 1;
    if (depth > MAX_CHILD_DEPTH) {
      throw new RuntimeError(`${task} would be nested ${depth} child jobs deep (at most ${MAX_CHILD_DEPTH}): a task calling itself through tools?`);
    }
    const [child] = await this.producer.enqueue(task, args, { source: "task", parent: { key: `${parent.queue}/${parent.id}`, depth } });
    const doneWaiting = waiting();
    try {
      const [outcome] = await waitForJobs(this.broker, [child!], { timeoutMs, pollMs: CHILD_POLL_MS, signal: parent.signal });
      if (outcome!.state === "did not return") {
        // Aborted parent or the wait ran out: the child must not go on without anyone waiting for it.
        await this.revoke(child!.queue, child!.id);
        if (parent.signal.aborted) throw parent.signal.reason;
        return { ...child!, state: "did not return", error: `no result within ${Math.round(timeoutMs / 1000)}s (is a worker consuming ${child!.queue}?); the child was revoked` };
      }
      return { ...child!, state: outcome!.state, ...(outcome!.result !== undefined ? { result: outcome!.result } : {}), ...(outcome!.error ? { error: outcome!.error } : {}) };
    } finally {
      doneWaiting();
    }
  }

  private async revoke(queue: string, id: string): Promise<void> {
    const job = await this.broker.queue(queue).getJob(id).catch(() => undefined);
    if (job) await revokeJob(this.broker, job).catch(() => undefined);
  }
}
