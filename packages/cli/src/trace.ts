/**
 * `capbus trace render`: read a run's traces, check them, and write its space-time diagram as one
 * self-contained HTML page or a static SVG (@capbus/render draws; this only reads and writes).
 */
import { writeFileSync } from "node:fs";
import { extname } from "node:path";
import { parseArgs } from "node:util";
import { EXIT, type Io, UsageError } from "./io.js";

const TRACE_HELP = `usage: capbus trace <tool> [options]

tools:
  render   draw a run's space-time diagram: HTML (zoom, pan, filters) or SVG

Run 'capbus trace render --help' for its options.
exit codes: 0 ok, 2 no tool or an unknown one; each tool's --help lists its own`;

const RENDER_HELP = `usage: capbus trace render TRACE... -o FILE [--format html|svg] [--title TEXT]

Read traces (.jsonl files, or directories of them, as written with CAPBUS_TRACE=<dir>), check them
as 'capbus check' does, and draw the run: one lane per peer; each delivery at its final timestamp
(lamport, creator, seq) along the time axis; an arrow from each send, destroy or release to each of
its deliveries (a multicast has several); destroyed and released notifications, and those made up
for a lost peer (crash), as marks of their own; every violation the checker finds in red.

The HTML page is one file with no external asset: drag to pan, wheel to zoom, filter by peer and
by node, hover a mark for its event, node and timestamp. The SVG is the same picture, static.

options:
  -o, --output FILE     where to write: FILE.html, FILE.svg, or '-' for stdout (HTML) (required)
  -f, --format FORMAT   html or svg (default: from FILE's extension; any other is refused)
  -t, --title TEXT      the diagram's title (default: the TRACE arguments)
  -h, --help            this help
exit codes: 0 drawn (with or without violations: 'capbus check' judges), 1 FILE could not be
written, 2 usage error (also an -o extension other than .html or .svg), no traces, unreadable or
malformed traces`;

export async function trace(args: readonly string[], io: Io): Promise<number> {
  const [tool, ...rest] = args;
  switch (tool) {
    case undefined:
      io.err(TRACE_HELP);
      return EXIT.USAGE;
    case "-h":
    case "--help":
    case "help":
      io.out(TRACE_HELP);
      return EXIT.OK;
    case "render":
      return render(rest, io);
    default:
      throw new UsageError(`unknown trace tool '${tool}'`);
  }
}

async function render(args: readonly string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      output: { type: "string", short: "o" },
      format: { type: "string", short: "f" },
      title: { type: "string", short: "t" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) {
    io.out(RENDER_HELP);
    return EXIT.OK;
  }
  if (positionals.length === 0) throw new UsageError("missing TRACE: give .jsonl files or directories");
  const output = values.output;
  if (output === undefined) throw new UsageError("missing -o FILE (an .html or .svg file, or - for stdout)");
  const format = formatOf(values.format, output);

  const { checkTraces, readTraces, TraceFormatError } = await import("@capbus/checker");
  const { layoutRun, renderHtml, renderSvg } = await import("@capbus/render");
  let picture: string;
  let summary: string;
  try {
    const traces = readTraces(positionals, { warn: (message) => io.err(`capbus: warning: ${message}`) });
    if (traces.size === 0) {
      io.err(`capbus: no trace records in ${positionals.join(", ")} (no non-empty .jsonl file)`);
      return EXIT.USAGE;
    }
    const report = checkTraces(traces, { maxViolationsPerProperty: 50 });
    const layout = layoutRun(traces, report, { title: values.title ?? positionals.join(" ") });
    picture = format === "svg" ? renderSvg(layout) : renderHtml(layout);
    summary = layout.summary;
  } catch (error) {
    // The checker's reader names the file and line; its code says what kind of fault it is.
    if (error instanceof TraceFormatError) {
      io.err(`capbus: ${error.code}: ${error.message}`);
      return EXIT.USAGE;
    }
    throw error;
  }
  if (output === "-") {
    io.out(picture);
    io.err(summary);
    return EXIT.OK;
  }
  try {
    writeFileSync(output, picture);
  } catch (error) {
    io.err(`capbus: cannot write ${output}: ${(error as Error).message}`);
    return EXIT.FAILED;
  }
  io.out(`${output}: ${summary}`);
  return EXIT.OK;
}

function formatOf(given: string | undefined, output: string): "html" | "svg" {
  if (given !== undefined) {
    if (given === "html" || given === "svg") return given;
    throw new UsageError(`--format must be html or svg (got '${given}')`);
  }
  if (output === "-") return "html";
  const ext = extname(output).toLowerCase();
  if (ext === ".svg") return "svg";
  if (ext === ".html" || ext === ".htm") return "html";
  // A .png would be an SVG or HTML file under the wrong name: say so rather than write it.
  throw new UsageError(
    `cannot tell the format of -o ${output}${ext ? ` ('${ext}' is neither .html nor .svg)` : " (no extension)"}: name it .html or .svg, or give --format html|svg`,
  );
}
