/**
 * The test photos, from Debian's python3-skimage (scikit-image's sample data; .ci/run installs the package when
 * they are missing, nothing is downloaded by the tests or committed):
 * - astronaut.png: Eileen Collins, NASA portrait, 512×512 RGB; "no known copyright restrictions, released into
 *   the public domain" (skimage.data.astronaut).
 * - coffee.png: a coffee cup, 600×400 RGB, no face; CC0 by the photographer, Rachel Michetti (skimage.data.coffee).
 */
import { existsSync } from 'node:fs';

const DATA = '/usr/lib/python3/dist-packages/skimage/data';
export const FACE_PHOTO = `${DATA}/astronaut.png`;
export const NO_FACE_PHOTO = `${DATA}/coffee.png`;

/** Throws with the install command when the photos are not there. */
export function needPhotos(): void {
  for (const f of [FACE_PHOTO, NO_FACE_PHOTO]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: apt-get install --no-install-recommends python3-skimage (tests/faces.ts)`);
  }
}
