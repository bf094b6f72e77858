/**
 * Ways to let pending promise continuations run between simulated tasks.
 *
 * A macrotask boundary (a MessageChannel round trip) runs every queued microtask however deep the
 * promise chains are. A fixed number of microtask turns needs no host API but only covers chains up
 * to that depth. Measured: the channel costs ~4-7 us; 32 turns cost ~2 us plainly but ~30 us under
 * node:test, whose async hooks make every promise expensive. So the channel is the default.
 */

/** Resolves after `turns` microtask turns: continuations up to that many awaits deep get to run. */
export function microtaskDrain(turns: number): () => Promise<void> {
  const resolved = Promise.resolve();
  return async () => {
    for (let i = 0; i < turns; i++) await resolved;
  };
}

interface PortLike {
  onmessage: ((ev: unknown) => void) | null;
  postMessage(message: unknown): void;
  ref?(): void;
  unref?(): void;
}
type ChannelCtor = new () => { port1: PortLike; port2: PortLike };

/**
 * A drain through one reused MessageChannel. The port is kept unref'd while no drain is waiting, so
 * an idle scheduler never holds a Node process open. Undefined where MessageChannel is missing.
 */
export function macrotaskDrain(): (() => Promise<void>) | undefined {
  const Channel = (globalThis as unknown as { MessageChannel?: ChannelCtor }).MessageChannel;
  if (Channel === undefined) return undefined;
  let channel: { port1: PortLike; port2: PortLike } | undefined;
  const waiting: (() => void)[] = [];
  let head = 0;
  return () =>
    new Promise<void>((resolve) => {
      if (channel === undefined) {
        const c = new Channel();
        c.port1.onmessage = () => {
          const r = waiting[head++];
          if (head === waiting.length) {
            waiting.length = 0;
            head = 0;
            c.port1.unref?.();
          }
          r?.();
        };
        channel = c;
      }
      if (waiting.length === head) channel.port1.ref?.();
      waiting.push(resolve);
      channel.port2.postMessage(null);
    });
}
