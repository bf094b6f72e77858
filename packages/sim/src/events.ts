/** What a SimNetwork observer sees: every send, delivery, loss and close, stamped with virtual time. */
import type { LinkClosedInfo } from "@capbus/core";

interface FrameEventBase {
  readonly time: number;
  readonly link: number;
  readonly from: string;
  readonly to: string;
  /** The network's copy of the frame; observers must not modify it. */
  readonly bytes: Uint8Array;
}

/** One thing that happened on a SimNetwork: a frame sent, delivered or lost, or a link closed. */
export type NetEvent =
  | (FrameEventBase & { readonly kind: "send" })
  | (FrameEventBase & { readonly kind: "deliver" })
  | (FrameEventBase & { readonly kind: "lost"; readonly why: "cut" | "closed" })
  | {
      readonly kind: "closed";
      readonly time: number;
      readonly link: number;
      /** The endpoint whose handler got `closed`. */
      readonly endpoint: string;
      readonly peer: string;
      readonly info: LinkClosedInfo;
    };

/** A SimNetwork observer: called synchronously for every NetEvent. */
export type NetObserver = (event: NetEvent) => void;
