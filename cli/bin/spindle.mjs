#!/usr/bin/env node
// Runs the TypeScript sources directly: tsx compiles them on load, so there is no build step for the CLI.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../src/main.ts');
const code = await runCli(process.argv.slice(2));
if (code !== 0) process.exit(code);
