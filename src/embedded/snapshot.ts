/**
 * Persistence for `embedded:///path/file`: the whole dataset as one JSON document, written
 * through a temporary file and a rename (src/util/fs.ts) so a crash never leaves half a file,
 * every few seconds when something changed and once more at close. A snapshot that cannot be
 * read is refused and left untouched: overwriting it would turn a recoverable problem into
 * lost jobs.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import { writeFileAtomic } from "../util/fs.ts";
import { LlmctlError, errorMessage } from "../util/errors.ts";
import type { Dataset } from "./dataset.ts";
import type { StreamValue } from "./streams.ts";

const FORMAT = "llmctl-embedded-snapshot";
const VERSION = 1;

export class CorruptSnapshotError extends LlmctlError {
  constructor(path: string, problem: string) {
    super(`the embedded store's snapshot ${path} cannot be loaded: ${problem}`, {
      hint: `move it aside (mv ${path} ${path}.corrupt) to start with an empty store, or restore a good copy; llmctl leaves the file as it is`,
    });
  }
}

type Bytes = string | { b64: string };
type Entry =
  | { k: string; t: "string"; v: Bytes; x?: number }
  | { k: string; t: "list"; v: Bytes[]; x?: number }
  | { k: string; t: "set"; v: Bytes[]; x?: number }
  | { k: string; t: "hash"; v: Array<[string, Bytes]>; x?: number }
  | { k: string; t: "zset"; v: Array<[string, string]>; x?: number }
  | { k: string; t: "stream"; v: { entries: Array<[string, string[]]>; last: [number, number] }; x?: number };

const encodeBytes = (value: unknown): Bytes => (Buffer.isBuffer(value) ? { b64: value.toString("base64") } : String(value));
const decodeBytes = (value: Bytes): string | Buffer => (typeof value === "string" ? value : Buffer.from(value.b64, "base64"));
const scoreText = (score: number) => (score === Infinity ? "inf" : score === -Infinity ? "-inf" : String(score));
const scoreValue = (text: string) => (text === "inf" ? Infinity : text === "-inf" ? -Infinity : Number(text));

function encodeEntry(key: string, value: unknown, expiresAt: number | undefined): Entry {
  const x = expiresAt;
  if (Array.isArray(value)) return { k: key, t: "list", v: value.map(encodeBytes), x };
  if (value instanceof Set) return { k: key, t: "set", v: [...value].map(encodeBytes), x };
  if (value instanceof Map) return { k: key, t: "zset", v: [...value.values()].map((e: { value: string; score: number }) => [e.value, scoreText(e.score)]), x };
  if (value && typeof value === "object" && (value as StreamValue).stream) {
    const stream = value as StreamValue;
    return { k: key, t: "stream", v: { entries: stream.entries, last: [stream.lastMs, stream.lastSeq] }, x };
  }
  if (value && typeof value === "object" && !Buffer.isBuffer(value)) {
    return { k: key, t: "hash", v: Object.entries(value).map(([field, item]) => [field, encodeBytes(item)]), x };
  }
  return { k: key, t: "string", v: encodeBytes(value), x };
}

function decodeEntry(entry: Entry): unknown {
  switch (entry.t) {
    case "string":
      return decodeBytes(entry.v);
    case "list":
      return entry.v.map(decodeBytes);
    case "set":
      return new Set(entry.v.map(decodeBytes));
    case "hash":
      return Object.fromEntries(entry.v.map(([field, item]) => [field, decodeBytes(item)]));
    case "zset":
      return new Map(entry.v.map(([member, score]) => [member, { value: member, score: scoreValue(score) }]));
    case "stream":
      return { stream: true, entries: entry.v.entries, lastMs: entry.v.last[0], lastSeq: entry.v.last[1] } satisfies StreamValue;
    default:
      throw new Error(`unknown value type ${JSON.stringify((entry as { t: unknown }).t)}`);
  }
}

export function serialize(dataset: Dataset): string {
  const entries: Entry[] = [];
  for (const key of dataset.keys()) entries.push(encodeEntry(key, dataset.get(key), dataset.expires.get(key)));
  return JSON.stringify({ format: FORMAT, version: VERSION, savedAt: new Date().toISOString(), entries });
}

/** Loads `path` into `dataset`; a missing file is an empty store, anything unreadable is refused. */
export function loadSnapshot(path: string, dataset: Dataset): void {
  if (!existsSync(path)) return;
  let document: { format?: unknown; version?: unknown; entries?: unknown };
  try {
    document = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new CorruptSnapshotError(path, `it is not valid JSON (${errorMessage(error)})`);
  }
  if (document?.format !== FORMAT) throw new CorruptSnapshotError(path, "it is not an llmctl embedded-store snapshot");
  if (document.version !== VERSION) throw new CorruptSnapshotError(path, `it has format version ${String(document.version)}, this llmctl reads version ${VERSION}`);
  if (!Array.isArray(document.entries)) throw new CorruptSnapshotError(path, "it has no list of entries");
  const loaded = new Map<string, { value: unknown; x?: number }>();
  for (const [index, entry] of (document.entries as Entry[]).entries()) {
    try {
      if (typeof entry?.k !== "string") throw new Error("no key");
      loaded.set(entry.k, { value: decodeEntry(entry), x: entry.x });
    } catch (error) {
      throw new CorruptSnapshotError(path, `entry ${index} is damaged (${errorMessage(error)})`);
    }
  }
  // Only a fully valid file changes the dataset.
  for (const [key, { value, x }] of loaded) {
    dataset.set(key, value);
    if (x !== undefined) dataset.expires.set(key, x);
  }
}

export function writeSnapshot(path: string, dataset: Dataset): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileAtomic(path, serialize(dataset));
}

/** Writes a snapshot every `intervalMs` when the dataset changed since the last one. */
export function startSnapshots(path: string, dataset: Dataset, intervalMs: number): { stop(): void } {
  let written = dataset.version;
  const timer = setInterval(() => {
    if (dataset.version === written) return;
    written = dataset.version;
    try {
      writeSnapshot(path, dataset);
    } catch (error) {
      // The next tick tries again; close() reports a failure of the final write.
      console.error(`llmctl: cannot write the embedded store's snapshot ${path}: ${errorMessage(error)}`);
    }
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
