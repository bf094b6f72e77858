/** `capbus/browser`: `@capbus/browser`, as the installed `capbus` package names it. */
export * from "@capbus/browser";
