/**
 * Payloads: `size` bytes; a timed one carries its send time (ms, wall clock of this machine, as a
 * float64 at byte 0) and a sequence number (uint32 at byte 8), read back by receivers.
 */

/** Wall-clock ms with sub-ms precision, comparable between processes on one machine. */
export function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

export function payload(size: number, fill = 0x61): Uint8Array {
  return new Uint8Array(size).fill(fill);
}

export function timedPayload(size: number, seq: number): Uint8Array {
  const bytes = new Uint8Array(Math.max(size, 12));
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, wallMs());
  view.setUint32(8, seq);
  return bytes;
}

/** Milliseconds since the payload was made. */
export function ageMs(bytes: Uint8Array): number {
  return wallMs() - new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getFloat64(0);
}

/** A Promise for the next macrotask turn (lets sockets flush between bursts). */
export function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * How many payloads of `size` bytes a sender keeps in flight: 1024, or 4 MiB of payload (a
 * capbus session keeps at most 16 MiB unacknowledged).
 */
export function windowFor(size: number): number {
  const most = Number(process.env.BENCH_WINDOW ?? 1024);
  return Math.max(64, Math.min(most, Math.floor((4 * 1024 * 1024) / size)));
}
