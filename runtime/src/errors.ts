/** The runtime's error catalogue: what a handler may throw and what the watchdog renders. */

/** Thrown by a handler (or the runtime) to answer with a given HTTP status and message. */
export class HttpError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly field?: string;
  constructor(statusCode: number, message: string, options?: { code?: string; field?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
    this.statusCode = statusCode;
    this.code = options?.code ?? (statusCode < 500 ? 'SPINDLE_BAD_REQUEST' : 'SPINDLE_FUNCTION_ERROR');
    this.field = options?.field;
  }
}

/** 400: the request body is not valid JSON or violates the function's input schema. */
export class InvalidInputError extends HttpError {
  constructor(message: string, field?: string) {
    super(400, message, { code: 'SPINDLE_INVALID_INPUT', field });
    this.name = 'InvalidInputError';
  }
}

/** 500: the handler returned something its output schema forbids. */
export class InvalidOutputError extends HttpError {
  constructor(message: string, field?: string) {
    super(500, message, { code: 'SPINDLE_INVALID_OUTPUT', field });
    this.name = 'InvalidOutputError';
  }
}
