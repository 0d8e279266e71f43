/**
 * The gateway's error catalogue. Handlers throw these; one error handler renders them as
 * `{ "error": { "code", "message" } }` with the status they carry (see server.ts).
 */
export class SpindleError extends Error {
  readonly statusCode: number;
  readonly code: string;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, code: string, message: string, options?: { cause?: unknown; headers?: Record<string, string> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.code = code;
    this.headers = options?.headers ?? {};
  }
}

/** 400: a field of the request is wrong; the message names it. */
export class BadRequestError extends SpindleError {
  constructor(message: string, cause?: unknown) {
    super(400, 'SPINDLE_BAD_REQUEST', message, { cause });
  }
}
/** 401: management API without valid credentials; `challenge: false` leaves out WWW-Authenticate (a browser would open its own login dialog). */
export class UnauthorizedError extends SpindleError {
  constructor(message = 'authentication required: use basic auth with user "admin" and the admin password', challenge = true) {
    super(401, 'SPINDLE_UNAUTHORIZED', message, challenge ? { headers: { 'www-authenticate': 'Basic realm="spindle"' } } : undefined);
  }
}
/** 403: authenticated by the session cookie, but without the CSRF token or from another origin; the message names the header. */
export class ForbiddenError extends SpindleError {
  constructor(message: string) {
    super(403, 'SPINDLE_FORBIDDEN', message);
  }
}
/** 422: a well-formed request the LangGraph Platform API cannot act on (a run input its graph refuses, a field Spindle does not support); the message names the field. */
export class UnprocessableError extends SpindleError {
  constructor(message: string, cause?: unknown) {
    super(422, 'SPINDLE_UNPROCESSABLE', message, { cause });
  }
}
/** 404: unknown function, secret, bundle or route. */
export class NotFoundError extends SpindleError {
  constructor(message: string) {
    super(404, 'SPINDLE_NOT_FOUND', message);
  }
}
/** 405: a method no route serves at all (CONNECT: the gateway is not a proxy); `Allow` lists what is served. */
export class MethodNotAllowedError extends SpindleError {
  constructor(method: string, allow: readonly string[]) {
    super(405, 'SPINDLE_METHOD_NOT_ALLOWED', `method ${method} is not served here: the gateway is not a forward proxy; use ${allow.join(', ')}`, { headers: { allow: allow.join(', ') } });
  }
}
/** 409: creating what already exists. */
export class ConflictError extends SpindleError {
  constructor(message: string) {
    super(409, 'SPINDLE_CONFLICT', message);
  }
}
/**
 * 499 (nginx's "client closed request"): the caller closed its connection before the answer. Not a
 * server error: logged at debug, counted as 499, never as a 5xx; nobody is left to read the answer.
 */
export class ClientClosedError extends SpindleError {
  constructor(message = 'the caller closed the connection before the answer was sent', cause?: unknown) {
    super(499, 'SPINDLE_CLIENT_CLOSED', message, { cause });
  }
}
/** 413: body larger than the limit. */
export class PayloadTooLargeError extends SpindleError {
  constructor(limit: number) {
    super(413, 'SPINDLE_BODY_TOO_LARGE', `request body is larger than the limit of ${limit} bytes`);
  }
}
/** 413: an artifact upload larger than `SPINDLE_MAX_ARTIFACT_BYTES`. */
export class ArtifactTooLargeError extends SpindleError {
  constructor(limit: number) {
    super(413, 'SPINDLE_ARTIFACT_TOO_LARGE', `the upload is larger than the artifact limit of ${limit} bytes (SPINDLE_MAX_ARTIFACT_BYTES)`);
  }
}
/** 416: a `Range` that starts past the artifact's end; `Content-Range: bytes *\/size` says its size. */
export class RangeNotSatisfiableError extends SpindleError {
  constructor(size: number) {
    super(416, 'SPINDLE_RANGE_NOT_SATISFIABLE', `header "range" asks for bytes past the end of the artifact (${size} bytes)`, { headers: { 'content-range': `bytes */${size}` } });
  }
}
/** 502: the replica failed while holding the request (crashed, reset the connection). */
export class BadGatewayError extends SpindleError {
  constructor(message: string, cause?: unknown) {
    super(502, 'SPINDLE_REPLICA_FAILED', message, { cause });
  }
}
/** 429: a GPU function's queue (or the GPU job stream) is full; retry after the given seconds. */
export class TooManyRequestsError extends SpindleError {
  constructor(message: string, retryAfterSeconds = 1) {
    super(429, 'SPINDLE_TOO_MANY_REQUESTS', message, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}
/** 503: no ready replica within the wait bound. */
export class UnavailableError extends SpindleError {
  constructor(message: string, retryAfterSeconds = 1) {
    super(503, 'SPINDLE_UNAVAILABLE', message, { headers: { 'retry-after': String(retryAfterSeconds) } });
  }
}
/** 504: the function ran past its timeout. */
export class TimeoutError extends SpindleError {
  constructor(message: string) {
    super(504, 'SPINDLE_TIMEOUT', message);
  }
}
/**
 * 500: a stored secret cannot be decrypted (sealed under another key, or changed in the database). The
 * message names the secret and the fix, never the value.
 */
export class SecretUnreadableError extends SpindleError {
  constructor(name: string, why: string, cause?: unknown) {
    super(500, 'SPINDLE_SECRET_UNREADABLE', `secret "${name}" cannot be decrypted: ${why}`, { cause });
  }
}
