/**
 * The CLI's error catalogue. Commands throw these; `main.ts` prints `error: <message>` and exits 1.
 * Anything that is not a `CliError` is a bug and is printed with its stack.
 */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = options?.exitCode ?? 1;
  }
}

/** A flag or argument is missing or malformed. */
export class UsageError extends CliError {
  constructor(message: string) {
    super('SPINDLE_CLI_USAGE', message);
  }
}

/** stack.yml (or the file given with -f) does not exist. */
export class StackNotFoundError extends CliError {
  constructor(file: string) {
    super('SPINDLE_CLI_STACK_NOT_FOUND', `${file} not found: create one with \`spindle new NAME\` or pass -f FILE`);
  }
}

/** stack.yml (or a file it names) is not valid YAML, is too deep, or breaks the schema; the message starts with `file:line:col:`. */
export class StackInvalidError extends CliError {
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The message without its `file:line:col: ` prefix. */
  readonly detail: string;
  constructor(file: string, line: number, col: number, detail: string) {
    super('SPINDLE_CLI_STACK_INVALID', `${file}:${line}:${col}: ${detail}`);
    this.file = file;
    this.line = line;
    this.col = col;
    this.detail = detail;
  }
}

/** A function or secret name that is not a DNS-1123 label. */
export class InvalidNameError extends CliError {
  constructor(kind: string, name: string) {
    super(
      'SPINDLE_CLI_INVALID_NAME',
      `${JSON.stringify(name)} is not a valid ${kind} name: use lowercase letters, digits and "-", ` +
        'starting and ending with a letter or digit, at most 63 characters (a DNS-1123 label)',
    );
  }
}

/** `spindle new` would overwrite a function folder or a stack.yml entry. */
export class FunctionExistsError extends CliError {
  constructor(message: string) {
    super('SPINDLE_CLI_FUNCTION_EXISTS', message);
  }
}

/** A `lang` the CLI cannot scaffold or build (yet). */
export class UnsupportedLangError extends CliError {
  constructor(message: string) {
    super('SPINDLE_CLI_UNSUPPORTED_LANG', message);
  }
}

/** esbuild failed; the message lists esbuild's errors as `file:line:col: text`. */
export class BuildFailedError extends CliError {
  readonly function: string;
  constructor(fn: string, details: string[], cause?: unknown) {
    super('SPINDLE_CLI_BUILD_FAILED', `build of ${fn} failed:\n${details.map((d) => `  ${d}`).join('\n')}`, { cause });
    this.function = fn;
  }
}

/** A function has no build output yet (deploy before build). */
export class NotBuiltError extends CliError {
  constructor(name: string) {
    super('SPINDLE_CLI_NOT_BUILT', `${name} has not been built: run \`spindle build\` or \`spindle up\``);
  }
}

/** `spindle invoke`: the function answered with a non-2xx status; its body has already gone to stderr. */
export class InvokeFailedError extends CliError {
  constructor(name: string, status: number) {
    super('SPINDLE_CLI_INVOKE_FAILED', `${name} returned HTTP ${status}`);
  }
}

/** The gateway answered with an error; the message is the gateway's own. */
export class GatewayError extends CliError {
  readonly status: number;
  readonly gatewayCode: string | undefined;
  constructor(status: number, message: string, gatewayCode?: string) {
    super('SPINDLE_CLI_GATEWAY', message);
    this.status = status;
    this.gatewayCode = gatewayCode;
  }
}

/** 401 from the gateway: no credentials, or wrong ones. */
export class AuthError extends CliError {
  constructor(gateway: string, hadCredentials: boolean) {
    super(
      'SPINDLE_CLI_UNAUTHORIZED',
      hadCredentials
        ? `the gateway at ${gateway} rejected the credentials: run \`spindle login -g ${gateway}\` again or set SPINDLE_ADMIN_PASSWORD`
        : `the gateway at ${gateway} needs credentials: run \`spindle login -g ${gateway}\` or set SPINDLE_ADMIN_PASSWORD`,
    );
  }
}

/** Nothing answered at the gateway URL. */
export class GatewayUnreachableError extends CliError {
  constructor(gateway: string, cause: unknown) {
    const reason = describeCause(cause);
    super(
      'SPINDLE_CLI_GATEWAY_UNREACHABLE',
      `cannot reach the gateway at ${gateway}${reason ? ` (${reason})` : ''}: is it running? Start it with \`spindle start\``,
      { cause },
    );
  }
}

/** A followed stream (run events, log lines) broke off mid-way: the connection dropped or the body was cut. */
export class StreamDroppedError extends CliError {
  constructor(what: string, cause: unknown) {
    const reason = describeCause(cause);
    super('SPINDLE_CLI_STREAM_DROPPED', `the connection to the gateway dropped while reading ${what}${reason ? ` (${reason})` : ''}`, { cause });
  }
}

/** A followed stream could not be resumed: every reconnection attempt failed. */
export class StreamLostError extends CliError {
  constructor(what: string, attempts: number, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    super('SPINDLE_CLI_STREAM_LOST', `lost ${what} and could not resume after ${attempts} attempts: ${detail}`, { cause });
  }
}

function describeCause(cause: unknown): string {
  const inner = cause instanceof Error && cause.cause instanceof Error ? cause.cause : cause;
  if (inner instanceof Error) return (inner as NodeJS.ErrnoException).code ?? inner.message;
  return '';
}
