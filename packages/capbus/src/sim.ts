/** `capbus/sim`: `@capbus/sim`, as the installed `capbus` package names it. */
export * from "@capbus/sim";
