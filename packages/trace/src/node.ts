/**
 * Node-only parts of @capbus/trace (they use node:fs): the file sink and CAPBUS_TRACE.
 *
 * @module @capbus/trace/node
 */
export {
  FileTraceSink,
  fileTraceSinkFromEnv,
  TRACE_DIR_ENV,
  TraceSinkError,
  traceDirFromEnv,
  traceFileName,
} from "./file-sink.js";
