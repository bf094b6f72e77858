/** Harness pieces shared by the socket transports' conformance runs: real time, loopback only. */
export async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!done()) {
    if (Date.now() >= end) throw new Error(`timed out (${ms} ms) waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
