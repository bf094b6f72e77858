/** `capbus/transport`: `@capbus/transport`, as the installed `capbus` package names it. */
export * from "@capbus/transport";
