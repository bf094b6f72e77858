/**
 * The page half of the browser transport conformance run: Node drives `BrowserWsLink`s in a
 * Chromium page over a control WebSocket of its own (a second connection, so stalling or cutting
 * a link under test leaves it alone), and the page reports what each link hands its handler.
 * Bundled for the page (`start`), and imported by the Node half for the message format.
 *
 * A control message is one binary WebSocket message: an op byte, a 4-byte link id, a payload
 * (a frame's bytes, or JSON).
 */
import { type BrowserWsLink, type BrowserWsLinkOptions, openBrowserWs } from "@capbus/browser";

/** Node → page. */
export const Op = { open: 1, attach: 2, send: 3, close: 4, sync: 5 } as const;
/** Page → Node. */
export const Ev = { opened: 1, failed: 2, frame: 3, closed: 4, synced: 5 } as const;

/** What `Op.open` carries: where the link dials, and its options. */
export interface OpenRequest {
  readonly url: string;
  readonly maxFrameBytes?: number;
}

/** One control message. */
export function controlMessage(op: number, id: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(5 + payload.byteLength);
  out[0] = op;
  new DataView(out.buffer).setUint32(1, id);
  out.set(payload, 5);
  return out;
}

/** A control message's parts (`payload` is a view into `bytes`). */
export function parseControl(bytes: Uint8Array): { op: number; id: number; payload: Uint8Array } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { op: bytes[0] ?? 0, id: view.getUint32(1), payload: bytes.subarray(5) };
}

export const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
export const fromJson = <T>(payload: Uint8Array) => JSON.parse(new TextDecoder().decode(payload)) as T;

/** In the page: connect to the control socket at `url` and serve its commands until it closes. */
export function start(url: string): Promise<void> {
  const links = new Map<number, BrowserWsLink>();
  const control = new WebSocket(url);
  control.binaryType = "arraybuffer";
  const emit = (ev: number, id: number, payload?: Uint8Array) =>
    control.send(controlMessage(ev, id, payload));
  control.addEventListener("message", (event) => {
    const { op, id, payload } = parseControl(new Uint8Array(event.data as ArrayBuffer));
    const link = links.get(id);
    switch (op) {
      case Op.open: {
        const { url, maxFrameBytes } = fromJson<OpenRequest>(payload);
        const options: BrowserWsLinkOptions = maxFrameBytes === undefined ? {} : { maxFrameBytes };
        openBrowserWs(url, options).then(
          (opened) => {
            links.set(id, opened);
            emit(Ev.opened, id);
          },
          (error: unknown) => emit(Ev.failed, id, json(String(error))),
        );
        return;
      }
      case Op.attach:
        return link?.attach({
          frame: (bytes) => emit(Ev.frame, id, bytes),
          // Kept in `links` after: what is sent to it now is the link's own to ignore.
          closed: (info) => emit(Ev.closed, id, json(info)),
        });
      case Op.send:
        return link?.send(payload);
      case Op.close: {
        const { code, reason } = fromJson<{ code: string; reason: string }>(payload);
        return link?.close(code, reason);
      }
      case Op.sync:
        return emit(Ev.synced, id);
    }
  });
  return new Promise((resolve, reject) => {
    control.addEventListener("open", () => resolve(), { once: true });
    control.addEventListener("error", () => reject(new Error(`control socket ${url} failed`)), {
      once: true,
    });
  });
}
