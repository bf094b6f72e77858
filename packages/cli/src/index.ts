/**
 * The `capbus` command as a library: `main(args, io)` resolves with the exit code.
 *
 * @module @capbus/cli
 */
export { checkCapabilityUrl, describe, EXIT, type Io, main, toJson, UsageError } from "./main.js";
