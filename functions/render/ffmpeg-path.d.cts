/** Absolute path of the ffmpeg binary `@ffmpeg-installer/linux-x64` ships (libx264 and aac inside). */
declare const path: string;
export = path;
