/**
 * What faas-cli does to stack.yml before it parses it: `--envsubst`, on by default, runs the whole text
 * (comments and Spindle's `graphs:` included) through github.com/drone/envsubst. That replaces each
 * `${NAME}` (and `${NAME:-default}`, `${#NAME}`, ...) with an environment variable, turns `$$` into `$`,
 * `\\` into `\` and `\/` into `/`, and refuses the file when a `${` does not parse. This is a port of that
 * parser (drone/envsubst v1.0.3, as vendored by faas-cli 0.16.37: parse/scan.go and parse/parse.go),
 * state machine and quirks included, so Spindle can refuse what faas-cli would refuse.
 */

const EOF = '';

enum Token {
  Illegal,
  Eof,
  Ident,
  Lbrack,
  Rbrack,
}

enum Mode {
  Ident = 1,
  Lbrack = 2,
  Rbrack = 4,
  Escape = 8,
}

type Accept = (r: string, i: number) => boolean;

const acceptRune: Accept = () => true;
const acceptIdent: Accept = (r) => /^[\p{L}\p{Nd}_]$/u.test(r);
const acceptColon: Accept = (r) => r === ':';
const acceptOneHash: Accept = (r, i) => r === '#' && i === 1;
const acceptNotClosing: Accept = (r) => r !== '}';
const acceptHashFunc: Accept = (r, i) => r === '#' && i < 3;
const acceptPercentFunc: Accept = (r, i) => r === '%' && i < 3;
const acceptDefaultFunc: Accept = (r, i) => (i === 1 && r === ':') || (i === 2 && '=-?+'.includes(r));
const acceptReplaceFunc: Accept = (r, i) => (i === 1 && r === '/') || (i === 2 && '/#%'.includes(r));
const acceptOneEqual: Accept = (r, i) => i === 1 && r === '=';
const acceptOneColon: Accept = (r, i) => i === 1 && r === ':';
const rejectColonClose: Accept = (r) => r !== ':' && r !== '}';
const acceptSlash: Accept = (r) => r === '/';
const acceptNotSlash: Accept = (r) => r !== '/';
const acceptCasingFunc: Accept = (r, i) => (r === ',' || r === '^') && i < 3;

/** How deeply `${A:-${B:-...}}` may nest here (faas-cli has no limit; a deeper one would overflow our stack). */
export const MAX_SUBSTITUTION_DEPTH = 64;

class EnvsubstError extends Error {
  /** Where the `${` that failed starts. */
  offset?: number;
}

/**
 * drone/envsubst's scanner over code points. Go's `skip()` cuts the escape character out of its buffer;
 * here it is marked deleted instead, so positions stay those of the original text.
 */
class Scanner {
  readonly chars: string[];
  /** UTF-16 offset of each code point in the text, and the text's length at the end. */
  readonly offsets: number[];
  readonly deleted: Uint8Array;
  pos = 0;
  start = 0;
  width = 0;
  /** Characters `skip()` removed since `start`: Go counts positions in the shortened buffer. */
  skipped = 0;
  mode = 0;
  accept: Accept = acceptRune;

  constructor(text: string) {
    this.chars = [];
    this.offsets = [];
    let offset = 0;
    for (const c of text) {
      this.chars.push(c);
      this.offsets.push(offset);
      offset += c.length;
    }
    this.offsets.push(offset);
    this.deleted = new Uint8Array(this.chars.length);
  }

  read(): string {
    if (this.pos >= this.chars.length) {
      this.width = 0;
      return EOF;
    }
    this.width = 1;
    return this.chars[this.pos++]!;
  }

  unread(): void {
    this.pos -= this.width;
  }

  /** Go removes the character before `pos` and keeps `pos`: the one after it is consumed as it stands. */
  skip(): void {
    this.deleted[this.pos - 1] = 1;
    this.skipped++;
    this.pos++;
  }

  peek(): string {
    const r = this.read();
    this.unread();
    return r;
  }

  /** The most recently scanned token, without the escape characters `skip()` removed. */
  string(): string {
    return this.span(this.start, this.pos).text;
  }

  /** Text in [from, to) without skipped characters, with the offset of each UTF-16 unit kept. */
  span(from: number, to: number): { text: string; origin: number[] } {
    let text = '';
    const origin: number[] = [];
    for (let i = from; i < to; i++) {
      if (this.deleted[i]) continue;
      const c = this.chars[i]!;
      text += c;
      for (let u = 0; u < c.length; u++) origin.push(this.offsets[i]! + u);
    }
    return { text, origin };
  }

  private index(): number {
    return this.pos - this.start - this.skipped;
  }

  scan(): Token {
    this.start = this.pos;
    this.skipped = 0;
    const r = this.read();
    if (r === EOF) return Token.Eof;
    if (this.scanLbrack(r)) return Token.Lbrack;
    if (this.scanRbrack(r)) return Token.Rbrack;
    if (this.scanIdent(r)) return Token.Ident;
    return Token.Illegal;
  }

  private scanIdent(first: string): boolean {
    if (!(this.mode & Mode.Ident)) return false;
    if (this.scanEscaped(first)) this.skip();
    else if (!this.accept(first, this.index())) return false;
    for (;;) {
      const r = this.read();
      if (r === EOF) {
        this.unread();
        break;
      }
      if (this.scanLbrack(r)) {
        this.unread();
        this.unread();
        break;
      }
      if (this.scanEscaped(r)) {
        this.skip();
        continue;
      }
      if (!this.accept(r, this.index())) {
        this.unread();
        break;
      }
    }
    return true;
  }

  private scanLbrack(r: string): boolean {
    if (!(this.mode & Mode.Lbrack)) return false;
    if (r === '$') {
      if (this.read() === '{') return true;
      this.unread();
    }
    return false;
  }

  private scanRbrack(r: string): boolean {
    return (this.mode & Mode.Rbrack) !== 0 && r === '}';
  }

  private scanEscaped(r: string): boolean {
    if (!(this.mode & Mode.Escape)) return false;
    if (r === '$' && this.peek() === '$') return true;
    if (r !== '\\') return false;
    const next = this.peek();
    return next === '/' || next === '\\';
  }
}

/** One piece of the text as faas-cli sees it: literal text, or a `${...}` that becomes a variable's value. */
export type EnvsubstPart = { text: string; origin: number[] } | { substitution: string; offset: number };

/** The outcome of running stack.yml through faas-cli's substitution parser. */
export type EnvsubstResult = { parts: EnvsubstPart[] } | { error: string; offset: number };

/** drone/envsubst's recursive descent parser; it only records where substitutions are. */
class Parser {
  constructor(private readonly s: Scanner) {}

  parseAny(): EnvsubstPart[] {
    const parts: EnvsubstPart[] = [];
    for (;;) {
      this.s.accept = acceptRune;
      this.s.mode = Mode.Ident | Mode.Lbrack | Mode.Escape;
      switch (this.s.scan()) {
        case Token.Ident:
          parts.push(this.s.span(this.s.start, this.s.pos));
          break;
        case Token.Eof:
          return parts;
        case Token.Lbrack: {
          const from = this.s.start;
          try {
            this.parseFunc(1);
          } catch (err) {
            if (err instanceof EnvsubstError) err.offset = this.s.offsets[from];
            throw err;
          }
          parts.push({ substitution: this.s.chars.slice(from, this.s.pos).join(''), offset: this.s.offsets[from]! });
          break;
        }
        default:
          throw new EnvsubstError('bad substitution');
      }
    }
  }

  private parseFunc(depth: number): void {
    if (depth > MAX_SUBSTITUTION_DEPTH) throw new EnvsubstError(`substitutions nested deeper than ${MAX_SUBSTITUTION_DEPTH} levels`);
    if (this.s.peek() === '#') {
      this.parseLenFunc();
      return;
    }
    this.s.accept = acceptIdent;
    this.s.mode = Mode.Ident;
    if (this.s.scan() !== Token.Ident) throw new EnvsubstError('unable to parse variable name');
    switch (this.s.peek()) {
      case ':':
        this.parseDefaultOrSubstr(depth);
        return;
      case '=':
        this.parseDefaultFunc(depth);
        return;
      case ',':
      case '^':
        this.parseCasingFunc();
        return;
      case '/':
        this.parseReplaceFunc(depth);
        return;
      case '#':
        this.parseRemoveFunc(acceptHashFunc, depth);
        return;
      case '%':
        this.parseRemoveFunc(acceptPercentFunc, depth);
        return;
    }
    this.s.accept = acceptIdent;
    this.s.mode = Mode.Rbrack;
    if (this.s.scan() !== Token.Rbrack) throw new EnvsubstError('missing closing brace');
  }

  private parseParam(accept: Accept, mode: number, depth: number): void {
    this.s.accept = accept;
    this.s.mode = mode | Mode.Lbrack;
    switch (this.s.scan()) {
      case Token.Lbrack:
        this.parseFunc(depth + 1);
        return;
      case Token.Ident:
      case Token.Rbrack:
        return;
      default:
        throw new EnvsubstError('unable to parse substitution within function');
    }
  }

  private parseDefaultOrSubstr(depth: number): void {
    this.s.read();
    const r = this.s.peek();
    this.s.unread();
    if ('=-?+'.includes(r) && r !== EOF) this.parseDefaultFunc(depth);
    else this.parseSubstrFunc(depth);
  }

  private expect(accept: Accept, mode: number, error = 'bad substitution'): Token {
    this.s.accept = accept;
    this.s.mode = mode;
    const token = this.s.scan();
    if (token !== Token.Ident) throw new EnvsubstError(error);
    return token;
  }

  private parseSubstrFunc(depth: number): void {
    this.expect(acceptOneColon, Mode.Ident);
    this.parseParam(rejectColonClose, Mode.Ident, depth);
    this.s.accept = acceptColon;
    this.s.mode = Mode.Ident | Mode.Rbrack;
    const token = this.s.scan();
    if (token === Token.Rbrack) return;
    if (token !== Token.Ident) throw new EnvsubstError('bad substitution');
    this.parseParam(acceptNotClosing, Mode.Ident, depth);
    this.consumeRbrack();
  }

  private parseRemoveFunc(accept: Accept, depth: number): void {
    this.expect(accept, Mode.Ident);
    this.parseParam(acceptNotClosing, Mode.Ident, depth);
    this.consumeRbrack();
  }

  private parseReplaceFunc(depth: number): void {
    this.expect(acceptReplaceFunc, Mode.Ident);
    this.parseParam(acceptNotSlash, Mode.Ident | Mode.Escape, depth);
    this.expect(acceptSlash, Mode.Ident);
    if (this.s.peek() === '}') {
      this.consumeRbrack();
      return;
    }
    this.parseParam(acceptNotClosing, Mode.Ident | Mode.Escape, depth);
    this.consumeRbrack();
  }

  private parseDefaultFunc(depth: number): void {
    this.expect(this.s.peek() === '=' ? acceptOneEqual : acceptDefaultFunc, Mode.Ident, 'unable to parse default function');
    while (this.s.peek() !== '}') this.parseParam(acceptNotClosing, Mode.Ident, depth);
    this.consumeRbrack();
  }

  private parseCasingFunc(): void {
    this.expect(acceptCasingFunc, Mode.Ident);
    this.consumeRbrack();
  }

  private parseLenFunc(): void {
    this.expect(acceptOneHash, Mode.Ident);
    this.expect(acceptIdent, Mode.Ident);
    this.consumeRbrack();
  }

  private consumeRbrack(): void {
    this.s.mode = Mode.Rbrack;
    if (this.s.scan() !== Token.Rbrack) throw new EnvsubstError('bad substitution');
  }
}

/**
 * Splits `text` the way faas-cli's `--envsubst` reads it: literal text (escapes applied) and substitutions;
 * or the error that makes faas-cli refuse the file, at the offset of the `${` it could not parse.
 * @example parseEnvsubst('a: "${A"') // { error: 'missing closing brace', offset: 4 }
 */
export function parseEnvsubst(text: string): EnvsubstResult {
  const scanner = new Scanner(text);
  try {
    return { parts: new Parser(scanner).parseAny() };
  } catch (err) {
    if (!(err instanceof EnvsubstError)) throw err;
    return { error: err.message, offset: err.offset ?? scanner.offsets[Math.min(scanner.pos, scanner.chars.length)]! };
  }
}
