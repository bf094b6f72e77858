/** `capbus/testkit`: `@capbus/testkit`, as the installed `capbus` package names it. */
export * from "@capbus/testkit";
