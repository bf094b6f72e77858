/** What the chat room and its members say to each other (plain CBOR-able objects). */

/** To the room node. `join` carries one handle: the member's inbox. */
export type ToRoom =
  | { readonly type: "join"; readonly name: string }
  | { readonly type: "say"; readonly text: string };

/** To a member's inbox, multicast by the room to every member at once. */
export type ToMember =
  | { readonly type: "joined"; readonly name: string; readonly members: readonly string[] }
  | { readonly type: "said"; readonly name: string; readonly text: string }
  | { readonly type: "left"; readonly name: string; readonly reason: string };
