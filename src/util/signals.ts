/**
 * SIGTERM/SIGINT handling shared by the long-running commands: the first signal starts a
 * graceful stop, a second one exits at once (the work cut off is recovered by stalled-job
 * detection).
 */
import type { Logger } from "./logger.ts";

const SIGNAL_NUMBERS: Record<string, number> = { SIGINT: 2, SIGTERM: 15 };

export function stopOnSignals(stop: (signal: string) => Promise<void>, logger: Logger): void {
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      if (stopping) {
        logger.warn({ signal }, "second signal: exiting now; unfinished jobs will be rerun by stalled-job recovery");
        process.exit(128 + SIGNAL_NUMBERS[signal]!);
      }
      stopping = true;
      logger.info({ signal }, "stopping (send the signal again to exit at once)");
      stop(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, "error while stopping");
          process.exit(1);
        },
      );
    });
  }
}
