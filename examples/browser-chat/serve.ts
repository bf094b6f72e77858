/**
 * `npm run example:browser-chat`: start the chat room's Node peer and the page's http server, and
 * print the room's capability URL and the page to open (several tabs make several members).
 * Ctrl-C (or SIGTERM) destroys the room (every page shows the notification), then stops: within
 * 2 s, even when a member does not answer (its page then sees the room end as a crash).
 */
import { startChatServer } from "./server.js";

const server = await startChatServer({
  httpPort: Number(process.env.PORT ?? 8080),
  log: (line) => console.log(`[room] ${line}`),
});
const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`page bundle: ${kib(server.bundle.bytes)} minified, ${kib(server.bundle.gzipBytes)} gzipped`);
console.log(`room capability URL: ${server.roomUrl}`);
console.log(`open: ${server.pageUrl}`);
console.log("Ctrl-C destroys the room and stops.");

/**
 * How long Ctrl-C waits for the members to take part in destroying the room. A member that does
 * not answer (its page asleep, its network gone) would otherwise hold the destroy until its link
 * is declared dead and its grace period ends (45 s by default).
 */
const STOP_WITHIN_MS = 2000;

let stopping = false;
const stop = () => {
  if (stopping) process.exit(1);
  stopping = true;
  console.log("\ndestroying the room ...");
  const graceful = server.room
    .close()
    .then(() => new Promise((resolve) => setTimeout(resolve, 500)))
    .then(() => server.close())
    .then(() => true);
  const late = new Promise<false>((resolve) => setTimeout(() => resolve(false), STOP_WITHIN_MS).unref());
  void Promise.race([graceful, late]).then(async (inTime) => {
    if (!inTime) {
      console.log(`a member did not answer within ${STOP_WITHIN_MS} ms: stopping without it`);
      await server.abort();
    }
    process.exit(0);
  });
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
