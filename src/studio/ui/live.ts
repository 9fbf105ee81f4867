/**
 * The dashboard's live state: queues and workers as the event stream reports them, and job
 * events passed on to whichever view shows that job. One EventSource per page; it reconnects by
 * itself, and each (re)connection starts with a snapshot, so nothing needs reloading.
 */
import type { QueueOverview, Worker } from "./api.ts";

export interface JobEvent {
  queue: string;
  id: string;
  event: string;
  task?: string;
  progress?: unknown;
  failed_reason?: string;
  at: string;
}

export type ConnectionState = "idle" | "connecting" | "live" | "reconnecting";

type Listener = () => void;

class LiveState {
  queues: QueueOverview[] = [];
  workers = new Map<string, Worker>();
  connection: ConnectionState = "idle";
  private source?: EventSource;
  private readonly changeListeners = new Set<Listener>();
  private readonly jobListeners = new Set<(event: JobEvent) => void>();
  private readonly connectionListeners = new Set<Listener>();

  /** Called on every change of queues or workers. */
  onChange(listener: Listener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  onJob(listener: (event: JobEvent) => void): () => void {
    this.jobListeners.add(listener);
    return () => this.jobListeners.delete(listener);
  }

  onConnection(listener: Listener): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  private changed(): void {
    for (const listener of this.changeListeners) listener();
  }

  private setConnection(state: ConnectionState): void {
    this.connection = state;
    for (const listener of this.connectionListeners) listener();
  }

  connect(onLost: () => void): void {
    this.source?.close();
    const source = new EventSource("/api/v1/events");
    this.source = source;
    this.setConnection("connecting");
    const read = <T>(event: Event) => JSON.parse((event as MessageEvent<string>).data) as T;
    source.addEventListener("open", () => this.setConnection("live"));
    source.addEventListener("error", () => {
      this.setConnection("reconnecting");
      onLost();
    });
    source.addEventListener("snapshot", (event) => {
      const data = read<{ queues: QueueOverview[]; workers: Worker[] }>(event);
      this.queues = data.queues;
      this.workers = new Map(data.workers.map((worker) => [worker.id, worker]));
      this.setConnection("live");
      this.changed();
    });
    source.addEventListener("queues", (event) => {
      this.queues = read<{ queues: QueueOverview[] }>(event).queues;
      this.changed();
    });
    source.addEventListener("worker", (event) => {
      const { change, worker } = read<{ change: string; worker: Worker }>(event);
      if (change === "down") this.workers.delete(worker.id);
      else this.workers.set(worker.id, worker);
      this.changed();
    });
    source.addEventListener("queue", (event) => {
      const { queue, event: what } = read<{ queue: string; event: string }>(event);
      this.queues = this.queues.map((entry) => (entry.queue === queue ? { ...entry, paused: what === "paused" } : entry));
      this.changed();
    });
    source.addEventListener("job", (event) => {
      const data = read<JobEvent>(event);
      for (const listener of this.jobListeners) listener(data);
    });
  }

  disconnect(): void {
    this.source?.close();
    this.source = undefined;
    this.setConnection("idle");
  }
}

export const live = new LiveState();

/** The state a job event puts the job in, as the job list shows it. */
export function stateAfter(event: string): string | undefined {
  const states: Record<string, string> = {
    added: "waiting",
    waiting: "waiting",
    active: "active",
    completed: "completed",
    failed: "failed",
    delayed: "delayed",
    removed: "removed",
    "waiting-children": "waiting-children",
  };
  return states[event];
}
