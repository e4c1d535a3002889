// Where the workbench keeps its data (the experiment history): one folder shared by the CLI,
// the desktop app and the web preview, so an experiment run in one shows up in the others.
// $VMM_WORKBENCH_DATA, else $XDG_DATA_HOME/vmm-workbench, else ~/.local/share/vmm-workbench.

import { homedir } from 'node:os';
import path from 'node:path';

export function defaultDataDir(): string {
  if (process.env.VMM_WORKBENCH_DATA) return process.env.VMM_WORKBENCH_DATA;
  const base = process.env.XDG_DATA_HOME || path.join(homedir(), '.local', 'share');
  return path.join(base, 'vmm-workbench');
}
