import { afterAll, describe, expect, it } from "bun:test";
import { openEmbeddedStore } from "../../../src/embedded/index.ts";

const store = await openEmbeddedStore();
afterAll(() => store.close());

describe("WATCH on the embedded store", () => {
  it("voids EXEC when another client changed a watched key", async () => {
    const [a, b] = [store.connect(), store.connect()];
    await a.watch("w1");
    await b.set("w1", "changed");
    expect(await a.multi().set("w1", "mine").exec()).toBeNull();
    expect(await a.get("w1")).toBe("changed");
  });

  it("ends the watch with EXEC, so the next transaction on the connection runs", async () => {
    const a = store.connect();
    for (let round = 0; round < 3; round++) {
      await a.watch("w2");
      expect(await a.multi().set("w2", String(round)).exec()).toEqual([[null, "OK"]]);
    }
    expect(await a.get("w2")).toBe("2");
  });

  it("does not void a plain pipeline, which is no transaction", async () => {
    const [a, b] = [store.connect(), store.connect()];
    await a.watch("w3");
    await b.set("w3", "changed");
    expect(await a.pipeline().get("w3").exec()).toEqual([[null, "changed"]]);
    // The watch itself still holds for the transaction that follows.
    expect(await a.multi().set("w3", "mine").exec()).toBeNull();
  });
});
