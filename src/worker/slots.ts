/**
 * The process-wide slot count: N jobs at once per process across all its queues (BullMQ only
 * limits concurrency per queue). A slot is held from before a job is taken off a queue until
 * it finishes, so no job is taken without a free slot.
 */
export class SlotGate {
  private used = 0;
  private readonly waiters: Array<(granted: boolean) => void> = [];
  private closed = false;

  constructor(readonly size: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Resolves true with a slot held, or false once the gate is closed (shutdown: fetch nothing). */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    // Overcommitted (a lent slot was taken back): the released slot is the extra one, it goes away.
    const next = this.used <= this.size ? this.waiters.shift() : undefined;
    if (next) {
      next(true); // the slot passes straight to the next waiter
      return;
    }
    this.used = Math.max(0, this.used - 1);
  }

  /** More slots held than the gate has: a lent slot was taken back while all others were busy. */
  get overcommitted(): boolean {
    return this.used > this.size;
  }

  /**
   * Gives a held slot back while its job waits on a child job, so that the child (or any other
   * job) can run here; the returned function takes it back without waiting. Taking it back may
   * hold one slot more than the gate has until the next job ends (see `overcommitted`): the
   * parent must resume at once, and waiting for a slot there could deadlock.
   */
  lend(): () => void {
    this.release();
    let returned = false;
    return () => {
      if (returned) return;
      returned = true;
      this.used++;
    };
  }

  /** Stops granting slots; pending acquisitions resolve false. Held slots are still released normally. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter(false);
  }
}
