/**
 * One embedded store: a dataset, a Lua runtime and the clients connected to it. Every client
 * of a store sees the same data; two stores never share anything.
 */
import type { EmbeddedRedis } from "./client.ts";
import { Dataset } from "./dataset.ts";
import { LuaRuntime } from "./lua-runtime.ts";

let stores = 0;

export class StoreInternals {
  readonly dataset = new Dataset();
  readonly lua: LuaRuntime;
  readonly clients = new Set<EmbeddedRedis>();
  /** ioredis-mock keys its own (unused) context by host; a unique one keeps stores apart. */
  readonly hostKey = `llmctl-embedded-${++stores}`;

  constructor(scriptTimeoutMs: number) {
    this.lua = new LuaRuntime({ ms: scriptTimeoutMs });
  }

  /** CLIENT LIST in Redis' format; BullMQ's getWorkers parses `name=`. */
  describeClients(): string {
    return [...this.clients]
      .map((client) => `id=${client.clientId} addr=127.0.0.1:${10000 + client.clientId} laddr=127.0.0.1:6379 fd=${client.clientId} name=${client.clientName} age=0 idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd=client|list user=default lib-name= lib-ver= resp=2`)
      .join("\n") + "\n";
  }
}
