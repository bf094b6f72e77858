/** The golden vectors in spec/vectors/frames are the source of truth for the byte format. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import { FrameCodec, type WireLimits } from "@capbus/wire";
import { FRAME_LAYOUTS } from "../src/frames.js";
import { fromHex, hex } from "./arbitraries.js";

const dir = new URL("../../../spec/vectors/frames/", import.meta.url);

interface ValidVector {
  name: string;
  hex: string;
  frame: unknown;
  /** Present when `hex` is accepted but not what an encoder writes (non-preferred heads). */
  reencoded?: string;
}
interface InvalidVector {
  name: string;
  hex: string;
  code: string;
  limits?: WireLimits;
}

/** `{"$bytes": "hex"}` stands for a Uint8Array in the JSON meaning of a frame. */
function revive(_key: string, value: unknown): unknown {
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    const bytes = (value as { $bytes?: unknown }).$bytes;
    if (typeof bytes === "string" && Object.keys(value).length === 1) return fromHex(bytes);
  }
  return value;
}

const valid = JSON.parse(readFileSync(new URL("valid.json", dir), "utf8"), revive) as ValidVector[];
const invalid = JSON.parse(readFileSync(new URL("invalid.json", dir), "utf8")) as InvalidVector[];

describe("valid vectors", () => {
  const codec = new FrameCodec();
  for (const vector of valid) {
    test(vector.name, () => {
      assert.deepStrictEqual(codec.decode(fromHex(vector.hex)), vector.frame);
      assert.equal(hex(codec.encode(vector.frame as never)), vector.reencoded ?? vector.hex);
    });
  }

  test("cover every frame type at least twice", () => {
    const counts = new Map<string, number>();
    for (const v of valid) {
      const type = (v.frame as { type: string }).type;
      counts.set(type, (counts.get(type) ?? 0) + 1);
    }
    for (const type of [
      "hello",
      "auth",
      "stage",
      "propose",
      "commit",
      "abort",
      "unicast",
      "accept",
      "reject",
      "ack",
      "close",
      "notice",
      "dead",
      "destroy",
      "release",
      "endpoints",
      "claim",
      "granted",
      "unicasts",
      "accepts",
      "stages",
      "proposals",
      "commits",
    ]) {
      assert.ok((counts.get(type) ?? 0) >= 2, type);
    }
  });
});

describe("invalid vectors", () => {
  for (const vector of invalid) {
    test(`${vector.name} → ${vector.code}`, () => {
      const result = new FrameCodec(vector.limits).decodeFrame(fromHex(vector.hex));
      assert.equal(result.ok, false);
      if (!result.ok) assert.equal(result.error.code, vector.code);
    });
  }

  test("cover every decode-side error code", () => {
    const codes = new Set(invalid.map((v) => v.code));
    for (const code of ["E_CBOR", "E_SCHEMA", "E_UNKNOWN_FRAME", "E_VERSION", "E_TOO_LARGE"]) {
      assert.ok(codes.has(code), code);
    }
  });
});

test("wire.md §5's frame table lists every frame type, its code, sequencing and fields", () => {
  const wire = readFileSync(new URL("../../wire.md", dir), "utf8");
  const table = wire.slice(wire.indexOf("## 5. Frame types"), wire.indexOf("### 5.1"));
  const rows = new Map<string, { code: number; sequenced: boolean; fields: string }>();
  for (const m of table.matchAll(/^\| (\d+) +\| `(\w+)` +\| (yes|no) +\| ([^|]*?) +\|$/gm)) {
    rows.set(m[2] as string, { code: Number(m[1]), sequenced: m[3] === "yes", fields: m[4] as string });
  }
  const unsequenced = new Set(["hello", "auth", "ack", "close"]);
  for (const layout of FRAME_LAYOUTS) {
    const row = rows.get(layout.type);
    assert.ok(row, `${layout.type} has a row`);
    assert.equal(row.code, layout.code, `${layout.type}'s code`);
    assert.equal(row.sequenced, !unsequenced.has(layout.type), `${layout.type} sequenced`);
    const fields = [...layout.fields, ...(layout.optional ?? []).map((f) => `${f}?`)];
    assert.equal(row.fields, fields.length === 0 ? "—" : fields.join(", "), `${layout.type}'s fields`);
  }
  assert.equal(rows.size, FRAME_LAYOUTS.length, "no row names a frame the codec lacks");
});
