/** How numbers, times, durations and sizes are written across the app. */

/** `12 ms`, `1.24 s`, `3 min 5 s`; `–` for nothing. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '–';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(2)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** A moment as local date and time; `–` for nothing. */
export function when(t: string | number | Date | null | undefined): string {
  if (t === null || t === undefined || t === '') return '–';
  const d = new Date(t);
  return Number.isNaN(d.getTime()) ? String(t) : d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** How long ago, roughly (`5 s ago`, `3 min ago`). */
export function ago(t: string | null | undefined, now = Date.now()): string {
  if (!t) return '–';
  const s = Math.max(0, Math.round((now - new Date(t).getTime()) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86_400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} d ago`;
}

/** Bytes as `512 B`, `1.5 MB`. */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

/** A rate or ratio with sensible precision. */
export function num(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–';
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** A share as a percentage. */
export function percent(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '–' : `${(n * 100).toFixed(1)}%`;
}

/** `bundle://sha256:abcdef…` → `sha256:abcdef123456`. */
export function digest(image: string | undefined): string {
  if (!image) return '–';
  const m = /sha256:([0-9a-f]{12})/.exec(image);
  return m ? `sha256:${m[1]}` : image;
}

/** Pretty JSON for display (bounded, so a huge output cannot freeze the page). */
export function pretty(value: unknown, max = 200_000): string {
  const s = value === undefined ? '' : JSON.stringify(value, null, 2);
  return s.length > max ? `${s.slice(0, max)}\n… (${s.length - max} more characters)` : s;
}
