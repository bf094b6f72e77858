/**
 * Runs a scenario vector (spec/vectors/scenarios/README.md): one real Peer, linked through
 * ScriptedLinks to named scripted peers, is driven step by step with frames and API calls, and
 * every frame it sends and every event it delivers is checked against the script. Uses only the
 * public API of @capbus/core, @capbus/wire and @capbus/sim.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  CapbusError,
  type Handle,
  type Node,
  Peer,
  type PeerEvent,
  type Runtime,
  type SendResult,
  type Timestamp,
} from "@capbus/core";
import { ScriptedLink } from "@capbus/sim";
import { type Frame, FrameCodec, WireError } from "@capbus/wire";

/** JSON values as they appear in a scenario file. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  /** Sections of the spec the scenario exercises, e.g. "spec/ordering.md §9". */
  readonly spec?: readonly string[];
  /** The id of the peer under test. */
  readonly peer: string;
  /** The scripted peers, each linked to the peer under test (handshake done by the runner). */
  readonly remotes: readonly string[];
  readonly steps: readonly Step[];
}

export type Step = JsonObject & { readonly note?: string };

/**
 * A runtime whose timers never fire: no pure acks, no handshake timeouts; deterministic bytes.
 * Its wall clock reads 0 ms, so the hybrid clock's ticks are Lamport ticks from 0 (README.md).
 */
const inertRuntime: Runtime = {
  now: () => 0,
  wallNow: () => 0,
  setTimer: () => () => undefined,
  randomBytes: (bytes) => {
    bytes.fill(7);
  },
};

interface Remote {
  readonly link: ScriptedLink;
  /** The scripted peer's last sequence number. */
  seq: number;
  /** Frames the peer under test sent and the script has not yet matched. */
  readonly unread: Frame[];
}

type Outcome =
  | { readonly state: "pending" }
  | { readonly state: "resolved"; readonly value: Json }
  | { readonly state: "rejected"; readonly code: string };

const codec = new FrameCodec();
const EMPTY = new Uint8Array(0);

/** Every scenario file of a directory, parsed, in file-name order. */
export function loadScenarios(dir: string): Array<{ file: string; scenario: Scenario }> {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, scenario: JSON.parse(readFileSync(join(dir, file), "utf8")) as Scenario }));
}

export async function runScenario(scenario: Scenario): Promise<void> {
  const run = new Run(scenario);
  await run.start();
  for (const [i, step] of scenario.steps.entries()) {
    const where = `${scenario.name}, step ${i + 1} ${JSON.stringify(step)}`;
    try {
      await run.step(step);
    } catch (error) {
      if (error instanceof assert.AssertionError) error.message = `${where}:\n${error.message}`;
      throw error;
    }
  }
  run.assertNothing(`${scenario.name}, at the end`);
}

class Run {
  readonly #scenario: Scenario;
  readonly #peer: Peer;
  readonly #remotes = new Map<string, Remote>();
  readonly #handles = new Map<string, Handle>();
  readonly #nodes = new Map<string, Node>();
  /** Abort controllers of `abortable` sends, by their `as` name. */
  readonly #controllers = new Map<string, AbortController>();
  readonly #outcomes = new Map<string, Outcome>();

  constructor(scenario: Scenario) {
    this.#scenario = scenario;
    this.#peer = new Peer({ id: scenario.peer, runtime: inertRuntime });
  }

  async start(): Promise<void> {
    for (const name of this.#scenario.remotes) {
      const link = new ScriptedLink();
      this.#peer.connect(link, name);
      const remote: Remote = { link, seq: 0, unread: [] };
      this.#remotes.set(name, remote);
      link.deliver(
        codec.encode({
          type: "hello",
          seq: 0,
          ack: 0,
          versions: [2],
          peer: name,
          key: EMPTY,
          nonce: new Uint8Array(16),
          session: EMPTY,
        }),
      );
    }
    await settle();
    for (const [name, remote] of this.#remotes) {
      this.#collect(remote);
      const hello = remote.unread.shift();
      assert.equal(hello?.type, "hello", `the peer greets ${name} with a hello`);
    }
  }

  async step(step: Step): Promise<void> {
    if ("from" in step) this.#fromRemote(step);
    else if ("remoteClose" in step)
      this.#remote(str(step.remoteClose)).link.remoteClose(str(step.code), "script");
    else if ("call" in step) this.#call(step);
    // Several calls in one event-loop turn: the sends among them share batches (spec/ordering.md §14).
    else if ("calls" in step) for (const call of arr(step.calls)) this.#call(obj(call) as Step);
    // Frames and calls in one turn: answers to the frames are held until its end (spec/ordering.md §14, B7).
    else if ("turn" in step) {
      for (const part of arr(step.turn)) {
        const sub = obj(part) as Step;
        if ("from" in sub) this.#fromRemote(sub);
        else this.#call(sub);
      }
    } else if ("expect" in step) return this.#expect(step);
    else if (!("note" in step)) throw new Error(`unknown step ${JSON.stringify(step)}`);
    await settle();
  }

  /** No unread frame on any link (pure acks aside) and no undelivered event. */
  assertNothing(where: string): void {
    for (const [name, remote] of this.#remotes) {
      this.#collect(remote);
      assert.deepEqual(remote.unread.map(toJson), [], `${where}: nothing more was sent to ${name}`);
    }
    const event = this.#peer.poll();
    assert.equal(event && JSON.stringify(eventJson(event)), undefined, `${where}: nothing more delivered`);
  }

  #fromRemote(step: Step): void {
    const remote = this.#remote(str(step.from));
    const frame = obj(step.frame);
    const type = str(frame.type);
    const unsequenced = type === "ack" || type === "close" || type === "hello" || type === "auth";
    const full = { seq: unsequenced ? 0 : ++remote.seq, ack: 0, ...(fromJson(frame) as object) } as Frame;
    remote.link.deliver(codec.encode(full));
  }

  #call(step: Step): void {
    const peer = this.#peer;
    const as = step.as === undefined ? undefined : str(step.as);
    switch (step.call) {
      case "createNode": {
        const node = peer.createNode();
        this.#nodes.set(node.name, node);
        this.#handles.set(node.name, node.handle);
        if (step.expectNode !== undefined) assert.equal(node.name, step.expectNode);
        return;
      }
      case "grant":
        peer.grant(this.#node(str(step.node)), str(step.holder));
        return;
      case "import": {
        const handle = peer.importHandle({ owner: str(step.owner), node: num(step.node), holder: peer.id });
        this.#handles.set(handle.name, handle);
        return;
      }
      case "send": {
        const to = arr(step.to).map((n) => this.#handle(str(n)));
        const handles = step.handles === undefined ? [] : arr(step.handles).map((n) => this.#handle(str(n)));
        // `abortable`: the send gets an AbortSignal, aborted later by `{"call": "abort", "of": as}`.
        const controller = step.abortable === true ? new AbortController() : undefined;
        if (controller && as !== undefined) this.#controllers.set(as, controller);
        const options = controller ? { handles, signal: controller.signal } : { handles };
        return this.#track(as, peer.send(to, fromJson(step.payload ?? null), options), sendResultJson);
      }
      case "abort": {
        const controller = this.#controllers.get(str(step.of));
        assert.ok(controller, `no abortable send named ${str(step.of)}`);
        controller.abort();
        return;
      }
      case "destroy": {
        const nodes = arr(step.nodes).map((n) => this.#node(str(n)));
        return this.#track(as, peer.destroy(nodes), (ts) => ({ ts: tsJson(ts) }));
      }
      case "release":
        this.#handle(str(step.handle)).release();
        return;
      default:
        throw new Error(`unknown call ${JSON.stringify(step.call)}`);
    }
  }

  async #expect(step: Step): Promise<void> {
    const what = str(step.expect);
    if (what === "nothing") return this.assertNothing("expected nothing");
    if (what === "sent") {
      const name = str(step.to);
      const remote = this.#remote(name);
      this.#collect(remote);
      const frame = remote.unread.shift();
      assert.ok(frame, `expected a frame to ${name}, none was sent`);
      return assertMatch(toJson(frame), step.frame ?? {}, `frame to ${name}`);
    }
    if (what === "delivered") {
      const event = this.#peer.poll();
      assert.ok(event, "expected a delivery, none was made");
      this.#learn(event);
      return assertMatch(eventJson(event), step.event ?? {}, "delivery");
    }
    if (what === "result") {
      const name = str(step.of);
      const outcome = this.#outcomes.get(name);
      assert.ok(outcome, `no call named ${name}`);
      if (step.pending === true) return assert.equal(outcome.state, "pending", `${name} is still pending`);
      if (step.error !== undefined) {
        assert.equal(outcome.state, "rejected", `${name} failed`);
        return assert.equal(outcome.state === "rejected" ? outcome.code : undefined, step.error);
      }
      assert.equal(outcome.state, "resolved", `${name} resolved`);
      return assertMatch(outcome.state === "resolved" ? outcome.value : null, step.value ?? {}, name);
    }
    if (what === "closed") {
      const name = str(step.peer);
      const closed = this.#remote(name).link.closed;
      assert.ok(closed, `the link to ${name} is closed`);
      return assert.equal(closed.code, step.code, `the link to ${name} closed with ${String(step.code)}`);
    }
    throw new Error(`unknown expectation ${what}`);
  }

  #track<T>(as: string | undefined, promise: Promise<T>, toValue: (value: T) => Json): void {
    const key = as ?? `#${this.#outcomes.size}`;
    this.#outcomes.set(key, { state: "pending" });
    promise.then(
      (value) => this.#outcomes.set(key, { state: "resolved", value: toValue(value) }),
      (error: unknown) => {
        const code = error instanceof CapbusError || error instanceof WireError ? error.code : String(error);
        this.#outcomes.set(key, { state: "rejected", code });
      },
    );
  }

  /** Move what the peer sent on `remote`'s link into its unread list; pure acks are skipped. */
  #collect(remote: Remote): void {
    for (const bytes of remote.link.take()) {
      const frame = codec.decode(bytes);
      if (frame.type !== "ack") remote.unread.push(frame);
    }
  }

  /** Remember handles that arrive, so later calls can name them. */
  #learn(event: PeerEvent): void {
    if (event.kind === "message") for (const h of event.handles) this.#handles.set(h.name, h);
  }

  #remote(name: string): Remote {
    const remote = this.#remotes.get(name);
    if (!remote) throw new Error(`no scripted peer ${name}`);
    return remote;
  }

  #handle(name: string): Handle {
    const handle = this.#handles.get(name);
    if (!handle) throw new Error(`no handle ${name} (create, import or receive it first)`);
    return handle;
  }

  #node(name: string): Node {
    const node = this.#nodes.get(name);
    if (!node) throw new Error(`no node ${name} (createNode first)`);
    return node;
  }
}

/** Let microtasks, promise callbacks and the loopback link run to quiescence. */
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
}

function tsJson(ts: Timestamp | undefined): Json {
  return ts === undefined ? null : [ts.lamport, ts.peer, ts.seq];
}

function sendResultJson(result: SendResult): Json {
  return {
    event: result.event,
    ts: tsJson(result.ts),
    ok: result.ok,
    destinations: result.destinations.map((d) => ({
      node: d.node,
      committed: d.committed,
      code: d.code ?? null,
    })),
  };
}

function eventJson(event: PeerEvent): Json {
  switch (event.kind) {
    case "message":
      return {
        kind: "message",
        event: event.event,
        node: event.node.name,
        payload: toJson(event.payload),
        ts: tsJson(event.ts),
        handles: event.handles.map((h) => ({ node: h.name, state: h.state })),
      };
    case "destroyed":
      return { kind: "destroyed", event: event.event, node: event.handle.name, ts: tsJson(event.ts) };
    case "released":
      return { kind: "released", event: event.event, node: event.node.name, ts: tsJson(event.ts) };
  }
}

/** Decoded values to JSON: byte strings become {"$bytes": hex}. */
function toJson(value: unknown): Json {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString("hex") };
  if (Array.isArray(value)) return value.map(toJson);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v)]));
  }
  return value as Json;
}

/** JSON to frame values: {"$bytes": hex} becomes a Uint8Array. */
function fromJson(value: Json | undefined): unknown {
  if (Array.isArray(value)) return value.map(fromJson);
  if (typeof value === "object" && value !== null) {
    const keys = Object.keys(value);
    if (keys.length === 1 && keys[0] === "$bytes")
      return new Uint8Array(Buffer.from(str(value.$bytes), "hex"));
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromJson(v)]));
  }
  return value;
}

/**
 * `expected` matches `actual` when every key of an expected object is in the actual object and
 * matches (other keys are ignored), arrays have the same length and match element by element,
 * and other values are equal.
 */
export function assertMatch(actual: Json, expected: Json, path: string): void {
  if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual), `${path}: expected an array, got ${JSON.stringify(actual)}`);
    assert.equal(actual.length, expected.length, `${path}: length of ${JSON.stringify(actual)}`);
    for (const [i, e] of expected.entries()) assertMatch(actual[i] as Json, e, `${path}[${i}]`);
    return;
  }
  if (typeof expected === "object" && expected !== null) {
    assert.ok(
      typeof actual === "object" && actual !== null && !Array.isArray(actual),
      `${path}: expected an object, got ${JSON.stringify(actual)}`,
    );
    for (const [key, e] of Object.entries(expected)) {
      assert.ok(key in actual, `${path}: no ${key} in ${JSON.stringify(actual)}`);
      assertMatch(actual[key] as Json, e, `${path}.${key}`);
    }
    return;
  }
  assert.equal(actual, expected, `${path}`);
}

function str(value: Json | undefined): string {
  if (typeof value !== "string") throw new Error(`expected a string, got ${JSON.stringify(value)}`);
  return value;
}

function num(value: Json | undefined): number {
  if (typeof value !== "number") throw new Error(`expected a number, got ${JSON.stringify(value)}`);
  return value;
}

function arr(value: Json | undefined): Json[] {
  if (!Array.isArray(value)) throw new Error(`expected an array, got ${JSON.stringify(value)}`);
  return value;
}

function obj(value: Json | undefined): JsonObject {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new Error(`expected an object, got ${JSON.stringify(value)}`);
  }
  return value;
}
