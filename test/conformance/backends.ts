/**
 * The two backends the conformance suite runs on: a private redis-server, and the embedded
 * store (ioredis-mock extended so BullMQ's Lua runs, src/embedded/). Every conformance file
 * loops over BACKENDS, so the same assertions hold for both.
 */
import { Redis } from "ioredis";
import { openEmbeddedStore } from "../../src/embedded/index.ts";
import { startRedisServer } from "../helpers/redis-server.ts";

export interface BackendHandle {
  /** A fresh ioredis-compatible client on this backend's dataset; the caller may close it. */
  connection(name?: string): Redis;
  /** Closes every client still open and stops the server or store. */
  stop(): Promise<void>;
}

export interface Backend {
  name: "redis" | "embedded";
  start(): Promise<BackendHandle>;
}

function closeAll(clients: Set<Redis>): void {
  for (const client of clients) {
    if (client.status !== "end") client.disconnect();
  }
  clients.clear();
}

export const redisBackend: Backend = {
  name: "redis",
  async start() {
    const server = await startRedisServer();
    const clients = new Set<Redis>();
    return {
      connection(name) {
        const client = new Redis({
          host: "127.0.0.1",
          port: server.port,
          // BullMQ refuses blocking connections with a retry limit.
          maxRetriesPerRequest: null,
          connectionName: name,
        });
        // Clients still open when the server stops would otherwise print reconnect failures.
        client.on("error", () => {});
        clients.add(client);
        client.once("end", () => clients.delete(client));
        return client;
      },
      async stop() {
        closeAll(clients);
        await server.stop();
      },
    };
  },
};

export const embeddedBackend: Backend = {
  name: "embedded",
  async start() {
    const store = await openEmbeddedStore();
    const clients = new Set<Redis>();
    return {
      connection(name) {
        const client = store.connect({ name });
        clients.add(client);
        return client;
      },
      async stop() {
        closeAll(clients);
        await store.close();
      },
    };
  },
};

export const BACKENDS: Backend[] = [redisBackend, embeddedBackend];
