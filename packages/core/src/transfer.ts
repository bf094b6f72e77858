/**
 * The sender's bookkeeping for handles carried by a message (spec/ordering.md §11): once the
 * round is decided, which carried handles arrive dead, which destinations take the message, and
 * which counted references must be given back because their receiver never got them.
 */
import type { HandleRef } from "@capbus/wire";
import type { OutDestination, OutEvent } from "./outbox.js";

/** Carried handles that arrive dead: reported by their owner, or (own nodes) destroyed before. */
export function deadHandles(
  event: OutEvent,
  carried: readonly HandleRef[],
  ownDestroyedBefore: (node: number) => boolean,
  self: string,
): HandleRef[] {
  return carried.filter((ref) => {
    if (ref.owner === self) return ownDestroyedBefore(ref.node);
    const owner = event.destinations.get(ref.owner);
    if (owner === undefined) return false;
    // An owner that took no part (its session ended, or it refused) never counted the receivers:
    // the handle must not arrive live (spec/ordering.md §9).
    return owner.state !== "proposed" || owner.dead.includes(ref.node);
  });
}

/** The destination's nodes that take the message: it proposed, and they were not reported dead. */
export function liveNodes(dest: OutDestination | undefined): readonly number[] {
  if (dest?.role !== "deliver" || dest.state !== "proposed") return [];
  return dest.nodes.filter((n) => !dest.dead.includes(n));
}

/**
 * References an owner counted for a receiver that will never receive them: the receiver failed,
 * or none of its nodes takes the message. Each must be released on the receiver's behalf.
 */
export function referencesToGiveBack(
  event: OutEvent,
  carried: readonly HandleRef[],
  counted: (owner: string, node: number) => boolean,
  receiverGotIt: (receiver: string) => boolean,
): Array<{ readonly ref: HandleRef; readonly holder: string }> {
  const back: Array<{ ref: HandleRef; holder: string }> = [];
  for (const dest of event.destinations.values()) {
    if (dest.role !== "deliver" || receiverGotIt(dest.peer)) continue;
    for (const ref of carried) {
      if (ref.owner !== dest.peer && counted(ref.owner, ref.node)) back.push({ ref, holder: dest.peer });
    }
  }
  return back;
}
