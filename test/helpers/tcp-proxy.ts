/**
 * A TCP proxy in front of a redis-server, for network partitions: cut() drops every connection
 * through it and refuses new ones until restore(), as a firewall or a lost node would.
 */
import type { Socket, TCPSocketListener } from "bun";

export interface TcpProxy {
  port: number;
  url: string;
  cut(): void;
  restore(): void;
  stop(): void;
}

interface Pair {
  client: Socket<Pair>;
  upstream?: Socket<unknown>;
  pending: Uint8Array[];
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  let refusing = false;
  const pairs = new Set<Pair>();
  const server: TCPSocketListener<Pair> = Bun.listen<Pair>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(client) {
        if (refusing) {
          client.end();
          return;
        }
        const pair: Pair = { client, pending: [] };
        client.data = pair;
        pairs.add(pair);
        void Bun.connect({
          hostname: "127.0.0.1",
          port: targetPort,
          socket: {
            open(upstream) {
              pair.upstream = upstream;
              for (const chunk of pair.pending) upstream.write(chunk);
              pair.pending = [];
            },
            data(_upstream, data) {
              client.write(data);
            },
            close() {
              client.end();
              pairs.delete(pair);
            },
            error() {
              client.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, data) {
        const pair = client.data;
        if (pair.upstream) pair.upstream.write(data);
        else pair.pending.push(new Uint8Array(data));
      },
      close(client) {
        client.data?.upstream?.end();
        if (client.data) pairs.delete(client.data);
      },
      error(client) {
        client.data?.upstream?.end();
      },
    },
  });
  const cut = () => {
    refusing = true;
    for (const pair of pairs) {
      pair.client.end();
      pair.upstream?.end();
    }
    pairs.clear();
  };
  return {
    port: server.port,
    url: `redis://127.0.0.1:${server.port}/0`,
    cut,
    restore() {
      refusing = false;
    },
    stop() {
      cut();
      server.stop(true);
    },
  };
}
