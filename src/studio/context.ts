/** What every studio handler can use: the broker's read and write sides, the registry, auth, events, metrics. */
import type { Broker } from "../broker/broker.ts";
import type { Inspector } from "../broker/inspector.ts";
import type { Producer } from "../broker/producer.ts";
import type { TaskRegistry } from "../tasks/registry.ts";
import type { Logger } from "../util/logger.ts";
import type { EventLoopMonitor } from "../util/probes.ts";
import type { StudioAuth } from "./auth.ts";
import type { EventHub } from "./events.ts";
import type { StudioMetrics } from "./metrics.ts";

export interface StudioContext {
  broker: Broker;
  inspector: Inspector;
  producer: Producer;
  registry: TaskRegistry;
  auth: StudioAuth;
  hub: EventHub;
  metrics: StudioMetrics;
  monitor: EventLoopMonitor;
  /** studio.max_body in bytes. */
  maxBodyBytes: number;
  logger: Logger;
}
