/** `capbus/transport-unix`: `@capbus/transport-unix`, as the installed `capbus` package names it. */
export * from "@capbus/transport-unix";
