/**
 * A private redis-server for one test file: a free loopback port, its own temporary directory,
 * stopped afterwards. Tests never touch a shared server on 6379.
 */
import { spawn, type Subprocess } from "bun";
import { mkdtempSync, rmSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  password?: string;
  /** Sends one command over a fresh connection (for tests that need raw access). */
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  password?: string;
  /** Extra `--name value` settings. */
  settings?: Record<string, string>;
}

export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function redisServerBinary(): string {
  const found = Bun.which("redis-server");
  if (!found) {
    throw new Error("redis-server is not installed; run ./scripts/test (it installs it from apt) or apt-get install redis-server");
  }
  return found;
}

async function waitForPing(port: number, password: string | undefined, process: Subprocess, logFile: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`redis-server exited with ${process.exitCode}: ${safeRead(logFile)}`);
    try {
      const reply = await rawCommand(port, password ? [["AUTH", password], ["PING"]] : [["PING"]]);
      if (reply.includes("+PONG")) return;
    } catch {
      // not listening yet
    }
    await Bun.sleep(25);
  }
  throw new Error(`redis-server on port ${port} did not answer within 10 s: ${safeRead(logFile)}`);
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8").slice(-2000);
  } catch {
    return "(no log)";
  }
}

/** Sends RESP commands on a new TCP connection and returns the raw reply text. */
export async function rawCommand(port: number, commands: string[][]): Promise<string> {
  const payload = commands
    .map((command) => `*${command.length}\r\n${command.map((part) => `$${Buffer.byteLength(part)}\r\n${part}\r\n`).join("")}`)
    .join("");
  return await new Promise((resolve, reject) => {
    let received = "";
    let replies = 0;
    Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        open(socket) {
          socket.write(payload);
        },
        data(socket, data) {
          received += data.toString();
          replies = received.split("\r\n").filter((line) => /^[+\-:]/.test(line)).length;
          if (replies >= commands.length) {
            socket.end();
            resolve(received);
          }
        },
        error(_socket, error) {
          reject(error);
        },
        connectError(_socket, error) {
          reject(error);
        },
        close() {
          resolve(received);
        },
      },
    }).catch(reject);
  });
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const binary = redisServerBinary();
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "llmctl-redis-"));
    const logFile = join(dir, "redis.log");
    const args = [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--dir", dir,
      "--save", "",
      "--appendonly", "no",
      "--daemonize", "no",
      "--logfile", logFile,
      "--maxmemory-policy", "noeviction",
    ];
    if (options.password) args.push("--requirepass", options.password);
    for (const [name, value] of Object.entries(options.settings ?? {})) args.push(`--${name}`, value);
    const child = spawn([binary, ...args], { stdout: "ignore", stderr: "ignore" });
    try {
      await waitForPing(port, options.password, child, logFile);
    } catch (error) {
      lastError = error;
      child.kill("SIGKILL");
      await child.exited;
      rmSync(dir, { recursive: true, force: true });
      continue;
    }
    const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
    return {
      port,
      dir,
      password: options.password,
      url: `redis://${auth}127.0.0.1:${port}/0`,
      async stop() {
        child.kill("SIGTERM");
        const exited = await Promise.race([child.exited.then(() => true), Bun.sleep(5000).then(() => false)]);
        if (!exited) {
          child.kill("SIGKILL");
          await child.exited;
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw new Error(`could not start redis-server: ${String(lastError)}`);
}
