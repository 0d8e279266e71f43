/**
 * Media types of artifacts, one table for the gateway (an upload's key extension, a download's
 * `Content-Type`) and the CLI (what it sends for `--file field=path`).
 */

/** Extension (without the dot) → media type, for the media a pipeline moves around. */
export const MEDIA_TYPES: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  avif: 'image/avif',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  mp4: 'video/mp4',
  webm: 'video/webm',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  bin: 'application/octet-stream',
};

/** The media type of a key or file name by its extension; `application/octet-stream` when unknown. */
export function mediaTypeOf(name: string): string {
  const m = /\.([A-Za-z0-9]{1,8})$/.exec(name);
  return (m && MEDIA_TYPES[m[1].toLowerCase()]) || 'application/octet-stream';
}

/** The extension for a `Content-Type` (parameters ignored, `audio/x-wav` and `audio/wave` as `wav`); `bin` when unknown. */
export function extensionOf(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0].trim().toLowerCase();
  const alias: Record<string, string> = { 'audio/x-wav': 'wav', 'audio/wave': 'wav', 'audio/vnd.wave': 'wav', 'image/jpg': 'jpg' };
  if (alias[type]) return alias[type];
  for (const [ext, t] of Object.entries(MEDIA_TYPES)) if (t.split(';')[0] === type) return ext;
  return 'bin';
}
