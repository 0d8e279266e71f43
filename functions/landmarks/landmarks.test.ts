/** face-api on the real test portrait (tests/faces.ts): the face, its mouth and eyes where they are; no face in a photo of a cup. */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { FACE_PHOTO, NO_FACE_PHOTO, needPhotos } from '../../tests/faces.ts';
import { decodeImage } from '../media/image.ts';
import { detectFace, type FaceLandmarks } from './face.ts';

let face: FaceLandmarks;

beforeAll(async () => {
  needPhotos();
  const found = await detectFace(await decodeImage(await readFile(FACE_PHOTO), 'image'));
  if (!found) throw new Error('no face found in the test portrait');
  face = found;
}, 60_000);

describe('landmarks', () => {
  it('finds the astronaut\'s face with 68 points in a plausible layout', () => {
    expect(face).toMatchObject({ width: 512, height: 512, points: expect.any(Array), jaw: expect.any(Array) });
    expect(face.score).toBeGreaterThan(0.9);
    expect(face.points).toHaveLength(68);
    // The face is in the upper middle of the picture (checked by eye: about x 160-290, y 60-200).
    expect(face.box.x).toBeGreaterThan(140);
    expect(face.box.x + face.box.width).toBeLessThan(310);
    expect(face.box.y).toBeGreaterThan(40);
    expect(face.box.y + face.box.height).toBeLessThan(220);
    const { box, mouth, eyes, jaw } = face;
    const inBox = ([x, y]: number[]) => x >= box.x - 10 && x <= box.x + box.width + 10 && y >= box.y - 10 && y <= box.y + box.height + 20;
    expect(face.points.every(inBox)).toBe(true);
    const meanY = (ps: number[][]) => ps.reduce((a, p) => a + p[1], 0) / ps.length;
    const meanX = (ps: number[][]) => ps.reduce((a, p) => a + p[0], 0) / ps.length;
    // Eyes above the mouth, the chin (jaw point 8) below it; the image-left eye left of the other.
    expect(meanY(eyes.left)).toBeLessThan(mouth.center[1] - 20);
    expect(meanY(eyes.right)).toBeLessThan(mouth.center[1] - 20);
    expect(jaw[8][1]).toBeGreaterThan(mouth.center[1] + 10);
    expect(meanX(eyes.left)).toBeLessThan(meanX(eyes.right));
    // The mouth sits in the lower half of the box, between the eyes horizontally, and is a third of the face wide or so.
    expect(mouth.center[1]).toBeGreaterThan(box.y + box.height / 2);
    expect(mouth.center[0]).toBeGreaterThan(meanX(eyes.left));
    expect(mouth.center[0]).toBeLessThan(meanX(eyes.right));
    expect(mouth.width / box.width).toBeGreaterThan(0.25);
    expect(mouth.width / box.width).toBeLessThan(0.6);
    expect(mouth.outer).toHaveLength(12);
    expect(mouth.inner).toHaveLength(8);
  });

  it('maps points found on a shrunk copy back to the source pixels', async () => {
    const small = await decodeImage(await readFile(FACE_PHOTO), 'image', { maxSide: 256 });
    expect(small).toMatchObject({ width: 256, height: 256, scale: 0.5 });
    const again = await detectFace(small);
    expect(again).toMatchObject({ width: 512, height: 512 });
    const off = again!.points.map(([x, y], i) => Math.hypot(x - face.points[i][0], y - face.points[i][1]));
    expect(off.reduce((a, b) => a + b, 0) / off.length).toBeLessThan(4);
  });

  it('finds no face in a photo of a coffee cup', async () => {
    expect(await detectFace(await decodeImage(await readFile(NO_FACE_PHOTO), 'image'))).toBeNull();
  });

  it('answers bytes that are not an image with a 400 naming the field', async () => {
    const err = await decodeImage(Buffer.from('not an image at all'), 'image').catch((e: unknown) => e);
    expect(err).toMatchObject({ statusCode: 400, field: 'image', code: 'SPINDLE_INVALID_IMAGE' });
  });
});
