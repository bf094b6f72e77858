/**
 * `npm run example:browser-chat`: start the chat room's Node peer and the page's http server, and
 * print the room's capability URL and the page to open (several tabs make several members).
 * Ctrl-C destroys the room (every page shows the notification), then stops.
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

let stopping = false;
process.on("SIGINT", () => {
  if (stopping) process.exit(1);
  stopping = true;
  console.log("\ndestroying the room ...");
  void server.room
    .close()
    .then(() => new Promise((resolve) => setTimeout(resolve, 500)))
    .then(() => server.close())
    .then(() => process.exit(0));
});
