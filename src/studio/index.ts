/**
 * The studio role: the JSON API, the live dashboard, probes and /metrics on one Bun.serve. It
 * enqueues, inspects, retries, revokes and pauses; it never runs a job. `llmctl up` will start it
 * beside a worker and beat on one shared Broker, so it takes an optional broker and registry.
 */
import { openBroker, type Broker } from "../broker/broker.ts";
import { Inspector } from "../broker/inspector.ts";
import { Producer } from "../broker/producer.ts";
import type { Env } from "../config/env.ts";
import type { LoadedConfig } from "../config/load.ts";
import { loadTaskRegistry } from "../tasks/load.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import { RuntimeError, UsageError, errorMessage } from "../util/errors.ts";
import type { Logger } from "../util/logger.ts";
import { EventLoopMonitor } from "../util/probes.ts";
import { parseBytes } from "../util/bytes.ts";
import { API_ROUTES } from "./api.ts";
import { isLoopbackHost, resolveStudioToken, StudioAuth } from "./auth.ts";
import type { StudioContext } from "./context.ts";
import { EventHub } from "./events.ts";
import { StudioMetrics } from "./metrics.ts";
import { buildRoutes } from "./server.ts";
import dashboard from "./ui/index.html";

export interface StudioStartOptions {
  loaded: LoadedConfig;
  logger: Logger;
  /** Overrides studio.host / studio.port. */
  host?: string;
  port?: number;
  /** Serve without a token on a non-loopback address. */
  insecure?: boolean;
  tokenFile?: string;
  /** A token chosen by the caller (`llmctl up` generates one); wins over every other source. */
  token?: string;
  /** Where LLMCTL_STUDIO_TOKEN is read from (default: process.env). */
  env?: Env;
  tasksDir?: string;
  /** Shared by `llmctl up`; otherwise the studio opens and closes its own. */
  broker?: Broker;
  registry?: TaskRegistry;
  /** Heartbeat diff interval of the event stream (tests shorten it). */
  workerPollMs?: number;
}

export interface StudioHandle {
  /** Where to open the dashboard, e.g. http://127.0.0.1:8080/ */
  url: string;
  host: string;
  port: number;
  /** Whether a token guards the API. */
  authRequired: boolean;
  close(): Promise<void>;
}

function urlHost(host: string): string {
  if (host === "0.0.0.0") return "127.0.0.1";
  if (host === "::") return "[::1]";
  return host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
}

export async function start(options: StudioStartOptions): Promise<StudioHandle> {
  const { config } = options.loaded;
  const settings = config.studio;
  const host = options.host ?? settings.host;
  const port = options.port ?? settings.port;
  const maxBodyBytes = parseBytes(settings.max_body)!;
  const { token, origin } = resolveStudioToken({ token: options.token, tokenFile: options.tokenFile, env: options.env ?? process.env, config, configPath: options.loaded.path });
  if (!token && !isLoopbackHost(host) && !options.insecure) {
    throw new UsageError(
      `refusing to serve the studio on ${host} without a token: anyone who can reach it could enqueue, retry and revoke jobs`,
      "set LLMCTL_STUDIO_TOKEN or --token-file (or studio.token_file), bind to 127.0.0.1, or pass --insecure if something in front of it authenticates",
    );
  }
  const logger = options.logger;
  const registry = options.registry ?? (await loadTaskRegistry(config, { tasksDir: options.tasksDir, configPath: options.loaded.path }));
  const ownsBroker = !options.broker;
  const broker = options.broker ?? (await openBroker(options.loaded, `llmctl:studio:${process.pid}`));
  const inspector = new Inspector(broker);
  const monitor = new EventLoopMonitor();
  monitor.start();
  const metrics = new StudioMetrics(broker, inspector, logger);
  const hub = new EventHub(broker, inspector, logger, { workerPollMs: options.workerPollMs, onFinished: (job) => metrics.jobFinished(job) });
  const context: StudioContext = {
    broker,
    inspector,
    producer: new Producer(broker, registry),
    registry,
    auth: new StudioAuth(token, settings.public_read),
    hub,
    metrics,
    monitor,
    maxBodyBytes,
    logger,
  };
  const stopAll = async () => {
    await hub.close();
    metrics.close();
    monitor.stop();
    if (ownsBroker) await broker.close();
  };
  let server: Bun.Server<unknown>;
  try {
    await hub.start();
    const { routes, fallback } = buildRoutes(API_ROUTES, context, dashboard);
    server = Bun.serve({
      hostname: host,
      port,
      development: false,
      routes,
      fetch: fallback,
      error: (error) => new Response(JSON.stringify({ error: { code: "internal", message: `internal error: ${errorMessage(error)}` } }), { status: 500 }),
    });
  } catch (error) {
    await stopAll();
    if ((error as NodeJS.ErrnoException).code === "EADDRINUSE" || /in use/i.test(errorMessage(error))) {
      throw new RuntimeError(`cannot listen on ${host}:${port}: the port is in use`, "pick another with --port (or studio.port), or stop what listens there");
    }
    throw error;
  }
  const boundPort = server.port ?? port;
  const url = `http://${urlHost(host)}:${boundPort}/`;
  if (!token) logger.warn({ host }, `no studio token: anyone who can reach ${url} can enqueue and revoke jobs`);
  logger.info({ url, auth: token ? `token from ${origin}` : "none", public_read: settings.public_read, redis: broker.redis.description }, "studio started");
  let closed = false;
  return {
    url,
    host,
    port: boundPort,
    authRequired: token !== undefined,
    async close() {
      if (closed) return;
      closed = true;
      await server.stop(true);
      await stopAll();
      logger.info("studio stopped");
    },
  };
}
