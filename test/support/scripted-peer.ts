/**
 * A scripted remote peer for scenario tests: a ScriptedLink connected to `peer` as `id`, past an
 * unkeyed hello. It pushes hand-made frames (numbered here) and reads the peer's answers.
 */
import type { Peer } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { type Frame, FrameCodec, WIRE_VERSION } from "@capbus/wire";

const codec = new FrameCodec();

/** A frame without `seq` and `ack`: the scripted peer numbers it. */
export type FrameInput = Record<string, unknown> & { type: Frame["type"] };

export function scripted(peer: Peer, id: string) {
  const link = new ScriptedLink();
  peer.connect(link, id);
  let seq = 0;
  const push = (frame: FrameInput) => {
    if (link.closed) return; // a closed link takes nothing more
    const unsequenced = frame.type === "hello" || frame.type === "ack" || frame.type === "close";
    link.deliver(codec.encode({ seq: unsequenced ? 0 : ++seq, ack: 0, ...frame } as Frame));
  };
  const empty = new Uint8Array(0);
  push({
    type: "hello",
    versions: [WIRE_VERSION],
    peer: id,
    key: empty,
    nonce: new Uint8Array(16),
    session: empty,
  });
  link.take(); // the peer's own hello
  /** Every frame the peer sent since the last read. */
  const frames = () => link.take().map((bytes) => codec.decode(bytes));
  /** The same, without acks. */
  const answers = () => frames().filter((f) => f.type !== "ack");
  return { link, push, frames, answers };
}
