/**
 * The page: joins the room named by `?room=<capability URL>` (or one pasted in), as `?name=`,
 * shows the conversation in its order and every destroy/release notification. `capbusTrace()`
 * returns the page peer's trace records (tests read them; a page cannot write files).
 */
import { ChatClient, type ChatEvent } from "./client.js";

/** The few DOM members this page uses (the repository type-checks without the DOM library). */
interface El {
  textContent: string | null;
  value: string;
  disabled: boolean;
  className: string;
  append(...children: El[]): void;
  addEventListener(type: string, listener: (event: { preventDefault(): void }) => void): void;
  scrollIntoView(): void;
  click(): void;
}
const web = globalThis as unknown as {
  document: { getElementById(id: string): El | null; createElement(tag: string): El };
  location: { search: string };
  capbusTrace?: () => unknown[];
};
const $ = (id: string): El => {
  const el = web.document.getElementById(id);
  if (!el) throw new Error(`no #${id}`);
  return el;
};

const params = new URLSearchParams(web.location.search);
const form = $("join");
const roomInput = $("room");
const nameInput = $("name");
roomInput.value = params.get("room") ?? "";
nameInput.value = params.get("name") ?? `guest-${Math.floor(Math.random() * 1000)}`;
let client: ChatClient | undefined;

function show(text: string, className = ""): void {
  const li = web.document.createElement("li");
  li.textContent = text;
  li.className = className;
  $("log").append(li);
  li.scrollIntoView();
}

function describe(event: ChatEvent): [string, string] {
  switch (event.kind) {
    case "message": {
      const m = event.message;
      const ts = `(${event.ts[0]}, ${event.ts[1].slice(0, 6)}, ${event.ts[2]})`;
      if (m.type === "said") return [`${m.name}: ${m.text}`, "said"];
      if (m.type === "joined") return [`${m.name} joined; members: ${m.members.join(", ")}  ${ts}`, "joined"];
      return [`${m.name} left (${m.reason})  ${ts}`, "left"];
    }
    case "destroyed":
      return [
        event.what === "room" ? `the room was destroyed (${event.reason})` : "your inbox was destroyed",
        "destroyed",
      ];
    case "released":
      return ["the room released your inbox", "released"];
    case "ended":
      return ["peer closed", "ended"];
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (client) return;
  $("joinButton").disabled = true;
  $("status").textContent = "joining ...";
  ChatClient.join(roomInput.value.trim(), nameInput.value.trim(), (e) => show(...describe(e))).then(
    (joined) => {
      client = joined;
      web.capbusTrace = () => joined.trace.all();
      $("status").textContent = `joined as peer ${joined.peer.id}`;
      $("text").disabled = $("send").disabled = $("leave").disabled = false;
    },
    (error: unknown) => {
      $("status").textContent = `could not join: ${error}`;
      $("joinButton").disabled = false;
    },
  );
});

$("say").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = $("text").value;
  if (!client || text === "") return;
  $("text").value = "";
  client.say(text).catch((error: unknown) => show(`not sent: ${error}`, "error"));
});

$("leave").addEventListener("click", () => {
  $("leave").disabled = $("send").disabled = $("text").disabled = true;
  client?.leave().catch((error: unknown) => show(`leave failed: ${error}`, "error"));
});

if (roomInput.value !== "" && params.has("name")) $("joinButton").click();
