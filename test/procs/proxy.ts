/**
 * A userspace proxy between a front socket path and a back one, with faults on command: reset
 * every connection, stall forwarding for a while, delay every chunk. Tests put it between two
 * peer processes to break their links under load.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";

export class FaultyProxy {
  readonly #server: Server;
  readonly #pairs = new Set<[Socket, Socket]>();
  #stalledUntil = 0;
  delayMs = 0;
  /**
   * A pure delay line: every chunk goes on `latencyMs` after it came, in order, while reading
   * goes on (`delayMs` instead stops reading while a chunk waits, so it also slows the link).
   */
  latencyMs = 0;
  resets = 0;

  private constructor(server: Server) {
    this.#server = server;
  }

  static async start(front: string, back: string): Promise<FaultyProxy> {
    let proxy: FaultyProxy | undefined;
    const server = createServer((client) => proxy?.accept(client, back));
    proxy = new FaultyProxy(server);
    await new Promise<void>((resolve) => server.listen(front, resolve));
    return proxy;
  }

  accept(client: Socket, back: string): void {
    const upstream = createConnection({ path: back });
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [pair, [upstream, client] as const]) {
      from.on("data", (chunk: Buffer) => this.#forward(from, to, chunk));
      from.on("error", end);
      from.on("close", end);
    }
  }

  /** Drop every connection at once, as a network reset would; data in flight is lost. */
  reset(): void {
    this.resets++;
    for (const [a, b] of this.#pairs) {
      a.destroy();
      b.destroy();
    }
    this.#pairs.clear();
  }

  /** Hold all traffic for `ms`, keeping the connections open. */
  stall(ms: number): void {
    this.#stalledUntil = Date.now() + ms;
  }

  close(): Promise<void> {
    this.reset();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #forward(from: Socket, to: Socket, chunk: Buffer): void {
    const wait = Math.max(this.delayMs, this.#stalledUntil - Date.now());
    if (wait <= 0 && this.latencyMs > 0) {
      // Timers of one duration fire in the order they were set: the chunks keep theirs.
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, this.latencyMs);
      return;
    }
    if (wait <= 0) {
      to.write(chunk);
      return;
    }
    // Stop reading while the chunk waits, so the order of chunks is kept.
    from.pause();
    setTimeout(() => {
      if (!to.destroyed) to.write(chunk);
      from.resume();
    }, wait);
  }
}
