/**
 * Keeps this beat's place in the lease: the active beat renews every third of the TTL; a standby
 * asks again when the holder's lease runs out (or every STANDBY_POLL_MS), so it takes over within
 * the TTL of the active beat's last renewal. While Redis cannot be reached, an active beat stays
 * active only until the lease it last renewed would have expired.
 */
import type { BeatLease } from "../broker/beat-lease.ts";
import { reconnectDelay } from "../broker/connections.ts";
import type { BeatRole } from "../broker/worker-registry.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { withTimeout } from "../util/timeout.ts";
import { WakeableSleep } from "../util/wakeable-sleep.ts";

/** The longest a standby waits between two looks at the lease. */
export const STANDBY_POLL_MS = 500;

export interface LeadershipEvents {
  acquired(token: number): void;
  /** Called before the role changes away from active; dispatching must stop. */
  lost(reason: string): Promise<void>;
}

export class Leadership {
  role: BeatRole = "standby";
  token: number | null = null;
  holder: string | null = null;
  /** When Redis last answered the lease request (epoch ms, 0 = never). */
  lastContactAt = 0;
  private validUntil = 0;
  private expiryTimer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private loop?: Promise<void>;
  private readonly sleeper = new WakeableSleep();

  constructor(
    private readonly lease: BeatLease,
    private readonly logger: Logger,
    private readonly events: LeadershipEvents,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  /** Steps down at once (the scheduler found the lease lost or a newer token in the state). */
  async stepDown(reason: string): Promise<void> {
    if (this.role !== "active") return;
    await this.loseLeadership(reason);
    this.sleeper.wake();
  }

  /** Stops the loop and, when active, releases the lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.sleeper.wake();
    await this.loop;
    if (this.role === "active" && this.token !== null) {
      const token = this.token;
      await this.loseLeadership("shutting down");
      await withTimeout(this.lease.release(token), this.requestTimeoutMs, () => new Error("release timed out")).catch(() => false);
    }
  }

  /** A lease request that takes longer counts as failed: a hung connection must not keep a beat active. */
  private get requestTimeoutMs(): number {
    return Math.min(2000, this.lease.ttlMs / 3);
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      let waitMs: number;
      try {
        const status = await withTimeout(this.lease.acquireOrRenew(), this.requestTimeoutMs, () => new Error(`Redis did not answer the lease request within ${this.requestTimeoutMs} ms`));
        this.lastContactAt = Date.now();
        failures = 0;
        if (status.held) {
          if (this.token !== status.token) {
            if (this.role === "active") await this.loseLeadership("the lease was taken again with a new token");
            this.token = status.token;
            this.role = "active";
            this.holder = this.lease.beatId;
            this.logger.info({ lease_token: status.token }, "became active: holding the lease");
            this.events.acquired(status.token);
          }
          this.holdUntil(status.validUntil);
          waitMs = this.lease.ttlMs / 3;
        } else {
          if (this.role === "active") await this.loseLeadership(`the lease is held by ${status.holder}`);
          if (this.role !== "standby" || this.holder !== status.holder) this.logger.info({ holder: status.holder }, "standing by: another beat holds the lease");
          this.role = "standby";
          this.holder = status.holder;
          waitMs = Math.min(STANDBY_POLL_MS, Math.max(10, status.expiresInMs + 5));
        }
      } catch (error) {
        failures++;
        waitMs = reconnectDelay(failures);
        if (this.role === "active") waitMs = Math.min(waitMs, Math.max(50, (this.validUntil - Date.now()) / 3));
        if (this.role !== "active") this.role = "disconnected";
        if (failures === 1 || failures % 10 === 0) this.logger.warn({ err: errorMessage(error), retry_in_ms: waitMs }, "cannot reach Redis for the lease; retrying");
      }
      await this.sleeper.sleep(waitMs);
    }
  }

  /** Stops dispatching the moment the lease may have expired, whatever the renewal loop is waiting for. */
  private holdUntil(validUntil: number): void {
    this.validUntil = validUntil;
    clearTimeout(this.expiryTimer);
    this.expiryTimer = setTimeout(() => {
      if (this.role === "active") void this.loseLeadership("the lease could not be renewed before it expired");
    }, Math.max(0, validUntil - Date.now()));
  }

  private async loseLeadership(reason: string): Promise<void> {
    clearTimeout(this.expiryTimer);
    this.role = "standby";
    this.token = null;
    this.validUntil = 0;
    this.logger.warn({ reason }, "no longer active: stopped dispatching");
    await this.events.lost(reason);
  }
}
