/**
 * pino and Ajv, loaded on first use. Evaluating them is most of a small bundle's start-up (a profile of the
 * hello bundle: pino about half of the bundle's own time, Ajv a quarter), and a replica that never logs
 * and has no schema needs neither: scale from zero is quicker without them.
 *
 * The literal `require('pino')` matters: esbuild bundles a literal require into a lazily evaluated copy,
 * so the bundle stays self-contained; unbundled (tsx, vitest) there is no `require` in ESM and
 * `createRequire` finds the package in node_modules.
 */
import { createRequire } from 'node:module';
import type { Ajv as AjvClass } from 'ajv';
import type { Logger, pino as pinoFn } from 'pino';

const loaded: { pino?: typeof pinoFn; Ajv?: typeof AjvClass } = {};

function load<T>(fromBundle: () => T, name: string): T {
  return typeof require === 'function' ? fromBundle() : (createRequire(import.meta.url)(name) as T);
}

/** The pino factory, evaluated on first call. */
export function pino(): typeof pinoFn {
  loaded.pino ??= load(() => require('pino') as { pino: typeof pinoFn }, 'pino').pino;
  return loaded.pino;
}

/** The Ajv class, evaluated on first call. */
export function ajv(): typeof AjvClass {
  loaded.Ajv ??= load(() => require('ajv') as { Ajv: typeof AjvClass }, 'ajv').Ajv;
  return loaded.Ajv;
}

/** A logger made on first use (`get()`), so nothing loads pino until a line is written. */
export class LazyLogger {
  private logger: Logger | null = null;
  constructor(private readonly base: Record<string, unknown>) {}
  get(): Logger {
    this.logger ??= pino()({ base: this.base });
    return this.logger;
  }
}

/**
 * Writes one line in pino's JSON shape without loading pino (the replica's `listening` line, written on
 * every start). Same fields as the replica's pino lines: level, time, the base bindings, then the object and msg.
 */
export function quickInfo(base: Record<string, unknown>, obj: Record<string, unknown>, msg: string): void {
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), ...base, ...obj, msg })}\n`);
}
