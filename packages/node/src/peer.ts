import { Peer as CorePeer, type PeerOptions, randomPeerId, systemRuntime } from "@capbus/core";
import { fileTraceSinkFromEnv } from "@capbus/trace/node";

/**
 * The core peer, plus what only Node can do: with `CAPBUS_TRACE=<dir>` set and no `trace`
 * option given, it writes its trace to `<dir>/<peer id>.jsonl` (spec/trace.md).
 */
export class Peer extends CorePeer {
  constructor(options: PeerOptions = {}) {
    const id = options.id ?? options.identity?.id ?? randomPeerId(options.runtime ?? systemRuntime);
    super({ ...options, id, trace: "trace" in options ? options.trace : fileTraceSinkFromEnv(id) });
  }
}
