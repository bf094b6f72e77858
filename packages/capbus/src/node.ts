/** `capbus/node`: `@capbus/node`, as the installed `capbus` package names it. */
export * from "@capbus/node";
