#!/usr/bin/env node
// The `vmm-workbench` command: runs the TypeScript CLI through tsx, so it works right after
// `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src-main/cli.ts');
process.exitCode = await main(process.argv.slice(2));
