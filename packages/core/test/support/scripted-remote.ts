/** A scripted remote peer linked to one real peer: push frames as the remote, read the replies. */
import assert from "node:assert/strict";
import type { Peer } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { type Frame, FrameCodec } from "@capbus/wire";

const codec = new FrameCodec();

export type FrameInput = Record<string, unknown> & { type: Frame["type"] };

export interface ScriptedRemote {
  readonly link: ScriptedLink;
  /** Frames the real peer sent since the last call, decoded. */
  frames(): Frame[];
  /** Send a frame as the remote (seq and ack are filled in). */
  push(frame: FrameInput): void;
}

/** Link `peer` to a scripted remote named `remote` that has said an unauthenticated hello. */
export function scriptedRemote(peer: Peer, remote: string): ScriptedRemote {
  const link = new ScriptedLink();
  peer.connect(link, remote);
  let seq = 0;
  const frames = () => link.take().map((bytes) => codec.decode(bytes));
  const push = (frame: FrameInput) => {
    const unsequenced = frame.type === "ack" || frame.type === "close" || frame.type === "hello";
    link.deliver(codec.encode({ seq: unsequenced ? 0 : ++seq, ack: 0, ...frame } as Frame));
  };
  const empty = new Uint8Array(0);
  push({ type: "hello", versions: [2], peer: remote, key: empty, nonce: new Uint8Array(16), session: empty });
  assert.deepEqual(
    frames().map((f) => f.type),
    ["hello"],
  );
  return { link, frames, push };
}

/** Let microtasks and the loopback link run. */
export const tick = () => new Promise((resolve) => setImmediate(resolve));
