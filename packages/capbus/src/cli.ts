/** `capbus/cli`: `@capbus/cli`, as the installed `capbus` package names it. */
export * from "@capbus/cli";
