/**
 * The codec group: every frame vector of spec/vectors/frames (and, over WebSocket, every message
 * of spec/vectors/transports/ws-batch.json), read from the files on each run so new vectors are
 * driven without a change here. Each is sent on a fresh session right after the handshake.
 *
 * - An invalid one must be refused with a `close` frame carrying the vector's code (spec/wire.md §9).
 * - A valid one must pass the decoder: the peer may still refuse it for the session's state
 *   (a seq out of order, a commit for no event: E_SEQUENCE, E_PROTOCOL, ...), but never with a
 *   wire code. The kit then sends a `hello`, which after the handshake is E_PROTOCOL
 *   (spec/errors.md §3.1): a close with a code that is not a wire code shows the vector passed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { WireErrorCode } from "@capbus/wire";
import { CheckFailure, describe, Remote } from "./remote.js";
import type { Context } from "./run.js";

interface ValidVector {
  readonly name: string;
  readonly hex: string;
  readonly reencoded?: string;
}

interface InvalidVector {
  readonly name: string;
  readonly hex: string;
  readonly code: string;
  readonly limits?: unknown;
}

interface BatchVectors {
  readonly valid: readonly { name: string; message: string }[];
  readonly invalid: readonly { name: string; message: string; code: string; maxFrameBytes?: number }[];
}

const WIRE_CODES: ReadonlySet<string> = new Set(Object.values(WireErrorCode));

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, "utf8")) as T;
}

const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex, "hex"));

export async function codec(ctx: Context): Promise<void> {
  const frames = join(ctx.vectors, "frames");
  const ws = !ctx.target.endpoint.startsWith("unix:");
  for (const vector of readJson<ValidVector[]>(join(frames, "valid.json"))) {
    await ctx.check(`valid frame: ${vector.name}`, () => accepted(ctx, bytes(vector.hex), false));
    if (vector.reencoded !== undefined)
      await ctx.check(`valid frame, preferred form: ${vector.name}`, () =>
        accepted(ctx, bytes(vector.reencoded!), false),
      );
  }
  for (const vector of readJson<InvalidVector[]>(join(frames, "invalid.json"))) {
    await ctx.check(`invalid frame ${vector.code}: ${vector.name}`, async () => {
      if (vector.limits !== undefined) return "the vector is for other limits than the defaults";
      if (vector.hex === "" && !ws)
        return "an empty frame is a heartbeat on a stream (spec/transports.md §1.2)";
      await refused(ctx, bytes(vector.hex), vector.code, false);
    });
  }
  if (!ws) return;
  const batches = readJson<BatchVectors>(join(ctx.vectors, "transports", "ws-batch.json"));
  for (const vector of batches.valid)
    await ctx.check(`ws message: ${vector.name}`, () => accepted(ctx, bytes(vector.message), true));
  for (const vector of batches.invalid)
    await ctx.check(`ws message ${vector.code}: ${vector.name}`, async () => {
      if (vector.maxFrameBytes !== undefined) return "the vector is for another maxFrameBytes";
      await refused(ctx, bytes(vector.message), vector.code, true);
    });
}

/** A fresh session, then `input` (a frame, or a raw ws message). */
async function fresh(ctx: Context, input: Uint8Array, raw: boolean): Promise<Remote> {
  const remote = await Remote.create(ctx.target);
  await remote.handshake();
  if (raw) remote.conn.sendRaw(input);
  else remote.conn.send(input);
  return remote;
}

async function accepted(ctx: Context, input: Uint8Array, raw: boolean): Promise<void> {
  const remote = await fresh(ctx, input, raw);
  try {
    remote.send({
      type: "hello",
      versions: [2],
      peer: remote.id,
      key: new Uint8Array(0),
      nonce: new Uint8Array(16),
      session: new Uint8Array(0),
    });
    const isClose = input[0] === 0x85 && input[1] === 0x09;
    for (;;) {
      const got = await remote.conn.next(ctx.target.answerMs);
      if (got.kind === "frame" && got.frame.type !== "close") continue; // an answer to the vector
      if (got.kind === "frame" && got.frame.type === "close") {
        if (WIRE_CODES.has(got.frame.code))
          throw new CheckFailure(`refused with ${got.frame.code}: the decoder must accept it`);
        return;
      }
      // After a close frame from the kit, the peer sends nothing and ends the connection.
      if (got.kind === "end" && isClose) return;
      throw new CheckFailure(`after the vector and a hello: ${describe(got)}`);
    }
  } finally {
    remote.end();
  }
}

async function refused(ctx: Context, input: Uint8Array, code: string, raw: boolean): Promise<void> {
  const remote = await fresh(ctx, input, raw);
  try {
    for (;;) {
      const got = await remote.conn.next(ctx.target.answerMs);
      if (got.kind === "frame" && got.frame.type !== "close") continue;
      if (got.kind === "frame" && got.frame.type === "close") {
        if (got.frame.code !== code)
          throw new CheckFailure(`refused with ${got.frame.code}, expected ${code}`);
        return;
      }
      // A message the transport refuses (a cut batch, a frame too large) is a close like any
      // other: a close frame, then ws close 4000 (spec/errors.md §5); the close code alone is not it.
      throw new CheckFailure(`expected close ${code}: ${describe(got)}`);
    }
  } finally {
    remote.end();
  }
}
