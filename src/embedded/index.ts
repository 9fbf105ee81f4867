/**
 * The embedded store: an in-process, Redis-compatible dataset that BullMQ runs on unchanged.
 * See docs/embedded-store.md for what it supports and how it differs from Redis.
 */
import type { Redis } from "ioredis";
import { EmbeddedRedis } from "./client.ts";
import { existsSync, statSync } from "node:fs";
import { Dataset } from "./dataset.ts";
import { loadSnapshot, startSnapshots, writeSnapshot } from "./snapshot.ts";
import { lockSnapshot } from "./lock.ts";
import { StoreInternals } from "./store.ts";

export interface EmbeddedStoreOptions {
  /** Snapshot file; without it the data lives in memory only. */
  snapshotPath?: string;
  snapshotIntervalMs?: number;
  /** A script running longer than this is stopped with a BUSY error (default 5000). */
  scriptTimeoutMs?: number;
}

export interface EmbeddedStore {
  /** An ioredis-compatible connection sharing the store's dataset. */
  connect(options?: { name?: string }): Redis;
  /** Closes every connection and writes the final snapshot. */
  close(): Promise<void>;
}

export const DEFAULT_SCRIPT_TIMEOUT_MS = 5_000;
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 3_000;
export { CorruptSnapshotError } from "./snapshot.ts";
export { SnapshotInUseError } from "./lock.ts";

export async function openEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const store = new StoreInternals(options.scriptTimeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS);
  const path = options.snapshotPath;
  const unlock = path ? lockSnapshot(path) : undefined;
  try {
    // Loading throws for a corrupt file before any writer exists, so the file is never overwritten.
    if (path) loadSnapshot(path, store.dataset);
  } catch (error) {
    unlock?.();
    throw error;
  }
  const snapshots = path ? startSnapshots(path, store.dataset, options.snapshotIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS) : undefined;
  let closed = false;
  return {
    connect: (connectOptions) => new EmbeddedRedis(store, connectOptions) as unknown as Redis,
    close: async () => {
      if (closed) return;
      closed = true;
      for (const client of [...store.clients]) client.disconnect();
      snapshots?.stop();
      try {
        if (path) writeSnapshot(path, store.dataset);
      } finally {
        unlock?.();
      }
    },
  };
}

export interface SnapshotSummary {
  exists: boolean;
  keys: number;
  bytes: number;
}

/** Reads a snapshot into a scratch dataset without opening a store: nothing is written. Throws CorruptSnapshotError. */
export function inspectSnapshot(path: string): SnapshotSummary {
  if (!existsSync(path)) return { exists: false, keys: 0, bytes: 0 };
  const scratch = new Dataset();
  loadSnapshot(path, scratch);
  return { exists: true, keys: scratch.keys().length, bytes: statSync(path).size };
}
