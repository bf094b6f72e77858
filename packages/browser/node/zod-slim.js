// The zod that the browser bundle gives @capbus/wire and @capbus/trace: `z` is zod's classic
// schema module itself (every schema factory: z.string, z.custom, z.strictObject, ...), without
// what `import { z } from "zod"` drags along and no bundler can drop: every locale (English stays,
// registered by the schemas), JSON Schema import and export, coercion, ISO formats. About 450 KB
// of 600 KB minified. Not here: z.config, z.locales, z.coerce, z.iso, z.toJSONSchema.
export * as z from "zod:schemas";
