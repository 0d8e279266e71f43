/** Paths a stack file names (handlers, environment files, graph files) stay inside the project folder. */
import { existsSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import path from 'node:path';

const inside = (dir: string, target: string) => {
  const rel = path.relative(dir, target);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
};

/**
 * Resolves `rel` against the project folder `dir` (the one holding stack.yml). Returns the absolute path,
 * or, when it leads outside the folder (by `..`, an absolute path, or a symlink on the way), a sentence
 * saying so, so a stack file from elsewhere cannot make the CLI read and upload files it should not.
 */
export async function projectPath(dir: string, rel: string): Promise<{ path: string } | { outside: string }> {
  const abs = path.resolve(dir, rel);
  if (!inside(dir, abs)) return { outside: `leads outside the project folder ${dir}` };
  // A path that does not exist yet is judged by the deepest folder on it that does.
  let existing = abs;
  while (!existsSync(existing) && existing !== dir) existing = path.dirname(existing);
  const [realDir, real] = await Promise.all([realpath(dir), realpath(existing)]);
  if (!inside(realDir, real)) return { outside: `resolves through a symlink to ${real}, outside the project folder ${dir}` };
  return { path: abs };
}
