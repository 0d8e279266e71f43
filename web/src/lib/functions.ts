/** What the app derives from a function's status: its plane, and its input schema when the gateway knows it. */
import type { FunctionInfo, JsonSchema } from './types.ts';

/** `gpu` for functions in the GPU runner, else `control`. */
export function planeOf(f: FunctionInfo): 'control' | 'gpu' {
  return f.plane ?? (f.annotations?.['com.spindle.lang'] === 'gpu' ? 'gpu' : 'control');
}

/** Annotation carrying a function's input JSON Schema (set at deploy). */
export const INPUT_SCHEMA_ANNOTATION = 'com.spindle.input-schema';
/** Annotation naming the content type a raw-body function takes (`image/*`, `audio/wav`). */
export const INPUT_TYPE_ANNOTATION = 'com.spindle.input-type';

/** The function's input JSON Schema (from its status, else its annotation), or null when it takes a raw body. */
export function inputSchemaOf(f: FunctionInfo): JsonSchema | null {
  if (f.inputSchema && typeof f.inputSchema === 'object') return f.inputSchema;
  const raw = f.annotations?.[INPUT_SCHEMA_ANNOTATION];
  if (!raw) return null;
  try {
    const parsed = JSON.parse(raw) as unknown;
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as JsonSchema) : null;
  } catch {
    return null;
  }
}

/** The content type a raw-body function says it takes (`image/*`), or ''. */
export function inputTypeOf(f: FunctionInfo): string {
  return f.annotations?.[INPUT_TYPE_ANNOTATION] ?? '';
}
