/** Typed channels (@capbus/channel) over simulated peers. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { ChannelPayloadError, channel } from "@capbus/channel";
import { type MessageEvent, Peer } from "@capbus/core";
import { SimNetwork } from "@capbus/sim";
import { z } from "zod";

const Chat = z.object({ from: z.string(), text: z.string().min(1) });
const chat = channel(Chat, { name: "chat" });

function pair() {
  const net = new SimNetwork({ seed: 7 });
  const runtime = net.scheduler;
  const a = new Peer({ id: "A", runtime });
  const b = new Peer({ id: "B", runtime });
  const [ab, ba] = net.link("A", "B");
  a.connect(ab, "B");
  b.connect(ba, "A");
  const inbox = b.createNode();
  const handle = a.importHandle(b.grant(inbox, "A"));
  return { net, a, b, inbox, handle };
}

test("send is typed and validated; parse gives the typed value", async () => {
  const { net, a, b, handle } = pair();
  const sent = chat.send(a, handle, { from: "ann", text: "hi" });
  await net.scheduler.run();
  assert.equal((await sent).ok, true);
  const event = b.poll() as MessageEvent;
  const value = chat.parse(event);
  assert.deepEqual(value, { from: "ann", text: "hi" });
  // @ts-expect-error: text must be a string
  const bad = chat.send(a, handle, { from: "ann", text: 5 });
  await assert.rejects(bad, (e: unknown) => {
    assert.ok(e instanceof ChannelPayloadError);
    assert.equal(e.code, "E_CHANNEL_PAYLOAD");
    assert.equal(e.direction, "send");
    assert.match(e.message, /cannot send on channel "chat"/);
    assert.match(e.message, /text/);
    return true;
  });
  await net.scheduler.run();
  assert.equal(b.poll(), undefined, "nothing left for an invalid value");
});

test("junk from a peer: a readable E_CHANNEL_PAYLOAD naming the event, sender and field", async () => {
  const { net, a, b, handle } = pair();
  void a.send(handle, { from: "mallory", text: 42 }); // untyped send: anything goes on the wire
  await net.scheduler.run();
  const event = b.poll() as MessageEvent;
  const result = chat.safeParse(event);
  assert.equal(result.ok, false);
  if (result.ok) return;
  assert.equal(result.error.code, "E_CHANNEL_PAYLOAD");
  assert.equal(result.error.direction, "receive");
  assert.equal(result.error.sender, "A");
  assert.equal(result.error.event, event.event);
  assert.match(result.error.message, /message A:\d+ from A to B\/1 does not match channel "chat"/);
  assert.match(result.error.message, /text/);
  assert.throws(() => chat.parse(event), ChannelPayloadError);
});

test("receive yields typed messages, passes notifications, and skips or throws on junk", async () => {
  const { net, a, b, handle, inbox } = pair();
  void chat.send(a, handle, { from: "ann", text: "one" });
  void a.send(handle, "junk");
  void chat.send(a, handle, { from: "ann", text: "two" });
  await net.scheduler.run();
  void b.destroy(inbox);
  await net.scheduler.run();
  const events = [b.poll(), b.poll(), b.poll(), b.poll()].filter((e) => e !== undefined);
  async function* source() {
    yield* events;
  }

  const invalid: ChannelPayloadError[] = [];
  const seen: string[] = [];
  for await (const event of chat.receive(source(), { onInvalid: (e) => invalid.push(e) })) {
    seen.push(event.kind === "message" ? event.value.text : event.kind);
  }
  assert.deepEqual(seen, ["one", "two", "destroyed"]);
  assert.equal(invalid.length, 1);
  assert.equal(invalid[0]?.value, "junk");

  const skipped: string[] = [];
  for await (const event of chat.receive(source(), { onInvalid: "skip" }))
    if (event.kind === "message") skipped.push(event.value.from);
  assert.deepEqual(skipped, ["ann", "ann"]);

  await assert.rejects(async () => {
    for await (const _ of chat.receive(source())) {
      // the junk message ends the iteration
    }
  }, ChannelPayloadError);
});

test("adopt gives a received handle the channel's type; plain bytes stay available", async () => {
  const net = new SimNetwork({ seed: 3 });
  const runtime = net.scheduler;
  const [a, b, c] = ["A", "B", "C"].map((id) => new Peer({ id, runtime })) as [Peer, Peer, Peer];
  for (const [x, y] of [
    [a, b],
    [a, c],
    [b, c],
  ] as const) {
    const [xy, yx] = net.link(x.id, y.id);
    x.connect(xy, y.id);
    y.connect(yx, x.id);
  }
  // C owns a chat room; A holds it and passes it to B inside a message.
  const room = c.createNode();
  const atA = a.importHandle(c.grant(room, "A"));
  const intro = b.createNode();
  const introAtA = a.importHandle(b.grant(intro, "A"));
  void a.send(introAtA, new Uint8Array([1, 2, 3]), { handles: [atA] });
  await net.scheduler.run();
  const got = b.poll() as MessageEvent;
  assert.deepEqual(got.payload, new Uint8Array([1, 2, 3]), "bytes pass untouched");

  const typed = chat.adopt(got.handles[0]!);
  assert.equal(typed.handle.name, room.name);
  const sent = typed.send(b, { from: "bob", text: "hello room" });
  await net.scheduler.run();
  assert.equal((await sent).ok, true);
  assert.deepEqual(chat.parse(c.poll() as MessageEvent), { from: "bob", text: "hello room" });
  // @ts-expect-error: a typed handle takes only the channel's values
  await assert.rejects(typed.send(b, { text: "no sender" }), ChannelPayloadError);
  // Multicast to typed and plain handles alike.
  const both = chat.send(a, [chat.adopt(atA), introAtA], { from: "ann", text: "all" });
  await net.scheduler.run();
  assert.equal((await both).ok, true);
});

const Ask = z.object({ zone: z.string() });
const Told = z.object({ time: z.string(), zone: z.string() });
const clock = channel(Ask, { name: "clock", reply: Told });

test("typed request/reply: request resolves with the parsed reply; receive's reply is typed and checked", async () => {
  const { net, a, b, handle } = pair();
  const refused: unknown[] = [];
  const serving = (async () => {
    for await (const event of clock.receive(b)) {
      if (event.kind !== "message" || event.reply === undefined) continue;
      // @ts-expect-error: a reply must be of the reply type
      await event.reply({ when: "noon" }).catch((error: unknown) => refused.push(error));
      await event.reply({ time: "12:00", zone: event.value.zone });
      return;
    }
  })();
  const answer = clock.request(a, handle, { zone: "UTC" });
  await net.scheduler.run();
  const told: { time: string; zone: string } = await answer;
  assert.deepEqual(told, { time: "12:00", zone: "UTC" });
  await serving;
  // The reply that did not match was refused at the replier, and nothing of it was sent.
  assert.equal(refused.length, 1);
  assert.ok(refused[0] instanceof ChannelPayloadError);
  assert.equal(refused[0].direction, "send");
  assert.match(refused[0].message, /cannot reply to .* does not match the reply schema on channel "clock"/);
  // @ts-expect-error: a request must be of the channel's type
  await assert.rejects(clock.request(a, handle, { zone: 5 }), ChannelPayloadError);
});

test("a reply that does not match the reply schema rejects the request with E_CHANNEL_PAYLOAD", async () => {
  const { net, a, b, handle } = pair();
  void (async () => {
    for await (const event of b) {
      // An untyped replier: anything goes on the wire.
      if (event.kind === "message" && event.reply) await event.reply({ time: 12 });
    }
  })();
  const answer = clock.adopt(handle).request(a, { zone: "UTC" });
  const failed = assert.rejects(answer, (e: unknown) => {
    assert.ok(e instanceof ChannelPayloadError);
    assert.equal(e.code, "E_CHANNEL_PAYLOAD");
    assert.equal(e.direction, "receive");
    assert.deepEqual(e.value, { time: 12 });
    assert.match(e.message, /the reply from B to a request to B\/1 does not match the reply schema/);
    return true;
  });
  await net.scheduler.run();
  await failed;
});

test("reply(event, value): a request taken with parse is answered, the value checked first", async () => {
  const { net, a, b, handle } = pair();
  const answer = clock.request(a, handle, { zone: "CET" });
  await net.scheduler.run();
  const event = b.poll() as MessageEvent;
  assert.deepEqual(clock.parse(event), { zone: "CET" });
  // @ts-expect-error: a reply must be of the reply type
  await assert.rejects(clock.reply(event, { time: 13 }), ChannelPayloadError);
  const sent = clock.reply(event, { time: "13:00", zone: "CET" });
  await net.scheduler.run();
  assert.equal((await sent).ok, true);
  assert.deepEqual(await answer, { time: "13:00", zone: "CET" });
});

test("a channel without a reply schema: request resolves with the reply unchecked (unknown)", async () => {
  const { net, a, b, handle } = pair();
  void (async () => {
    for await (const event of chat.receive(b)) {
      if (event.kind === "message" && event.reply) await event.reply(`got ${event.value.text}`);
    }
  })();
  const answer: Promise<unknown> = chat.request(a, handle, { from: "ann", text: "ping" });
  await net.scheduler.run();
  assert.equal(await answer, "got ping");
});
