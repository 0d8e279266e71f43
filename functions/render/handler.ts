/**
 * render: a silent video and a WAV (artifact keys) to the final MP4 (an artifact key): H.264 yuv420p and
 * AAC, the index at the front (`+faststart`) so a browser plays while it downloads. ffmpeg is the binary
 * `@ffmpeg-installer/linux-x64` ships (libx264 and aac built in); nothing is downloaded.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineFunction, HttpError } from '@spindle/runtime';
import ffmpeg from '@spindle/fn-render/ffmpeg-path.cjs';
import { probe } from './probe.ts';

const KEY = { type: 'string', minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9._/-]+$' } as const;

/** Runs ffmpeg; rejects with the end of its log when it fails or `signal` aborts. Reports `out_time` as progress. */
function run(args: string[], total: number, signal: AbortSignal, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-progress', 'pipe:1', ...args], { signal, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (d: Buffer) => {
      log = (log + d.toString()).slice(-2000);
    });
    child.stdout.on('data', (d: Buffer) => {
      const m = /out_time_us=(\d+)/.exec(d.toString());
      if (m && total > 0) onProgress(Math.min(1, Number(m[1]) / 1e6 / total));
    });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`ffmpeg exited with ${code}: ${log.trim()}`))));
  });
}

export default defineFunction({
  input: {
    type: 'object',
    required: ['video', 'audio'],
    properties: { video: KEY, audio: KEY },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['video', 'duration', 'size', 'width', 'height'],
    properties: { video: { type: 'string' }, duration: { type: 'number' }, size: { type: 'integer' }, width: { type: 'integer' }, height: { type: 'integer' } },
  },
  handle: async ({ video, audio }, ctx) => {
    const [frames, speech] = await Promise.all([ctx.artifacts.get(video), ctx.artifacts.get(audio)]);
    if (!frames) throw new HttpError(404, `field "video": artifact "${video}" does not exist`);
    if (!speech) throw new HttpError(404, `field "audio": artifact "${audio}" does not exist`);
    const dir = await mkdtemp(join(tmpdir(), 'spindle-render-'));
    try {
      await Promise.all([writeFile(join(dir, 'video'), frames), writeFile(join(dir, 'audio'), speech)]);
      const [source, sound] = await Promise.all([probe(ffmpeg, join(dir, 'video')).catch(() => null), probe(ffmpeg, join(dir, 'audio')).catch(() => null)]);
      if (!source?.video) throw new HttpError(400, `field "video": artifact "${video}" is not a video ffmpeg can read`);
      if (!sound?.audio) throw new HttpError(400, `field "audio": artifact "${audio}" is not audio ffmpeg can read`);
      ctx.progress(0.05, 'encoding H.264 + AAC');
      const out = join(dir, 'final.mp4');
      const args = ['-i', join(dir, 'video'), '-i', join(dir, 'audio'), '-map', '0:v:0', '-map', '1:a:0'];
      args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-movflags', '+faststart', out);
      await run(args, Math.max(source.duration, sound.duration), ctx.signal, (f) => ctx.progress(0.05 + 0.85 * f, 'encoding'));
      const bytes = await readFile(out);
      const made = await probe(ffmpeg, out);
      const key = `videos/${createHash('sha256').update(bytes).digest('hex')}.mp4`;
      ctx.progress(0.95, 'storing the video');
      await ctx.artifacts.put(key, bytes, 'video/mp4');
      return { video: key, duration: made.duration, size: bytes.length, width: made.video?.width ?? 0, height: made.video?.height ?? 0 };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
});
