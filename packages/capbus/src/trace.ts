/** `capbus/trace`: `@capbus/trace`, as the installed `capbus` package names it. */
export * from "@capbus/trace";
