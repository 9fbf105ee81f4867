/**
 * The fleet the workflow and flowchart integration tests run on: a private redis-server, one
 * worker with a single slot on q1 (where the workflow jobs and unrouted nodes run, so a waiting
 * workflow must not hold that slot) and one worker per host of the `web` role (w1, w2).
 */
import { afterAll, beforeAll } from "bun:test";
import { openBroker, type Broker } from "../../src/broker/broker.ts";
import { BUILTIN_TASKS } from "../../src/tasks/builtin/index.ts";
import type { TaskDefinition } from "../../src/tasks/define.ts";
import { TaskRegistry } from "../../src/tasks/registry.ts";
import { silentLogger } from "../../src/util/logger.ts";
import { start, type WorkerHandle } from "../../src/worker/index.ts";
import { loadedConfig } from "./config.ts";
import { startRedisServer, type RedisServer } from "./redis-server.ts";

export interface GraphWorkers {
  broker(): Broker;
  /** A registry of the built-ins and the test's tasks on the test's config. */
  registry(): TaskRegistry;
}

/** Registers beforeAll/afterAll that start and stop the fleet; `config` must declare q1 and role web with hosts w1, w2. */
export function useGraphWorkers(config: string, tasks: TaskDefinition[]): GraphWorkers {
  let redis: RedisServer;
  let broker: Broker;
  const handles: WorkerHandle[] = [];
  const registry = () => new TaskRegistry([...BUILTIN_TASKS, ...tasks], loadedConfig(config, redis.url).config);
  beforeAll(async () => {
    redis = await startRedisServer();
    const loaded = loadedConfig(config, redis.url);
    broker = await openBroker(loaded, "test");
    for (const options of [{ queues: "q1", concurrency: 1, hostname: "default" }, { role: "web", hostname: "w1", concurrency: 2 }, { role: "web", hostname: "w2", concurrency: 2 }]) {
      handles.push(await start({ loaded, registry: registry(), logger: silentLogger(), graceMs: 2000, ...options }));
    }
  });
  afterAll(async () => {
    await Promise.all(handles.map((handle) => handle.close()));
    await broker.close();
    await redis.stop();
  });
  return { broker: () => broker, registry };
}
