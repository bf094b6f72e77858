/** `capbus/conformance`: `@capbus/conformance`, as the installed `capbus` package names it. */
export * from "@capbus/conformance";
