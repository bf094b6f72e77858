/**
 * A scripted remote peer for scenario tests: a ScriptedLink connected to `peer` as `id`, past an
 * unkeyed hello. It pushes hand-made frames (numbered here) and reads the peer's answers.
 */
import { type Identity, type Peer, transcript } from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { type Frame, FrameCodec, WIRE_VERSION } from "@capbus/wire";

const codec = new FrameCodec();

/** A frame without `seq` and `ack`: the scripted peer numbers it. */
export type FrameInput = Record<string, unknown> & { type: Frame["type"] };

export function scripted(peer: Peer, id: string, identity?: Identity) {
  const link = new ScriptedLink();
  peer.connect(link, id);
  let seq = 0;
  const push = (frame: FrameInput) => {
    if (link.closed) return; // a closed link takes nothing more
    const unsequenced = ["hello", "auth", "ack", "close"].includes(frame.type);
    link.deliver(codec.encode({ seq: unsequenced ? 0 : ++seq, ack: 0, ...frame } as Frame));
  };
  const empty = new Uint8Array(0);
  const hello: Extract<Frame, { type: "hello" }> = {
    type: "hello",
    seq: 0,
    ack: 0,
    versions: [WIRE_VERSION],
    peer: id,
    key: identity?.publicKey ?? empty,
    nonce: new Uint8Array(16).fill(7),
    session: empty,
  };
  push(hello);
  const theirs = codec.decode(link.take()[0] as Uint8Array); // the peer's own hello
  /** Keyed: the `auth` proving the key, once the peer has checked it (await before sending more). */
  const ready = identity
    ? identity.sign(transcript(hello, theirs as Extract<Frame, { type: "hello" }>)).then(async (sig) => {
        push({ type: "auth", sig });
        // The session is live once the peer has checked the key (a real, asynchronous check).
        const live = () => peer.stats().links[id]?.live === true;
        for (let i = 0; i < 2000 && !live(); i++) await new Promise((resolve) => setTimeout(resolve, 1));
        if (!live()) throw new Error(`${peer.id} did not take ${id}'s key`);
      })
    : Promise.resolve();
  /** Every frame the peer sent since the last read. */
  const frames = () => link.take().map((bytes) => codec.decode(bytes));
  /** The same, without acks. */
  const answers = () => frames().filter((f) => f.type !== "ack");
  return { link, push, frames, answers, ready };
}
