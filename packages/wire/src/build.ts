/**
 * Frame objects of the hot frame types (those with a fast validator), built from a decoded
 * frame's top-level elements in one object literal each. The generic way, one keyed store per
 * field name, went through V8's megamorphic store path and cost a fifth of a unicast's decode.
 * Each builder makes exactly the object the generic way makes: `type`, `seq`, `ack`, the
 * layout's fields and then its first `extra` optional fields, in that order (a test holds them
 * to FRAME_LAYOUTS).
 */
import type { FrameType } from "./frames.js";

/** `v`: the frame's elements `[code, seq, ack, ...fields, ...optional]`; `extra`: optional ones present. */
export type FrameBuilder = (v: readonly unknown[], extra: number) => Record<string, unknown>;

/** `[owner, node]` → `{owner, node}`; anything else is left for the schema to refuse. */
export function handleRef(item: unknown): unknown {
  return Array.isArray(item) && item.length === 2 ? { owner: item[0], node: item[1] } : item;
}

/** A handle list field (`handles`, `dead`) as the frame holds it. */
export function handleList(item: unknown): unknown {
  return Array.isArray(item) ? item.map(handleRef) : item;
}

const unicast: FrameBuilder = (v, extra) =>
  extra === 0
    ? { type: "unicast", seq: v[1], ack: v[2], event: v[3], clock: v[4], node: v[5], payload: v[6] }
    : {
        type: "unicast",
        seq: v[1],
        ack: v[2],
        event: v[3],
        clock: v[4],
        node: v[5],
        payload: v[6],
        accepted: v[7],
      };

const commit: FrameBuilder = (v, extra) =>
  extra === 0
    ? { type: "commit", seq: v[1], ack: v[2], event: v[3], lamport: v[4], dead: handleList(v[5]) }
    : { type: "commit", seq: v[1], ack: v[2], event: v[3], lamport: v[4], dead: handleList(v[5]), sig: v[6] };

const stage: FrameBuilder = (v) => ({
  type: "stage",
  seq: v[1],
  ack: v[2],
  event: v[3],
  clock: v[4],
  nodes: v[5],
  payload: v[6],
  handles: handleList(v[7]),
  receivers: v[8],
});

/** Builders by frame type; other types are built field by field. */
export const FRAME_BUILDERS: Readonly<Partial<Record<FrameType, FrameBuilder>>> = {
  unicast,
  accept: (v) => ({ type: "accept", seq: v[1], ack: v[2], event: v[3], lamport: v[4] }),
  propose: (v) => ({ type: "propose", seq: v[1], ack: v[2], event: v[3], lamport: v[4] }),
  ack: (v) => ({ type: "ack", seq: v[1], ack: v[2] }),
  commit,
  stage,
};
