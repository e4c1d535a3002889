// Test helper: a fresh Pinia and the workbench API over a fake bridge, as main.ts sets them up.

import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { createApi } from '../../../src-renderer/api';
import { setWorkbenchApi } from '../../../src-renderer/stores/api-context';
import { FakeBridge, type Handlers } from './fake-bridge';

export function setupRenderer(handlers: Handlers = {}): { pinia: Pinia; bridge: FakeBridge } {
  const bridge = new FakeBridge(handlers);
  setWorkbenchApi(createApi(bridge));
  const pinia = createPinia();
  setActivePinia(pinia);
  return { pinia, bridge };
}

/** Let pending promises (API answers) and Vue's DOM updates settle. */
export async function settle(rounds = 5): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
