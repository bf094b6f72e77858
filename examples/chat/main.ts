/**
 * A multicast chat room. The room peer exports one node, its lobby, as a capability URL: that URL
 * is the only way in. A member imports it and joins by sending its own inbox handle. The room
 * answers with a *seat*: a node of the room's, one per member, that the member speaks through (so
 * the room knows who speaks without trusting a name in the payload). Every line is multicast to
 * all inboxes in one event, so every member sees the same conversation in the same order.
 * A member leaves by releasing its seat: the room is told by a `released` notification, in the
 * order, and announces it. Messages are typed with @capbus/channel.
 *
 * Run: npm run example:chat  (peers on ws://127.0.0.1, one process)
 */
import { channel } from "@capbus/channel";
import { type Handle, type MessageEvent, type Node, type Peer, startPeer } from "@capbus/node";
import { z } from "zod";
import { inbox } from "../shared/inbox.js";

/** To the lobby: join (carries the member's inbox handle). To a seat: say something. */
const ToRoom = channel(
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("join"), name: z.string().min(1).max(32) }),
    z.object({ type: z.literal("say"), text: z.string().min(1).max(500) }),
  ]),
  { name: "to-room" },
);
/** To a member's inbox. */
const ToMember = channel(
  z.discriminatedUnion("type", [
    z.object({ type: z.literal("welcome") }),
    z.object({ type: z.literal("joined"), name: z.string() }),
    z.object({ type: z.literal("said"), name: z.string(), text: z.string() }),
    z.object({ type: z.literal("left"), name: z.string() }),
  ]),
  { name: "to-member" },
);

/** The room: runs until closed. */
async function runRoom(peer: Peer, lobby: Node): Promise<void> {
  const members = new Map<string, { name: string; inbox: Handle; seat: Node }>(); // by seat node
  const everyone = () => [...members.values()].map((m) => m.inbox);
  for await (const event of ToRoom.receive(peer, { onInvalid: (e) => console.error(e.message) })) {
    if (event.kind === "message" && event.node === lobby && event.value.type === "join") {
      const memberInbox = event.handles[0];
      if (!memberInbox) continue;
      const seat = peer.createNode();
      members.set(seat.name, { name: event.value.name, inbox: memberInbox, seat });
      await ToMember.send(peer, memberInbox, { type: "welcome" }, { handles: [seat.handle] });
      await ToMember.send(peer, everyone(), { type: "joined", name: event.value.name });
    } else if (event.kind === "message" && event.value.type === "say") {
      const member = members.get(event.node.name);
      if (member)
        await ToMember.send(peer, everyone(), { type: "said", name: member.name, text: event.value.text });
    } else if (event.kind === "released") {
      // The member let go of its seat: it left. Tell the others, and let go of its inbox.
      const member = members.get(event.node.name);
      if (!member) continue;
      members.delete(event.node.name);
      member.inbox.release();
      await peer.destroy(member.seat);
      if (members.size > 0) await ToMember.send(peer, everyone(), { type: "left", name: member.name });
    }
  }
}

interface Member {
  readonly name: string;
  readonly peer: Peer;
  readonly lines: string[];
  readonly close: () => Promise<void>;
  say(text: string): Promise<void>;
  leave(): Promise<void>;
  /** Wait until this member has seen `count` lines. */
  seen(count: number): Promise<void>;
}

async function join(name: string, lobbyUrl: string): Promise<Member> {
  const { peer, close } = await startPeer();
  const events = inbox(peer);
  const mine = peer.createNode();
  const lobby = await peer.import(lobbyUrl);
  await ToRoom.send(peer, lobby, { type: "join", name }, { handles: [mine.handle] });
  lobby.release(); // the lobby is only for joining
  const welcome = (await events.until((e) => e.kind === "message")) as MessageEvent;
  const seat = ToRoom.adopt(welcome.handles[0]!);
  const lines: string[] = [];
  const render = () => {
    lines.length = 0;
    for (const event of events.events) {
      if (event.kind !== "message") continue;
      const value = ToMember.parse(event);
      if (value.type === "joined") lines.push(`* ${value.name} joined`);
      if (value.type === "said") lines.push(`<${value.name}> ${value.text}`);
      if (value.type === "left") lines.push(`* ${value.name} left`);
    }
    return lines.length;
  };
  return {
    name,
    peer,
    lines,
    close,
    say: async (text) => {
      await seat.send(peer, { type: "say", text });
    },
    leave: async () => {
      seat.handle.release();
      render();
      await close();
    },
    seen: async (count) => {
      await events.until(() => render() >= count);
    },
  };
}

export async function main(): Promise<void> {
  const room = await startPeer();
  const lobby = room.peer.createNode();
  const lobbyUrl = room.peer.export(lobby);
  console.log(`room: lobby at ${lobbyUrl}`);
  const roomDone = runRoom(room.peer, lobby);

  const ann = await join("ann", lobbyUrl);
  await ann.seen(1);
  const bob = await join("bob", lobbyUrl);
  await bob.seen(1);
  const cat = await join("cat", lobbyUrl);
  await cat.seen(1);
  await ann.say("hi all");
  await bob.say("hello ann");
  await cat.say("bye, I must go");
  await cat.seen(4);
  await cat.leave();
  await ann.say("see you cat");
  await ann.seen(8);
  await bob.seen(7);

  for (const member of [ann, bob, cat]) {
    console.log(`\n${member.name} saw:`);
    for (const line of member.lines) console.log(`  ${line}`);
  }
  // Every member saw the lines they share in the same order: they are one multicast each.
  const shared = bob.lines.filter((line) => ann.lines.includes(line));
  const inAnn = ann.lines.filter((line) => bob.lines.includes(line));
  const same = shared.join("\n") === inAnn.join("\n");
  console.log(`\nann and bob agree on the order: ${same}`);
  if (!same) process.exitCode = 1;

  await ann.close();
  await bob.close();
  await room.close();
  await roomDone;
}

await main();
