/**
 * Flite (CMU's small speech synthesiser) compiled to WASI, run on Node's built-in `node:wasi`: text in, a
 * WAV file and the end time of every phone (`-psdur`) out. The module is compiled once per replica; each
 * call gets a fresh instance in a private temporary folder (WASI sees only that folder).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WASI } from 'node:wasi';

/** Flite's built-in voices (kal is 8 kHz, the others 16 kHz). */
export const VOICES = ['awb', 'rms', 'slt', 'kal'] as const;
export type Voice = (typeof VOICES)[number];

/** One phone and when it is spoken, in seconds. */
export type Phone = {
  phone: string;
  start: number;
  end: number;
};

let compiled: Promise<WebAssembly.Module> | null = null;

/** Compiles the WASI binary at `wasmPath` once (about 0.3 s); later calls reuse it. */
function flite(wasmPath: string): Promise<WebAssembly.Module> {
  compiled ??= readFile(wasmPath).then((bytes) => WebAssembly.compile(bytes));
  return compiled;
}

/**
 * Parses `-psdur` output (`pau:0.164 hh:0.255 …`, each phone with its end time) into phones with start and end.
 * Flite synthesises sentence by sentence and restarts its clock at each: a time that goes back starts a new
 * utterance, placed after the previous one (the WAV holds them back to back).
 * @example parsePhones('pau:0.1 hh:0.25 pau:0.2') // […, { phone: 'pau', start: 0.25, end: 0.45 }]
 */
export function parsePhones(text: string): Phone[] {
  const phones: Phone[] = [];
  let base = 0;
  let last = 0;
  for (const m of text.matchAll(/([a-z]+):(\d+(?:\.\d+)?)/g)) {
    const raw = Number(m[2]);
    if (raw < last) base += last;
    phones.push({ phone: m[1], start: round(base + (raw < last ? 0 : last)), end: round(base + raw) });
    last = raw;
  }
  return phones;
}

const round = (s: number) => Math.round(s * 1000) / 1000;

/** Synthesises `text` with `voice`; `stretch` > 1 speaks slower. Returns the WAV bytes Flite wrote and its phones. */
export async function synthesise(wasmPath: string, text: string, voice: Voice, stretch: number): Promise<{ wav: Buffer; phones: Phone[] }> {
  const module = await flite(wasmPath);
  const dir = await mkdtemp(join(tmpdir(), 'spindle-tts-'));
  try {
    // The text goes through a file: arguments would stop at a NUL and look like options when they start with "-".
    await writeFile(join(dir, 'in.txt'), text);
    const stdout = openSync(join(dir, 'phones.txt'), 'w');
    const stderr = openSync(join(dir, 'stderr.txt'), 'w');
    let code: number;
    try {
      const args = ['flite', '-voice', voice, '--setf', `duration_stretch=${stretch}`, '-psdur', '-f', '/work/in.txt', '-o', '/work/out.wav'];
      const wasi = new WASI({ version: 'preview1', args, env: {}, preopens: { '/work': dir }, stdout, stderr, returnOnExit: true });
      const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
      code = wasi.start(instance);
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
    if (code !== 0) throw new Error(`flite exited with code ${code}: ${(await readFile(join(dir, 'stderr.txt'), 'utf8')).slice(0, 500)}`);
    return { wav: await readFile(join(dir, 'out.wav')), phones: parsePhones(await readFile(join(dir, 'phones.txt'), 'utf8')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
