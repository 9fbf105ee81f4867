/**
 * Conformance: the differential check. The same deterministic scenario (differential.ts) runs on
 * each backend; the datasets it leaves must hold the same keys, types and values once the
 * normalisations listed in NORMALISATIONS are applied.
 */
import { beforeAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { embeddedBackend, redisBackend, type Backend, type BackendHandle } from "./backends.ts";
import { diffDumps, dumpKeys, normalise, runScenario, type Dump, type ScenarioResult } from "./differential.ts";

setDefaultTimeout(30_000);

interface Run {
  result: ScenarioResult;
  raw: Dump;
  dump: Dump;
}

async function runOn(backend: Backend): Promise<Run> {
  const handle: BackendHandle = await backend.start();
  try {
    const result = await runScenario(() => handle.connection());
    const reader = handle.connection();
    const raw = await dumpKeys(reader);
    reader.disconnect();
    return { result, raw, dump: normalise(raw) };
  } finally {
    await handle.stop();
  }
}

describe("differential check", () => {
  let reference: Run;
  let control: Run;

  beforeAll(async () => {
    // Two runs on two fresh redis-servers: the reference, and a control that shows the scenario
    // plus normalisations leave nothing that varies from run to run.
    reference = await runOn(redisBackend);
    control = await runOn(redisBackend);
  });

  it("the scenario reaches every state it is meant to leave behind", () => {
    expect(reference.result.fetched).toEqual(["a", "b", "c", "u1", "k", "b", "p", "fc1"]);
    const keys = Object.keys(reference.dump);
    for (const key of [
      "diff:main:a", "diff:main:b", "diff:main:d", "diff:main:p", "diff:main:p:lock", "diff:main:u1",
      "diff:main:a:logs", "diff:main:k:logs", "diff:main:completed", "diff:main:failed", "diff:main:active",
      "diff:main:delayed", "diff:main:events", "diff:main:meta", "diff:main:id", "diff:main:de:ttl", "diff:main:t",
      "diff:flows:fp", "diff:flows:fp:processed", "diff:flows:fp:dependencies", "diff:flows:waiting-children",
    ]) {
      expect(keys).toContain(key);
    }
    // removeOnComplete: true deleted c; u2 was deduplicated away; u1's deduplication ended when it completed.
    expect(keys).not.toContain("diff:main:de:once");
    expect(keys).not.toContain("diff:main:c");
    expect(keys).not.toContain("diff:main:u2");
    expect(reference.raw["diff:main:b"]?.data).toMatchObject({ type: "hash", value: { failedReason: "beta failed on attempt 2", atm: "2" } });
    expect(reference.raw["diff:main:p:lock"]).toEqual({ expires: true, data: { type: "string", value: "diff-token-0001" } });
    expect(reference.raw["diff:main:de:ttl"]).toEqual({ expires: true, data: { type: "string", value: "t" } });
  });

  it("two runs on redis leave identical normalised datasets", () => {
    expect(control.result).toEqual(reference.result);
    expect(diffDumps(reference.dump, control.dump, ["first run", "second run"])).toEqual([]);
  });

  it("the comparison fails on a changed value, a missing or extra key, a changed type or a lost expiry", () => {
    const tampered: Dump = structuredClone(reference.dump);
    const job = tampered["diff:main:a"]!;
    if (job.data.type !== "hash") throw new Error("diff:main:a is not a hash");
    job.data.value.returnvalue = '{"ok":false}';
    delete tampered["diff:main:u1"];
    tampered["diff:main:extra"] = { expires: false, data: { type: "string", value: "x" } };
    tampered["diff:main:id"] = { expires: false, data: { type: "list", value: ["8"] } };
    tampered["diff:main:p:lock"] = { ...tampered["diff:main:p:lock"]!, expires: false };
    const completed = tampered["diff:main:completed"]!;
    if (completed.data.type !== "zset") throw new Error("completed is not a zset");
    completed.data.value = [...completed.data.value].reverse();
    expect(diffDumps(reference.dump, tampered, ["redis", "tampered"])).toEqual([
      `diff:main:a [returnvalue]: "{\\"ok\\":true}" in redis, "{\\"ok\\":false}" in tampered`,
      expect.stringMatching(/^diff:main:completed \(zset\): /),
      "diff:main:extra: only in tampered (string)",
      "diff:main:id: type string in redis, list in tampered",
      "diff:main:p:lock: expires in redis, persistent in tampered",
      "diff:main:u1: only in redis (hash)",
    ]);
    // And a raw dump is not equal to itself normalised: the normalisations do something.
    expect(diffDumps(reference.raw, reference.dump).length).toBeGreaterThan(0);
  });

  describe("embedded store", () => {
    let embedded: Run;
    beforeAll(async () => {
      embedded = await runOn(embeddedBackend);
    });

    it("fetches the jobs in the same order as redis", () => {
      expect(embedded.result).toEqual(reference.result);
    });

    it("leaves the same keys, types and values as redis", () => {
      expect(diffDumps(reference.dump, embedded.dump, ["redis", "embedded"])).toEqual([]);
    });
  });
});
