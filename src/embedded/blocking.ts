/**
 * Commands that block a connection: BZPOPMIN (the worker's wait for jobs) and XREAD BLOCK
 * (QueueEvents). A waiter re-checks its keys when one of them changes, in a microtask: scripts
 * run synchronously, so the check happens only after the running script has finished and
 * scripts stay atomic. A disconnect ends the wait with an error, as a closed socket does.
 */
import type { EmbeddedRedis } from "./client.ts";
import { embeddedCommands } from "./commands.ts";
import { entriesAfter, getStream, lastId, parseXread, streamCommands } from "./streams.ts";

/** Resolves with `attempt()`'s first non-null answer, re-tried when one of `keys` changes. */
function waitFor<T>(client: EmbeddedRedis, keys: string[], timeoutMs: number, attempt: () => T | null): Promise<T | null> {
  const first = attempt();
  if (first !== null) return Promise.resolve(first);
  return new Promise<T | null>((resolve, reject) => {
    const watched = new Set(keys);
    let scheduled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      client.store.dataset.events.off("modified", onModified);
      client.off("end", onEnd);
      clearTimeout(timer);
    };
    const onModified = (key: string) => {
      if (!watched.has(key) || scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        let answer: T | null;
        try {
          answer = attempt();
        } catch (error) {
          finish();
          reject(error);
          return;
        }
        if (answer !== null) {
          finish();
          resolve(answer);
        }
      });
    };
    const onEnd = () => {
      finish();
      reject(new Error("Connection is closed."));
    };
    client.store.dataset.events.on("modified", onModified);
    client.on("end", onEnd);
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        finish();
        resolve(null);
      }, timeoutMs);
    }
  });
}

export function bzpopmin(client: EmbeddedRedis, args: string[]): Promise<string[] | null> {
  const timeoutSeconds = Number(args.at(-1));
  if (Number.isNaN(timeoutSeconds) || timeoutSeconds < 0) return Promise.reject(new Error("ERR timeout is not a float or out of range"));
  const keys = args.slice(0, -1);
  return waitFor(client, keys, timeoutSeconds * 1000, () => {
    for (const key of keys) {
      const popped = embeddedCommands.zpopmin!.call(client, key) as string[];
      if (popped.length) return [key, popped[0]!, popped[1]!];
    }
    return null;
  });
}

export function xread(client: EmbeddedRedis, args: string[]): Promise<unknown> {
  const request = parseXread(args);
  if (request.blockMs === undefined) return Promise.resolve(streamCommands.xread!.apply(client, args));
  // `$` is the last id when the command arrives, not when data shows up.
  const ids = request.keys.map((key, index) => (request.ids[index] === "$" ? lastId(getStream(client, key)) : request.ids[index]!));
  return waitFor(client, request.keys, request.blockMs, () => {
    const reply = request.keys
      .map((key, index) => [key, entriesAfter(getStream(client, key), ids[index]!, request.count).map(([id, f]) => [id, [...f]])] as const)
      .filter(([, entries]) => entries.length > 0);
    return reply.length ? reply : null;
  });
}
