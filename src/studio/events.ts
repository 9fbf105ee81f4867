/**
 * Live changes for the dashboard and API clients. Job events come from one BullMQ QueueEvents
 * listener per known queue (a blocking XREAD on the queue's event stream, which the embedded
 * store serves too); worker events from diffs of the heartbeats, polled once a second. Every
 * subscriber shares these listeners; each gets a server-sent event stream.
 */
import type { EventEmitter } from "node:events";
import type { Server } from "bun";
import { QueueEvents } from "bullmq";
import type { Redis } from "ioredis";
import type { Broker } from "../broker/broker.ts";
import type { Inspector, QueueOverview } from "../broker/inspector.ts";
import type { WorkerHeartbeat } from "../broker/worker-registry.ts";
import { errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";

/** QueueEvents events forwarded as `job` events. */
export const JOB_EVENTS = ["added", "waiting", "active", "progress", "completed", "failed", "delayed", "removed", "stalled", "retries-exhausted", "waiting-children"] as const;
/** QueueEvents events forwarded as `queue` events. */
export const QUEUE_EVENTS = ["paused", "resumed"] as const;

export type JobEventName = (typeof JOB_EVENTS)[number];

export interface JobEvent {
  queue: string;
  id: string;
  event: JobEventName;
  /** Task name, on `added` only (the stream carries it there). */
  task?: string;
  /** Progress value, on `progress`. */
  progress?: unknown;
  failed_reason?: string;
  /** The state before, where BullMQ reports it (completed, failed, active). */
  prev?: string;
  at: string;
}

export type StudioEvent =
  | { type: "snapshot"; data: { queues: QueueOverview[]; workers: WorkerHeartbeat[] } }
  | { type: "job"; data: JobEvent }
  | { type: "queue"; data: { queue: string; event: (typeof QUEUE_EVENTS)[number]; at: string } }
  | { type: "worker"; data: { change: "up" | "down" | "update"; worker: WorkerHeartbeat } }
  | { type: "queues"; data: { queues: QueueOverview[] } };

export interface EventHubOptions {
  /** How often heartbeats are read and diffed. */
  workerPollMs?: number;
  /** The least time between two `queues` events; one also follows a quiet spell of five times this. */
  queuesIntervalMs?: number;
  /** Called with each finished job (for the duration histogram). */
  onFinished?: (job: { queue: string; id: string; outcome: "completed" | "failed" }) => void;
}

const FAILED_REASON_MAX = 500;
/** Server-sent comment lines keep proxies and browsers from closing a quiet stream. */
const KEEPALIVE_MS = 15_000;
/** A subscriber this many events behind is dropped (a stuck tab must not grow the studio's memory). */
const MAX_BACKLOG = 2000;

/** How long close() waits for each listener to stop cleanly. */
const CLOSE_WAIT_MS = 1000;

type Listener = (event: StudioEvent) => void;

function workerChanged(before: WorkerHeartbeat, after: WorkerHeartbeat): boolean {
  return before.beat_at !== after.beat_at || before.slots_in_use !== after.slots_in_use || before.processed !== after.processed || before.failed !== after.failed;
}

export class EventHub {
  private readonly listeners = new Set<Listener>();
  private readonly queueEvents = new Map<string, { events: QueueEvents; connection: Redis }>();
  private workers = new Map<string, WorkerHeartbeat>();
  private workerTimer?: ReturnType<typeof setInterval>;
  private queuesTimer?: ReturnType<typeof setInterval>;
  private queuesDirty = true;
  private lastQueuesAt = 0;
  private refreshing = false;
  private closed = false;

  constructor(
    private readonly broker: Broker,
    private readonly inspector: Inspector,
    private readonly logger: Logger,
    private readonly options: EventHubOptions = {},
  ) {}

  async start(): Promise<void> {
    for (const worker of await this.inspector.workers().catch(() => [])) this.workers.set(worker.id, worker);
    await this.listenTo(await this.inspector.queueNames().catch(() => this.broker.declaredQueues()));
    this.workerTimer = setInterval(() => void this.pollWorkers(), this.options.workerPollMs ?? 1000);
    const queuesInterval = this.options.queuesIntervalMs ?? 1000;
    this.queuesTimer = setInterval(() => void this.pushQueues(queuesInterval * 5), queuesInterval);
  }

  /** Queues with a listener, e.g. for tests and `/readyz`. */
  listenedQueues(): string[] {
    return [...this.queueEvents.keys()];
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  private emit(event: StudioEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.logger.warn({ err: errorMessage(error) }, "event subscriber failed");
      }
    }
  }

  private async listenTo(queues: string[]): Promise<void> {
    for (const queue of queues) {
      if (this.queueEvents.has(queue) || this.closed) continue;
      const connection = this.broker.redis.connect({ purpose: "blocking", name: `llmctl:studio:events:${queue}` });
      const events = new QueueEvents(queue, { connection, prefix: this.broker.prefix, autorun: true });
      const emitter = events as unknown as EventEmitter;
      emitter.on("error", (error: unknown) => this.logger.debug({ queue, err: errorMessage(error) }, "queue events listener error (it reconnects)"));
      for (const name of JOB_EVENTS) emitter.on(name, (args: Record<string, unknown>) => this.onJobEvent(queue, name, args));
      for (const name of QUEUE_EVENTS) {
        emitter.on(name, () => {
          this.queuesDirty = true;
          this.emit({ type: "queue", data: { queue, event: name, at: new Date().toISOString() } });
        });
      }
      this.queueEvents.set(queue, { events, connection });
    }
  }

  private onJobEvent(queue: string, event: JobEventName, args: Record<string, unknown>): void {
    const id = String(args.jobId ?? "");
    if (!id) return;
    this.queuesDirty = true;
    const failedReason = typeof args.failedReason === "string" ? args.failedReason.slice(0, FAILED_REASON_MAX) : undefined;
    this.emit({
      type: "job",
      data: {
        queue,
        id,
        event,
        ...(typeof args.name === "string" ? { task: args.name } : {}),
        ...(event === "progress" ? { progress: args.data } : {}),
        ...(failedReason !== undefined ? { failed_reason: failedReason } : {}),
        ...(typeof args.prev === "string" ? { prev: args.prev } : {}),
        at: new Date().toISOString(),
      },
    });
    if (event === "completed" || event === "failed") this.options.onFinished?.({ queue, id, outcome: event });
  }

  /** Diffs the live heartbeats against the last poll; also starts listening to queues new workers consume. */
  private async pollWorkers(): Promise<void> {
    let current: WorkerHeartbeat[];
    try {
      current = await this.inspector.workers();
    } catch {
      return; // Redis away: nothing to diff; the dashboard shows the connection state.
    }
    const next = new Map(current.map((worker) => [worker.id, worker]));
    for (const [id, worker] of next) {
      const before = this.workers.get(id);
      if (!before) this.emit({ type: "worker", data: { change: "up", worker } });
      else if (workerChanged(before, worker)) this.emit({ type: "worker", data: { change: "update", worker } });
    }
    for (const [id, worker] of this.workers) if (!next.has(id)) this.emit({ type: "worker", data: { change: "down", worker } });
    this.workers = next;
    const unheard = current.flatMap((worker) => worker.queues).filter((queue) => !this.queueEvents.has(queue));
    if (unheard.length > 0) await this.listenTo([...new Set(unheard)]);
  }

  /** Pushes queue counts after changes (at most once per interval), or after a quiet spell, while anyone listens. */
  private async pushQueues(quietMs: number): Promise<void> {
    if (this.listeners.size === 0 || this.refreshing) return;
    if (!this.queuesDirty && Date.now() - this.lastQueuesAt < quietMs) return;
    this.refreshing = true;
    this.queuesDirty = false;
    try {
      const queues = await this.inspector.queueOverview();
      this.lastQueuesAt = Date.now();
      this.emit({ type: "queues", data: { queues } });
    } catch {
      this.queuesDirty = true;
    } finally {
      this.refreshing = false;
    }
  }

  /** A text/event-stream response: a snapshot first, then every event until the client goes away. */
  async stream(request: Request, server: Server<unknown>): Promise<Response> {
    // Bun closes connections idle for 10 s by default; an event stream is idle by design.
    server.timeout(request, 0);
    const [queues, workers] = await Promise.all([this.inspector.queueOverview(), this.inspector.workers()]);
    const encoder = new TextEncoder();
    let unsubscribe = () => {};
    let keepalive: ReturnType<typeof setInterval> | undefined;
    const stop = () => {
      unsubscribe();
      clearInterval(keepalive);
    };
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          const send = (event: StudioEvent) => {
            if ((controller.desiredSize ?? 0) < -MAX_BACKLOG) {
              stop();
              controller.close();
              return;
            }
            controller.enqueue(encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`));
          };
          // Reconnect after 2 s when the connection drops (EventSource does this by itself).
          controller.enqueue(encoder.encode("retry: 2000\n\n"));
          send({ type: "snapshot", data: { queues, workers } });
          unsubscribe = this.subscribe(send);
          keepalive = setInterval(() => {
            try {
              controller.enqueue(encoder.encode(": keep-alive\n\n"));
            } catch {
              stop();
            }
          }, KEEPALIVE_MS);
          request.signal.addEventListener("abort", () => {
            stop();
            try {
              controller.close();
            } catch {
              // already closed
            }
          });
        },
        cancel: stop,
      },
      { highWaterMark: 0 },
    );
    return new Response(body, {
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-store", "x-accel-buffering": "no", connection: "keep-alive" },
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.workerTimer);
    clearInterval(this.queuesTimer);
    this.listeners.clear();
    await Promise.allSettled(
      [...this.queueEvents.values()].map(async ({ events, connection }) => {
        // While Redis is down BullMQ's close waits for a reconnect that may never come; give up after a moment.
        await Promise.race([events.close().catch(() => {}), Bun.sleep(CLOSE_WAIT_MS)]);
        connection.disconnect();
      }),
    );
    this.queueEvents.clear();
  }
}
