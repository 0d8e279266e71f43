/** Files `spindle new` writes. */

/** A working JSON control function: input and output JSON Schemas, and a handler that greets. */
export function controlHandler(name: string): string {
  return `/** ${name}: replies with a greeting. Try it: echo '{"name":"Ada"}' | spindle invoke ${name} */
import { defineFunction } from '@spindle/runtime';

export default defineFunction({
  // The runtime parses the body as JSON and answers 400 naming the field when it breaks this schema.
  input: {
    type: 'object',
    properties: {
      name: { type: 'string', minLength: 1, maxLength: 100 },
    },
    additionalProperties: false,
  },
  output: {
    type: 'object',
    required: ['message'],
    properties: {
      message: { type: 'string' },
    },
    additionalProperties: false,
  },
  handle: ({ name }, ctx) => {
    ctx.logger.info({ name }, 'greeting');
    return { message: \`Hello, \${name ?? 'world'}!\` };
  },
});
`;
}

/** A working batched GPU function around a generated model (replace the recipe with your own .onnx file). */
export function gpuHandler(name: string): string {
  return `/** ${name}: a GPU function. Try it: echo '{"x":[1,2,3,4,5,6,7,8]}' | spindle invoke ${name} */
import ort from 'onnxruntime-node';
import { defineGpuFunction } from '@spindle/runtime';
// An .onnx import becomes the model's digest; the CLI uploads the file with the bundle. model.onnx is
// made at build time by its recipe model.onnx.ts: replace both with your own model file.
import model from './model.onnx';

export default defineGpuFunction({
  input: {
    type: 'object',
    required: ['x'],
    properties: { x: { type: 'array', items: { type: 'number' }, minItems: 8, maxItems: 8 } },
    additionalProperties: false,
  },
  output: { type: 'object', required: ['y'], properties: { y: { type: 'array', items: { type: 'number' } } } },
  models: { mlp: model },
  // Calls arriving within 2 ms are run together, up to 32 per session.run.
  batch: { maxSize: 32, maxDelayMs: 2 },
  handle: async (inputs, ctx) => {
    const data = Float32Array.from(inputs.flatMap((i) => i.x));
    const { y } = await ctx.session('mlp').run({ x: new ort.Tensor('float32', data, [inputs.length, 8]) });
    const out = y.data as Float32Array;
    return inputs.map((_, i) => ({ y: Array.from(out.subarray(i * 8, (i + 1) * 8)) }));
  },
});
`;
}

/** The recipe that makes the scaffold's model.onnx at build time (a small generated MLP). */
export function gpuModelRecipe(): string {
  return `/** Recipe: \`spindle build\` runs this to make model.onnx. Delete it once you ship a real model.onnx. */
import { mlpModel } from '@spindle/gpu-runner';

export default () => mlpModel({ dim: 8, hidden: 32 });
`;
}
