/**
 * The jobs whose locks the renewal thread extends, in memory shared with it. A message per job
 * start and finish would wake the thread twice per job, which cost about a third of the
 * throughput of short jobs; here the main thread only writes a slot and the thread reads the
 * table when its renewal timer fires.
 *
 * Each slot has a generation counter used as a seqlock: odd while the main thread rewrites the
 * slot, so the thread skips a slot that changed while it was reading (the job in it is new and
 * its lock fresh, so skipping one renewal round is harmless).
 */
export interface LockEntry {
  queue: string;
  jobId: string;
  token: string;
}

/** Bytes for queue, job id and token together; longer entries go by message instead. */
const ENTRY_BYTES = 488;
const HEADER_INTS = 4; // generation, queue bytes, job id bytes, token bytes
const SLOT_BYTES = HEADER_INTS * 4 + ENTRY_BYTES;

export class LockTable {
  readonly buffer: SharedArrayBuffer;
  private readonly ints: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly encoder = new TextEncoder();
  private readonly decoder = new TextDecoder();

  constructor(bufferOrCapacity: SharedArrayBuffer | number) {
    this.buffer = typeof bufferOrCapacity === "number" ? new SharedArrayBuffer(bufferOrCapacity * SLOT_BYTES) : bufferOrCapacity;
    this.ints = new Int32Array(this.buffer);
    this.bytes = new Uint8Array(this.buffer);
  }

  get capacity(): number {
    return this.buffer.byteLength / SLOT_BYTES;
  }

  /** Writes an entry into a slot the caller owns; false when it does not fit (send it another way). */
  write(slot: number, entry: LockEntry): boolean {
    const base = slot * SLOT_BYTES;
    const header = base / 4;
    let offset = base + HEADER_INTS * 4;
    const end = base + SLOT_BYTES;
    const lengths: number[] = [];
    Atomics.add(this.ints, header, 1); // odd: being written
    for (const text of [entry.queue, entry.jobId, entry.token]) {
      const { read, written } = this.encoder.encodeInto(text, this.bytes.subarray(offset, end));
      if (read !== text.length) {
        Atomics.add(this.ints, header, 1);
        this.clear(slot);
        return false;
      }
      lengths.push(written);
      offset += written;
    }
    for (let i = 0; i < 3; i++) Atomics.store(this.ints, header + 1 + i, lengths[i]!);
    Atomics.add(this.ints, header, 1); // even and non-zero: live
    return true;
  }

  clear(slot: number): void {
    const header = (slot * SLOT_BYTES) / 4;
    Atomics.add(this.ints, header, 1);
    Atomics.store(this.ints, header + 1, 0);
    Atomics.add(this.ints, header, 1);
  }

  /** The live entries, each with the generation it was read at (changes when the slot is reused). */
  read(): Array<LockEntry & { slot: number; generation: number }> {
    const entries: Array<LockEntry & { slot: number; generation: number }> = [];
    for (let slot = 0; slot < this.capacity; slot++) {
      const base = slot * SLOT_BYTES;
      const header = base / 4;
      const generation = Atomics.load(this.ints, header);
      if (generation % 2 === 1) continue;
      const queueBytes = Atomics.load(this.ints, header + 1);
      if (queueBytes === 0) continue;
      const jobBytes = Atomics.load(this.ints, header + 2);
      const tokenBytes = Atomics.load(this.ints, header + 3);
      let offset = base + HEADER_INTS * 4;
      // TextDecoder refuses views of shared memory, so copy out first.
      const take = (length: number) => this.decoder.decode(this.bytes.slice(offset, (offset += length)));
      const entry = { queue: take(queueBytes), jobId: take(jobBytes), token: take(tokenBytes) };
      if (Atomics.load(this.ints, header) !== generation) continue;
      entries.push({ ...entry, slot, generation });
    }
    return entries;
  }
}

/** The main thread's side: which slot holds which job. */
export class LockTableWriter {
  readonly table: LockTable;
  private readonly slotOf = new Map<string, number>();
  private readonly free: number[];

  constructor(capacity: number) {
    this.table = new LockTable(capacity);
    this.free = Array.from({ length: capacity }, (_, index) => capacity - 1 - index);
  }

  /** False when the table is full or the entry too long; the caller then tells the thread by message. */
  track(entry: LockEntry): boolean {
    const key = `${entry.queue}/${entry.jobId}`;
    const existing = this.slotOf.get(key);
    const slot = existing ?? this.free.pop();
    if (slot === undefined) return false;
    if (this.table.write(slot, entry)) {
      this.slotOf.set(key, slot);
      return true;
    }
    this.slotOf.delete(key);
    this.free.push(slot);
    return false;
  }

  /** False when the job was not in the table. */
  untrack(queue: string, jobId: string): boolean {
    const key = `${queue}/${jobId}`;
    const slot = this.slotOf.get(key);
    if (slot === undefined) return false;
    this.table.clear(slot);
    this.slotOf.delete(key);
    this.free.push(slot);
    return true;
  }

  has(queue: string, jobId: string): boolean {
    return this.slotOf.has(`${queue}/${jobId}`);
  }
}
