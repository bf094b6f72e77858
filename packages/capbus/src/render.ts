/** `capbus/render`: `@capbus/render`, as the installed `capbus` package names it. */
export * from "@capbus/render";
