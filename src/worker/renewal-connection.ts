/**
 * The renewal thread's Redis connection: a plain socket (`Bun.connect`) speaking the little of
 * RESP the thread needs (AUTH, SELECT, CLIENT SETNAME, EVALSHA/EVAL). Bun's `RedisClient`, idle
 * in the thread, slowed the main thread of the same process on short jobs; an idle plain socket
 * did not (docs/benchmarks.md, worker runtime, 2026-12-02).
 *
 * Replies are matched to requests in order. There is no offline queue and no reconnection here:
 * a command on a closed connection fails at once, and the thread opens a new connection.
 */
import type { Socket } from "bun";
import type { RealRedisTarget } from "../config/redis-target.ts";

/** The connection's fields, sent to the thread by message (a type-only import: the thread loads no config code). */
export type RenewalTarget = Omit<RealRedisTarget, "kind">;

export type RespValue = string | number | null | RespValue[];

/** An error reply from Redis ("-NOSCRIPT …"); a broken connection rejects with a plain Error. */
export class RedisReplyError extends Error {}

const CRLF = "\r\n";

/** node:net's isIP, without loading node:net into the thread (it boots at every worker start). */
function isIpAddress(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.includes(":");
}

export function encodeCommand(args: readonly string[]): Buffer {
  let text = `*${args.length}${CRLF}`;
  for (const arg of args) text += `$${Buffer.byteLength(arg)}${CRLF}${arg}${CRLF}`;
  return Buffer.from(text);
}

interface Parsed {
  value: RespValue | RedisReplyError;
  end: number;
}

/** One reply starting at `start`, or undefined while it has not fully arrived. */
export function parseReply(buffer: Buffer, start: number): Parsed | undefined {
  const lineEnd = buffer.indexOf(CRLF, start);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[start]!);
  const line = buffer.toString("utf8", start + 1, lineEnd);
  const next = lineEnd + 2;
  switch (type) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RedisReplyError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return undefined;
      return { value: buffer.toString("utf8", next, next + length), end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items: RespValue[] = [];
      let offset = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, offset);
        if (!item) return undefined;
        // An error inside an array (EXEC) is kept as its message; the thread sends no such command.
        items.push(item.value instanceof RedisReplyError ? item.value.message : item.value);
        offset = item.end;
      }
      return { value: items, end: offset };
    }
    default:
      throw new Error(`unexpected reply from Redis: ${JSON.stringify(buffer.toString("utf8", start, Math.min(buffer.length, start + 40)))}`);
  }
}

interface Pending {
  resolve: (value: RespValue) => void;
  reject: (error: Error) => void;
}

export class RenewalConnection {
  private socket?: Socket<undefined>;
  private received: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];
  /** Bytes the socket did not take yet (written on drain). */
  private unsent: Buffer = Buffer.alloc(0);
  private closedWith?: Error;
  /** Called once, when the connection ends for any reason other than close(). */
  onclose?: (error: Error) => void;

  private constructor() {}

  /** Connects, authenticates and selects the database, within the target's connect timeout. */
  static async open(target: RenewalTarget, name: string): Promise<RenewalConnection> {
    const connection = new RenewalConnection();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`could not connect to ${target.host}:${target.port} within ${target.connectTimeoutMs} ms`)), target.connectTimeoutMs);
    });
    const connecting = connection.connect(target, name);
    try {
      await Promise.race([connecting, timedOut]);
      return connection;
    } catch (error) {
      // A socket that opens after the timeout is ended by connect() as soon as it does.
      connection.close();
      connecting.catch(() => {});
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  private async connect(target: RenewalTarget, name: string): Promise<void> {
    this.socket = await Bun.connect<undefined>({
      hostname: target.host,
      port: target.port,
      // SNI must not carry an IP address, only a host name.
      tls: target.tls ? (isIpAddress(target.host) ? true : { serverName: target.host }) : undefined,
      socket: {
        data: (_socket, chunk) => this.receive(chunk),
        drain: (socket) => this.flush(socket),
        close: (_socket, error) => this.ended(error ?? new Error("connection closed")),
        end: () => this.ended(new Error("connection closed by Redis")),
        error: (_socket, error) => this.ended(error),
        connectError: (_socket, error) => this.ended(error),
      },
    });
    if (this.closedWith) {
      this.socket.end();
      throw this.closedWith;
    }
    if (target.password !== undefined) await this.send(target.username ? ["AUTH", target.username, target.password] : ["AUTH", target.password]);
    if (target.db !== 0) await this.send(["SELECT", String(target.db)]);
    await this.send(["CLIENT", "SETNAME", name]);
  }

  /** Sends one command; commands sent in the same tick go out back to back (a pipeline). */
  send(args: readonly string[]): Promise<RespValue> {
    if (this.closedWith || !this.socket) return Promise.reject(this.closedWith ?? new Error("not connected"));
    return new Promise<RespValue>((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.write(encodeCommand(args));
    });
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  close(): void {
    if (!this.closedWith) this.fail(new Error("connection closed"));
    this.socket?.end();
  }

  private write(bytes: Buffer): void {
    if (this.unsent.length > 0) {
      this.unsent = Buffer.concat([this.unsent, bytes]);
      return;
    }
    const written = this.socket!.write(bytes);
    if (written < bytes.length) this.unsent = bytes.subarray(Math.max(0, written));
  }

  private flush(socket: Socket<undefined>): void {
    if (this.unsent.length === 0) return;
    const written = socket.write(this.unsent);
    this.unsent = this.unsent.subarray(Math.max(0, written));
  }

  private receive(chunk: Buffer): void {
    this.received = this.received.length === 0 ? chunk : Buffer.concat([this.received, chunk]);
    let offset = 0;
    for (;;) {
      let reply: Parsed | undefined;
      try {
        reply = parseReply(this.received, offset);
      } catch (error) {
        this.ended(error as Error);
        this.socket?.end();
        return;
      }
      if (!reply) break;
      offset = reply.end;
      const waiter = this.pending.shift();
      if (reply.value instanceof RedisReplyError) waiter?.reject(reply.value);
      else waiter?.resolve(reply.value);
    }
    this.received = offset >= this.received.length ? Buffer.alloc(0) : this.received.subarray(offset);
  }

  private ended(error: Error): void {
    if (this.closedWith) return;
    this.fail(error);
    this.onclose?.(error);
  }

  private fail(error: Error): void {
    this.closedWith = error;
    for (const waiter of this.pending.splice(0)) waiter.reject(error);
  }
}
