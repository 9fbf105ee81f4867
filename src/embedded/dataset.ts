/**
 * The store's keyspace, replacing ioredis-mock's per-context data object (same interface:
 * get/set/has/delete/keys). Differences, each on purpose:
 * - get() returns the stored value, not a copy: ioredis-mock copied whole lists, hashes and
 *   zsets on every read, about half of the time spent inside BullMQ's scripts. Its commands
 *   always write a value back with set() after changing it, so sharing is safe.
 * - an empty list, set or zset does not exist, as in Redis (EXISTS, TYPE and BullMQ's checks
 *   depend on it): has() and keys() skip it at once, and it is deleted after the current
 *   command. Not at set() time, because ioredis-mock's commands create a key with
 *   `has(key) || set(key, [])` and then read it back.
 * - every change is announced, so blocked commands (BZPOPMIN, XREAD BLOCK) can be woken.
 */
import { EventEmitter } from "node:events";

export class Expires {
  private readonly at = new Map<string, number>();
  get(key: string): number | undefined {
    return this.at.get(key);
  }
  set(key: string, timestamp: number): void {
    this.at.set(key, +timestamp);
  }
  has(key: string): boolean {
    return this.at.has(key);
  }
  isExpired(key: string): boolean {
    const at = this.at.get(key);
    return at !== undefined && at <= Date.now();
  }
  delete(key: string): void {
    this.at.delete(key);
  }
  clear(): void {
    this.at.clear();
  }
  entries(): IterableIterator<[string, number]> {
    return this.at.entries();
  }
  withKeyPrefix(): this {
    return this;
  }
}

export interface ZEntry {
  score: number;
  value: string;
}

/** Redis orders a zset by score, then by member bytes. */
export function compareZEntries(a: ZEntry, b: ZEntry): number {
  return a.score - b.score || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0);
}

function isEmptyContainer(value: unknown): boolean {
  if (Array.isArray(value)) return value.length === 0;
  if (value instanceof Map || value instanceof Set) return value.size === 0;
  return false;
}

export class Dataset {
  readonly values = new Map<string, unknown>();
  readonly expires = new Expires();
  /** Emits "modified" with the key after each change. */
  readonly events = new EventEmitter().setMaxListeners(0);
  /** Bumped on every change; persistence writes a snapshot only when it moved. */
  version = 0;

  private expireIfDue(key: string): void {
    if (this.expires.isExpired(key)) this.delete(key);
  }

  get(key: string): any {
    this.expireIfDue(key);
    return this.values.get(key);
  }

  has(key: string): boolean {
    this.expireIfDue(key);
    return this.values.has(key) && !isEmptyContainer(this.values.get(key));
  }

  set(key: string, value: unknown): void {
    if (isEmptyContainer(value)) this.scheduleEmptySweep(key);
    this.values.set(key, value);
    this.changed(key);
  }

  private readonly maybeEmpty = new Set<string>();

  private scheduleEmptySweep(key: string): void {
    if (this.maybeEmpty.size === 0) {
      queueMicrotask(() => {
        for (const candidate of this.maybeEmpty) {
          if (isEmptyContainer(this.values.get(candidate))) this.values.delete(candidate);
        }
        this.maybeEmpty.clear();
      });
    }
    this.maybeEmpty.add(key);
  }

  delete(key: string): void {
    this.expires.delete(key);
    if (this.values.delete(key)) this.changed(key);
    else this.sortedCache.delete(key);
  }

  keys(): string[] {
    const keys: string[] = [];
    for (const key of this.values.keys()) {
      if (!this.expires.isExpired(key) && !isEmptyContainer(this.values.get(key))) keys.push(key);
    }
    return keys;
  }

  clear(): void {
    this.sortedCache.clear();
    this.values.clear();
    this.expires.clear();
    this.version++;
  }

  withKeyPrefix(): this {
    return this;
  }

  /** Sorted members of a zset, re-sorted only after the key changed (ioredis-mock sorted with lodash on every range query). */
  sortedZset(key: string): ZEntry[] {
    const cached = this.sortedCache.get(key);
    if (cached) return cached;
    const map = this.get(key);
    if (!(map instanceof Map)) return [];
    const sorted = [...(map as Map<string, ZEntry>).values()].sort(compareZEntries);
    this.sortedCache.set(key, sorted);
    return sorted;
  }

  private readonly sortedCache = new Map<string, ZEntry[]>();

  /**
   * Stores a zset changed by `update` and keeps its sorted view instead of re-sorting: BullMQ
   * adds one member and trims a few per job to sets of thousands (completed, failed). `update`
   * edits the view in place (splices, no copy of the whole set): callers of sortedZset() only
   * read it within one command.
   */
  setZsetSorted(key: string, map: Map<string, ZEntry>, update: (sorted: ZEntry[]) => void): void {
    const cached = this.sortedCache.get(key);
    this.set(key, map);
    if (cached && map.size > 0) {
      update(cached);
      this.sortedCache.set(key, cached);
    }
  }

  private changed(key: string): void {
    this.sortedCache.delete(key);
    this.version++;
    this.events.emit("modified", key);
  }
}
