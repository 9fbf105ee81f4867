/** Pausing and resuming whole queues: the write side shared by the studio (and later the CLI). */
import type { Broker } from "./broker.ts";

export interface QueuePauseOutcome {
  queue: string;
  paused: boolean;
  /** Whether the queue was paused before the call, so callers can tell a no-op. */
  was_paused: boolean;
}

/**
 * Paused queues keep their jobs and accept new ones; workers take nothing from them until
 * resumed. Running jobs finish. Workers of other queues are not affected.
 */
export async function setQueuePaused(broker: Broker, name: string, paused: boolean): Promise<QueuePauseOutcome> {
  const queue = broker.queue(name);
  const wasPaused = await queue.isPaused();
  if (paused && !wasPaused) await queue.pause();
  if (!paused && wasPaused) await queue.resume();
  return { queue: name, paused, was_paused: wasPaused };
}
