/**
 * Frames into ffmpeg as they are made: raw RGB on stdin, H.264 (yuv420p, CRF 16) in an MP4 on disk. The pipe's
 * back-pressure bounds memory: a write that fills it waits for ffmpeg to drain it, so at most a frame or two
 * are ever held, whatever the video's length. The binary is the one @ffmpeg-installer/linux-x64 ships.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';

/** The ffmpeg executable inside @ffmpeg-installer/linux-x64 (static, libx264 and AAC built in). */
export const FFMPEG = path.join(path.dirname(createRequire(import.meta.url).resolve('@ffmpeg-installer/linux-x64/package.json')), 'ffmpeg');

/** Keeps the end of ffmpeg's stderr for error messages. */
const TAIL = 4000;

/** One video being encoded: `write` each frame, then `finish`. */
export class VideoEncoder {
  private readonly proc: ChildProcessByStdio<Writable, null, Readable>;
  private stderr = '';
  private readonly exited: Promise<[number | null, NodeJS.Signals | null]>;

  /** Starts ffmpeg writing `out` (an .mp4 path) from width × height RGB frames at `fps`. */
  constructor(
    readonly out: string,
    readonly width: number,
    readonly height: number,
    readonly fps: number,
    signal?: AbortSignal,
  ) {
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0'];
    args.push('-c:v', 'libx264', '-preset', 'veryfast', '-crf', '16', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-an', '-y', out);
    this.proc = spawn(FFMPEG, args, { stdio: ['pipe', 'ignore', 'pipe'], signal });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-TAIL);
    });
    this.exited = once(this.proc, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
    // A write after ffmpeg died surfaces in finish() with ffmpeg's own message; EPIPE here would be noise.
    this.proc.stdin.on('error', () => {});
    this.proc.on('error', () => {});
  }

  /** Queues one frame (copied, so the caller may reuse its buffer); waits while the pipe is full. */
  async write(frame: Uint8Array): Promise<void> {
    if (this.proc.exitCode !== null) await this.finish();
    if (!this.proc.stdin.write(Buffer.from(frame))) {
      await Promise.race([once(this.proc.stdin, 'drain'), this.exited]);
    }
  }

  /** Closes the input and waits for ffmpeg; throws with its message when it failed. */
  async finish(): Promise<void> {
    this.proc.stdin.end();
    const [code, signal] = await this.exited;
    if (code !== 0) throw new Error(`ffmpeg failed (${signal ?? `exit ${code}`}): ${this.stderr.trim() || 'no message'}`);
  }

  /** Stops ffmpeg without waiting for a file. */
  kill(): void {
    this.proc.kill('SIGKILL');
  }
}
