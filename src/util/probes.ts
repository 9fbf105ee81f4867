/**
 * The HTTP probes every long-running role serves: /healthz (alive: the event loop is not stuck),
 * /readyz (connected and doing its job), /metrics (Prometheus text).
 */
import type { Server } from "bun";

/** The event loop counts as stuck when a 200 ms timer fires this late. */
export const STUCK_EVENT_LOOP_MS = 2000;

export class EventLoopMonitor {
  private timer?: ReturnType<typeof setInterval>;
  private last = performance.now();
  private worstRecent = 0;
  private worstAt = 0;

  start(intervalMs = 200): void {
    this.last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - this.last - intervalMs);
      this.last = now;
      if (lag >= this.worstRecent || now - this.worstAt > 10_000) {
        this.worstRecent = lag;
        this.worstAt = now;
      }
    }, intervalMs);
    this.timer.unref?.();
  }

  /** The worst lag seen in the last ten seconds, in milliseconds. */
  lagMs(): number {
    return Math.round(this.worstRecent);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

export interface Readiness {
  ready: boolean;
  detail: Record<string, unknown>;
}

export interface ProbeServerOptions {
  port: number;
  host?: string;
  readiness: () => Promise<Readiness> | Readiness;
  metrics: () => Promise<string> | string;
  metricsContentType?: string;
}

export interface ProbeServer {
  port: number;
  stop(): Promise<void>;
}

function json(body: unknown, status: number): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

/** /healthz: 200 while the event loop keeps up, 503 when it is stuck (the process should be restarted). */
export function healthResponse(monitor: EventLoopMonitor): Response {
  const lag = monitor.lagMs();
  return json({ status: lag < STUCK_EVENT_LOOP_MS ? "ok" : "stuck", event_loop_lag_ms: lag }, lag < STUCK_EVENT_LOOP_MS ? 200 : 503);
}

/** /readyz: 200 when ready for traffic, 503 otherwise, with the detail either way. */
export function readinessResponse(readiness: Readiness): Response {
  return json({ status: readiness.ready ? "ready" : "not ready", ...readiness.detail }, readiness.ready ? 200 : 503);
}

export function startProbeServer(options: ProbeServerOptions): ProbeServer {
  const monitor = new EventLoopMonitor();
  monitor.start();
  const server: Server<undefined> = Bun.serve({
    port: options.port,
    hostname: options.host ?? "0.0.0.0",
    routes: {
      "/healthz": () => healthResponse(monitor),
      "/readyz": async () => readinessResponse(await options.readiness()),
      "/metrics": async () =>
        new Response(await options.metrics(), { headers: { "content-type": options.metricsContentType ?? "text/plain; version=0.0.4; charset=utf-8" } }),
    },
    fetch: () => json({ error: { code: "not_found", message: "probes: /healthz, /readyz, /metrics" } }, 404),
  });
  return {
    port: server.port ?? options.port,
    async stop() {
      monitor.stop();
      await server.stop(true);
    },
  };
}
