/** `capbus/trace/node`: `@capbus/trace/node`, as the installed `capbus` package names it. */
export * from "@capbus/trace/node";
