/** `capbus/channel`: `@capbus/channel`, as the installed `capbus` package names it. */
export * from "@capbus/channel";
