/** `capbus/checker`: `@capbus/checker`, as the installed `capbus` package names it. */
export * from "@capbus/checker";
