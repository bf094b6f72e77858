/** `capbus/testkit/child`: `@capbus/testkit/child`, as the installed `capbus` package names it. */
export * from "@capbus/testkit/child";
