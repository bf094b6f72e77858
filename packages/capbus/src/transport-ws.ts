/** `capbus/transport-ws`: `@capbus/transport-ws`, as the installed `capbus` package names it. */
export * from "@capbus/transport-ws";
