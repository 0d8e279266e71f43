/**
 * Execution provider choice. onnxruntime-node does not fall back by itself: asking for
 * ['cuda', 'cpu'] without the CUDA provider libraries throws, so we probe once and remember.
 */
import { cpus } from 'node:os';
import ort from 'onnxruntime-node';
import { mlpModel } from './onnx-writer.ts';

/** What SPINDLE_GPU_EP may ask for. */
export type EpRequest = 'auto' | 'cuda' | 'cpu';

/** The provider in use, the device, and why it was chosen. */
export interface EpChoice {
  ep: 'cuda' | 'cpu';
  device: string;
  reason: string;
}

function firstLine(err: unknown): string {
  // onnxruntime's messages carry ANSI colours and a C++ trace: keep the first useful line.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: ESC starts the ANSI colour codes this strips
  const text = String((err as Error)?.message ?? err).replace(/\x1b\[[0-9;]*m/g, '');
  const lib = /Failed to load library (\S+)/.exec(text);
  return lib ? `cannot load ${lib[1]}` : text.split('\n')[0].slice(0, 300);
}

/** Probes CUDA with a tiny generated model; falls back to CPU with a message saying why. */
export async function chooseEp(request: EpRequest, deviceId = 0): Promise<EpChoice> {
  const cpu = `cpu (${cpus()[0]?.model.trim() ?? 'unknown'}, ${cpus().length} cores)`;
  if (request === 'cpu') return { ep: 'cpu', device: cpu, reason: 'SPINDLE_GPU_EP=cpu' };
  // onnxruntime prints its own coloured C++ error when CUDA is missing: we report the reason ourselves.
  const level = ort.env.logLevel;
  ort.env.logLevel = 'fatal';
  try {
    const session = await ort.InferenceSession.create(mlpModel({ dim: 4, hidden: 4 }), { executionProviders: [{ name: 'cuda', deviceId }], logSeverityLevel: 4 });
    await session.release();
    return { ep: 'cuda', device: `cuda:${deviceId}`, reason: request === 'cuda' ? 'SPINDLE_GPU_EP=cuda' : 'auto: the CUDA provider loaded' };
  } catch (err) {
    const why = firstLine(err);
    const reason =
      request === 'cuda'
        ? `SPINDLE_GPU_EP=cuda but the CUDA provider failed (${why}); falling back to CPU`
        : `auto: CUDA unavailable (${why}); using CPU`;
    return { ep: 'cpu', device: cpu, reason };
  } finally {
    ort.env.logLevel = level;
  }
}

/**
 * Session options for the chosen provider. On the CPU, activations live in onnxruntime's CPU arena, which
 * keeps what it grew to for the life of the session: with the memory pattern on, each run asks it for one
 * block sized for the whole plan, and the second run of a large model (ISNet at 1024², ~850 MB of
 * activations) grows it again instead of reusing the first (1.9 GB held). Without the pattern the arena
 * reuses its chunks and stays at one run's peak, at the same speed. The arena itself stays: without it
 * every run maps and faults its activations afresh (about 3x the CPU time on ISNet).
 */
export function sessionOptions(ep: 'cuda' | 'cpu', threads: number): ort.InferenceSession.SessionOptions {
  const base: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1 };
  return ep === 'cuda' ? { ...base, executionProviders: ['cuda', 'cpu'] } : { ...base, executionProviders: ['cpu'], enableMemPattern: false };
}
