/**
 * The schemas package's error catalogue. The gateway renders these as 400s, the CLI as `file:line:col:`
 * errors; both read `path` (a JSON pointer into the checked document) to say where.
 */

/** A graph definition that its schema, its bounds, its input schema or its plan (references, cycles) refuses. */
export class GraphInvalidError extends Error {
  readonly code = 'SPINDLE_GRAPH_INVALID';
  /** JSON pointer of the offending field inside the definition (`/nodes/a/needs`, `` for the whole). */
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.path = path;
  }
}
