/**
 * @capbus/testkit: multi-process integration tests for capbus programs. The test side starts
 * peer processes from scripts, hands them capability URLs, stops them all, and checks their
 * merged traces; the child side (`@capbus/testkit/child`) keeps those scripts short.
 *
 * @module @capbus/testkit
 */
export { checkTraceDir } from "./check.js";
export { type ChildContext, childContext } from "./child.js";
export { CheckFailedError, TestkitError, TestkitErrorCode } from "./errors.js";
export { type AfterHook, TestKit, type TestKitOptions, testKit } from "./kit.js";
export { type Exit, PeerProcess } from "./process.js";
export { INPUTS_ENV, type Line, NAME_ENV, type ReadyLine, type Urls } from "./protocol.js";
export type { SpawnOptions } from "./spawn.js";
export { tsxLoader } from "./tsx.js";
