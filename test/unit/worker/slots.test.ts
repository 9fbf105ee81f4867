import { describe, expect, it } from "bun:test";
import { SlotGate } from "../../../src/worker/slots.ts";

describe("SlotGate", () => {
  it("grants up to its size and serves waiters in arrival order", async () => {
    const gate = new SlotGate(2);
    expect(await gate.acquire()).toBe(true);
    expect(await gate.acquire()).toBe(true);
    const order: string[] = [];
    const first = gate.acquire().then(() => order.push("first"));
    const second = gate.acquire().then(() => order.push("second"));
    gate.release();
    await first;
    expect(order).toEqual(["first"]);
    expect(gate.inUse).toBe(2);
    gate.release();
    await second;
    expect(order).toEqual(["first", "second"]);
  });

  it("answers false to waiters once closed, and releases still count down", async () => {
    const gate = new SlotGate(1);
    await gate.acquire();
    const waiting = gate.acquire();
    gate.close();
    expect(await waiting).toBe(false);
    expect(await gate.acquire()).toBe(false);
    gate.release();
    expect(gate.inUse).toBe(0);
  });
});

describe("SlotGate.lend", () => {
  it("hands a lent slot to a waiter and takes it back without waiting, overcommitted until a release", async () => {
    const gate = new SlotGate(1);
    expect(await gate.acquire()).toBe(true);
    const waiting = gate.acquire();
    const takeBack = gate.lend();
    expect(await waiting).toBe(true); // the waiting job got the parent's slot
    takeBack();
    expect(gate.inUse).toBe(2);
    expect(gate.overcommitted).toBe(true);
    takeBack(); // idempotent
    expect(gate.inUse).toBe(2);
    let granted = false;
    const next = gate.acquire().then(() => (granted = true));
    gate.release(); // the extra slot goes away instead of passing to the waiter
    await Bun.sleep(0);
    expect(gate.overcommitted).toBe(false);
    expect(granted).toBe(false);
    gate.release();
    await next;
    expect(gate.inUse).toBe(1);
  });
});
