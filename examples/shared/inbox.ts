/** Collect a peer's events as they arrive, and wait for one that matches. */
import type { PeerEvent } from "@capbus/node";

export interface Inbox {
  readonly events: PeerEvent[];
  until(match: (event: PeerEvent) => boolean, timeoutMs?: number): Promise<PeerEvent>;
}

export function inbox(source: AsyncIterable<PeerEvent>): Inbox {
  const events: PeerEvent[] = [];
  let wake: () => void = () => {};
  let changed = new Promise<void>((resolve) => {
    wake = resolve;
  });
  void (async () => {
    for await (const event of source) {
      events.push(event);
      const done = wake;
      changed = new Promise<void>((resolve) => {
        wake = resolve;
      });
      done();
    }
  })();
  return {
    events,
    async until(match, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      let seen = 0;
      for (;;) {
        const found = events.slice(seen).find(match);
        if (found) return found;
        seen = events.length;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error("timed out waiting for an event");
        await Promise.race([changed, new Promise((resolve) => setTimeout(resolve, left).unref())]);
      }
    },
  };
}
