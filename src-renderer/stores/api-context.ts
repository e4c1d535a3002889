// The WorkbenchApi the stores talk through. main.ts sets it once at start-up (from the bridge
// chooser); tests set one over a fake bridge. Kept out of Pinia state because it is a service,
// not data: it must never be serialised, made reactive or shown in devtools.

import { type WorkbenchApi } from '../../shared/api';

let current: WorkbenchApi | null = null;

export function setWorkbenchApi(api: WorkbenchApi | null): void {
  current = api;
}

export function workbenchApi(): WorkbenchApi {
  if (!current) throw new Error('the workbench API is not set up (setWorkbenchApi was not called)');
  return current;
}

/** An error as the one sentence the views show. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
