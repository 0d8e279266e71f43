/** landmarks: a portrait's face box and 68 landmarks (mouth, jaw, eyes) for `animate`; no face is a 422 naming `image`. */
import { HttpError, defineFunction } from '@spindle/runtime';
import { readArtifact } from '../media/artifact.ts';
import { decodeImage } from '../media/image.ts';
import { detectFace } from './face.ts';

/** Detection runs on the image shrunk to this side at most (SSD sees 512×512 anyway); points are mapped back. */
const DETECT_SIDE = 1024;
const point = { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 } as const;
const points = (n: number) => ({ type: 'array', items: point, minItems: n, maxItems: n }) as const;
const box = {
  type: 'object',
  required: ['x', 'y', 'width', 'height'],
  properties: { x: { type: 'number' }, y: { type: 'number' }, width: { type: 'number' }, height: { type: 'number' } },
} as const;

export default defineFunction({
  input: {
    type: 'object',
    required: ['image'],
    properties: { image: { type: 'string', minLength: 1, maxLength: 512, description: 'artifact key of a PNG/JPEG/WebP portrait' } },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['width', 'height', 'score', 'box', 'points', 'jaw', 'mouth', 'eyes'],
    properties: {
      width: { type: 'integer' },
      height: { type: 'integer' },
      score: { type: 'number' },
      box,
      points: points(68),
      jaw: points(17),
      mouth: {
        type: 'object',
        required: ['outer', 'inner', 'center', 'width'],
        properties: { outer: points(12), inner: points(8), center: point, width: { type: 'number' } },
      },
      eyes: { type: 'object', required: ['left', 'right'], properties: { left: points(6), right: points(6) } },
    },
  },
  handle: async ({ image }, ctx) => {
    const bytes = await readArtifact(ctx, image, 'image');
    const decoded = await decodeImage(bytes, 'image', { maxSide: DETECT_SIDE });
    ctx.progress(0.2, 'decoded');
    const face = await detectFace(decoded);
    if (!face) throw new HttpError(422, 'no face found in the image', { code: 'SPINDLE_NO_FACE', field: 'image' });
    ctx.progress(1, `face found (score ${face.score})`);
    return face;
  },
});
