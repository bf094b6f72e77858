/** `capbus/wire`: `@capbus/wire`, as the installed `capbus` package names it. */
export * from "@capbus/wire";
