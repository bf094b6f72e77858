/** `capbus/core`: `@capbus/core`, as the installed `capbus` package names it. */
export * from "@capbus/core";
