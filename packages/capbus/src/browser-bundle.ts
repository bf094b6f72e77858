/** `capbus/browser/bundle`: `@capbus/browser/bundle`, as the installed `capbus` package names it. */
export * from "@capbus/browser/bundle";
