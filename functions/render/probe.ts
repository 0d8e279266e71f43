/**
 * What a media file holds, read from `ffmpeg -i` (the package ships no ffprobe): duration, and each stream's
 * codec with its size and rate. Used by render to describe its output, and by the pipeline's tests.
 */
import { execFile } from 'node:child_process';

/** A media file as ffmpeg describes it. */
export interface Probe {
  /** Seconds, to ffmpeg's 10 ms. */
  duration: number;
  video: { codec: string; pixelFormat: string; width: number; height: number; fps: number } | null;
  audio: { codec: string; sampleRate: number; channels: string } | null;
  /** The container's major brand and format line, e.g. `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string;
}

/**
 * Parses the stderr of `ffmpeg -hide_banner -i FILE`.
 * @example parseProbe('Input #0, mov,mp4, from \'a.mp4\':\n  Duration: 00:00:04.12, …') // { duration: 4.12, … }
 */
export function parseProbe(text: string): Probe {
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(text);
  if (!d) throw new Error(`ffmpeg did not report a duration: ${text.slice(-300)}`);
  const v = /Stream #0:\d+(?:\[\w+\])?(?:\(\w+\))?: Video: (\w+)[^,]*, (\w+)(?:\([^)]*\))?, (\d+)x(\d+)[^\n]*?, ([\d.]+) fps/.exec(text);
  const a = /Stream #0:\d+(?:\[\w+\])?(?:\(\w+\))?: Audio: (\w+)[^,]*, (\d+) Hz, ([\w.]+)/.exec(text);
  return {
    duration: Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]),
    video: v ? { codec: v[1], pixelFormat: v[2], width: Number(v[3]), height: Number(v[4]), fps: Number(v[5]) } : null,
    audio: a ? { codec: a[1], sampleRate: Number(a[2]), channels: a[3] } : null,
    format: /Input #0, ([^ ]+), from/.exec(text)?.[1] ?? '',
  };
}

/** Probes `file` with the ffmpeg at `ffmpeg` (`ffmpeg -i` exits 1 without an output: its stderr is the answer). */
export function probe(ffmpeg: string, file: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    // A probe reads only the headers: 30 s is far past any real one, and a stuck ffmpeg is killed, not left behind.
    execFile(ffmpeg, ['-hide_banner', '-i', file], { maxBuffer: 1024 * 1024, timeout: 30_000, killSignal: 'SIGKILL' }, (_err, _stdout, stderr) => {
      try {
        resolve(parseProbe(stderr));
      } catch (e) {
        reject(e);
      }
    });
  });
}
