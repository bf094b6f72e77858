/**
 * The A/B/C scenario as three processes, for main.ts and the multi-process tests: start C, then
 * B with C's URL, then A with both; let A announce; wait until B has asked C about every link.
 * `listen` picks each process's endpoints (ws by default, Unix sockets, or a mix).
 */
import type { PeerProcess, TestKit } from "@capbus/testkit";
import type { Delivery } from "./messages.js";

export interface ScenarioOptions {
  readonly links: readonly string[];
  /** Each process's endpoints; unset: one ws endpoint on 127.0.0.1. */
  readonly listen?:
    | {
        readonly A?: string[] | undefined;
        readonly B?: string[] | undefined;
        readonly C?: string[] | undefined;
      }
    | undefined;
}

export interface ScenarioRun {
  readonly a: PeerProcess;
  readonly b: PeerProcess;
  readonly c: PeerProcess;
  /** What C answered B for each link: did C know the link when asked? */
  readonly answers: ReadonlyArray<{ readonly link: string; readonly knewLink: boolean }>;
}

const script = (name: string) => new URL(`./${name}.ts`, import.meta.url);
const listen = (endpoints: string[] | undefined) => (endpoints ? { listen: endpoints } : {});

export async function runScenario(kit: TestKit, options: ScenarioOptions): Promise<ScenarioRun> {
  const c = await kit.start("C", script("dhcp-client"), listen(options.listen?.C));
  const b = await kit.start("B", script("policy-daemon"), {
    ...listen(options.listen?.B),
    dhcp: c.urls.dhcp,
  });
  const a = await kit.start("A", script("link-manager"), {
    ...listen(options.listen?.A),
    announceTo: [b.urls.policy, c.urls.dhcp],
    links: options.links,
  });
  a.tell({ go: true });
  const answers = [];
  for (const _ of options.links) {
    answers.push((await c.next<{ dhcp: { link: string; knewLink: boolean } }>("dhcp")).dhcp);
    await b.next("asked");
  }
  return { a, b, c, answers };
}

/** The messages `child` delivered so far, in its order. */
export function deliveries(child: PeerProcess): Delivery[] {
  return child.lines.flatMap((line) => (line.delivery ? [line.delivery as Delivery] : []));
}
