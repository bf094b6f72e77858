/**
 * A queue of received lines that callers take by key, in arrival order, waiting for one that has
 * not come yet. Used on both sides (the kit reading a child, a child reading the kit).
 */
import type { Line } from "./protocol.js";

interface Waiter {
  readonly key: string | undefined;
  readonly resolve: (line: Line) => void;
  readonly reject: (error: Error) => void;
}

export class LineQueue {
  /** Every line received, consumed or not (for diagnostics and `seen`). */
  readonly all: Line[] = [];
  readonly #unread: Line[] = [];
  readonly #waiters: Waiter[] = [];
  #ended: (() => Error) | undefined;

  push(line: Line): void {
    this.all.push(line);
    const at = this.#waiters.findIndex((w) => w.key === undefined || w.key in line);
    if (at < 0) {
      this.#unread.push(line);
      return;
    }
    const [waiter] = this.#waiters.splice(at, 1);
    waiter?.resolve(line);
  }

  /** No more lines will come: every waiter and later `take` fails with `error()`. */
  end(error: () => Error): void {
    this.#ended = error;
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error());
  }

  /** The oldest unread line that has `key` (any line when undefined), waiting if needed. */
  take(key: string | undefined, timeoutMs: number, onTimeout: () => Error): Promise<Line> {
    const at = this.#unread.findIndex((line) => key === undefined || key in line);
    if (at >= 0) return Promise.resolve(this.#unread.splice(at, 1)[0] as Line);
    if (this.#ended) return Promise.reject(this.#ended());
    return new Promise<Line>((resolve, reject) => {
      const timer =
        timeoutMs === Number.POSITIVE_INFINITY
          ? undefined
          : setTimeout(() => {
              const i = this.#waiters.indexOf(waiter);
              if (i >= 0) this.#waiters.splice(i, 1);
              reject(onTimeout());
            }, timeoutMs);
      const waiter: Waiter = {
        key,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.#waiters.push(waiter);
    });
  }
}
