/**
 * Lints infra/*.Dockerfile without Docker (no hadolint in npm or Debian): dockerfile-utils' validator (the one the
 * VS Code Docker extension uses) must find nothing, and the rules below, each a hadolint rule's intent, must hold.
 * A deliberately bad Dockerfile breaks every rule, so each check is known to fail when it should.
 *
 * 1. pinned-base   every FROM names a tag (not `latest`) or a digest, or an earlier stage
 * 2. non-root      the final stage switches to a USER other than root/0
 * 3. healthcheck   the final stage has a HEALTHCHECK
 * 4. no-add        no ADD (COPY is explicit; ADD fetches URLs and unpacks archives)
 * 5. no-secrets    no ENV or ARG named like a credential (PASSWORD, SECRET, TOKEN, *_KEY)
 * 6. apt-hygiene   apt-get install uses --no-install-recommends and removes /var/lib/apt/lists in the same RUN
 * 7. copy-chown    a COPY --from into the final stage states its owner with --chown (root for binaries, the app user for app files)
 * 8. npm-scripts   npm ci / npm install run with --ignore-scripts (the project's .npmrc rule, explicit in images)
 * 9. multi-stage   build tools stay in a build stage: at least two FROMs
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { describe, expect, it } from 'vitest';
import { ROOT } from './harness.ts';

/** Every rule this file enforces, broken, with the rule's name and what it says. */
function lint(text: string): string[] {
  const problems: string[] = [];
  for (const d of validate(text)) problems.push(`syntax: line ${d.range.start.line + 1}: ${d.message}`);
  const doc = DockerfileParser.parse(text);
  const froms = doc.getFROMs();
  const stages = new Set<string>();
  for (const from of froms) {
    const image = from.getImage() ?? '';
    const ok = stages.has(image) || /@sha256:[0-9a-f]{64}$/.test(image) || (/:[\w.-]+$/.test(image.replace(/^[^/]+:\d+\//, '')) && !image.endsWith(':latest'));
    if (!ok) problems.push(`pinned-base: FROM ${image} has no pinned tag`);
    const alias = from.getBuildStage();
    if (alias) stages.add(alias);
  }
  if (froms.length < 2) problems.push('multi-stage: a single stage ships its build tools');
  const all = doc.getInstructions();
  const lastFrom = froms.at(-1);
  const final = lastFrom ? all.filter((i) => i.getRange().start.line > lastFrom.getRange().start.line) : all;
  const users = final.filter((i) => i.getKeyword() === 'USER').map((i) => i.getArgumentsContent()?.trim() ?? '');
  const user = users.at(-1);
  if (!user || /^(root|0)(:|$)/.test(user)) problems.push('non-root: the final stage runs as root');
  if (!final.some((i) => i.getKeyword() === 'HEALTHCHECK')) problems.push('healthcheck: the final stage has no HEALTHCHECK');
  for (const i of all) {
    const content = i.getArgumentsContent() ?? '';
    const kw = i.getKeyword();
    if (kw === 'ADD') problems.push(`no-add: line ${line(i)}: ADD ${content}`);
    if (kw === 'ENV' || kw === 'ARG') {
      for (const name of content.match(/\b[A-Za-z_][A-Za-z0-9_]*(?==)|^[A-Za-z_][A-Za-z0-9_]*$/g) ?? []) {
        if (/PASSWORD|SECRET|TOKEN|_KEY$|^KEY$/i.test(name)) problems.push(`no-secrets: line ${line(i)}: ${kw} ${name}`);
      }
    }
    if (kw === 'RUN') {
      if (/apt-get\s+(-\S+\s+)*install/.test(content)) {
        if (!content.includes('--no-install-recommends')) problems.push(`apt-hygiene: line ${line(i)}: apt-get install without --no-install-recommends`);
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(content)) problems.push(`apt-hygiene: line ${line(i)}: apt lists not removed in the same RUN`);
      }
      for (const m of content.matchAll(/npm (ci|install)\b[^&;|]*/g)) if (!m[0].includes('--ignore-scripts')) problems.push(`npm-scripts: line ${line(i)}: ${m[0].trim()}`);
    }
  }
  for (const i of final) {
    // Flags (--from, --chown) are not arguments: the instruction's whole text.
    const content = i.getTextContent();
    if (i.getKeyword() === 'COPY' && content.includes('--from=') && !content.includes('--chown=')) problems.push(`copy-chown: line ${line(i)}: COPY ${content}`);
  }
  return problems;
}

function line(i: Instruction): number {
  return i.getRange().start.line + 1;
}

const files = (await readdir(join(ROOT, 'infra'))).filter((f) => f.endsWith('.Dockerfile'));

describe('Dockerfiles in infra/', () => {
  it('ships the gateway, GPU runner and function runtime images', () => {
    expect(files.sort()).toEqual(['gateway.Dockerfile', 'gpu-runner.Dockerfile', 'runtime.Dockerfile']);
  });

  it.each(files)('%s passes the validator and every rule', async (file) => {
    expect(lint(await readFile(join(ROOT, 'infra', file), 'utf8'))).toEqual([]);
  });

  it('a bad Dockerfile breaks every rule (so the checks can fail)', () => {
    const bad = [
      'FROM node',
      'ENV ADMIN_PASSWORD=hunter2',
      'ARG NPM_TOKEN',
      'ADD https://example.com/tool.tgz /opt/',
      'RUN apt-get update && apt-get install -y curl',
      'RUN npm ci',
      'COPY --from=node:20 /usr/local/bin/node /usr/local/bin/node',
      'ENV',
      'CMD ["node"]',
    ].join('\n');
    const rules = new Set(lint(bad).map((p) => p.split(':')[0]));
    expect([...rules].sort()).toEqual(['apt-hygiene', 'copy-chown', 'healthcheck', 'multi-stage', 'no-add', 'no-secrets', 'non-root', 'npm-scripts', 'pinned-base', 'syntax']);
  });
});
