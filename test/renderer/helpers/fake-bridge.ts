// Test helper: a WorkbenchBridge that answers from per-method handlers, records every
// request, and pushes events on demand — what the Electron preload or the preview's HTTP
// bridge would do, without a main process.

import {
  type ApiEvent,
  type ApiMethod,
  type ApiRequest,
  type ApiResponses,
  type ApiResult,
  type Catalog,
  type RunProgressView,
  type WorkbenchBridge,
} from '../../../shared/api';
import { type HistoryFile } from '../../../shared/results';
import { sampleResults } from '../../helpers/sample-results';

type Handler<M extends ApiMethod> = (
  request: Extract<ApiRequest, { method: M }>,
) => ApiResponses[M] | Promise<ApiResponses[M]>;

export type Handlers = { [M in ApiMethod]?: Handler<M> };

/** Thrown by a handler: answered as `{ ok: false, error: message }`. */
export class Refusal extends Error {}

export class FakeBridge implements WorkbenchBridge {
  readonly requests: ApiRequest[] = [];
  private readonly listeners = new Set<(event: ApiEvent) => void>();

  constructor(public handlers: Handlers = {}) {}

  async invoke(request: ApiRequest): Promise<ApiResult<ApiMethod>> {
    this.requests.push(request);
    const handler = this.handlers[request.method] as Handler<ApiMethod> | undefined;
    if (!handler) return { ok: false, error: `no handler for ${request.method}` };
    try {
      return { ok: true, value: await handler(request as never) };
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  onEvent(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(event: ApiEvent): void {
    for (const l of [...this.listeners]) l(event);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }

  /** The requests of one method. */
  calls<M extends ApiMethod>(method: M): Extract<ApiRequest, { method: M }>[] {
    return this.requests.filter((r) => r.method === method) as Extract<ApiRequest, { method: M }>[];
  }
}

export const SAMPLE_CATALOG: Catalog = {
  apiVersion: 1,
  appVersion: '0.1.0',
  engineVersion: '0.1.0',
  schemaVersion: 4,
  techniques: [
    {
      id: 'native',
      name: 'Native',
      summary: 'the bare machine',
      reference: 'TECHNIQUES.md',
      runsKernelFiles: true,
    },
    {
      id: 'trap-and-emulate',
      name: 'Trap-and-emulate',
      summary: 'the guest kernel runs deprivileged at CPL 1',
      reference: 'lecture §4',
      runsKernelFiles: true,
    },
    {
      id: 'paravirt',
      name: 'Para-virtualization',
      summary: 'the para-virtual build runs at CPL 1 and calls the hypervisor',
      reference: 'lecture §5',
      runsKernelFiles: false,
    },
    {
      id: 'binary-translation',
      name: 'Binary translation',
      summary: 'kernel code is translated before it runs',
      reference: 'lecture §6',
      runsKernelFiles: true,
    },
  ],
  workloads: [
    { name: 'syscall', description: 'n getpid system calls', defaultN: 130000 },
    { name: 'pgfault', description: 'n demand-zero page faults', defaultN: 15000 },
  ],
  profiles: [
    { id: 'p4-2006', name: 'Pentium 4 (2006)' },
    { id: 'modern', name: 'Modern core' },
  ],
  isaVariants: ['classic', 'strict'],
  guestKernelBytes: 12_548,
};

/** A saved experiment: the three-run sample (native, trap-and-emulate, diverging binary
 *  translation) with its history identity. */
export function sampleHistoryFile(
  id = '2026-11-23T10-15-00-123Z-ab12cd',
  options: Parameters<typeof sampleResults>[0] = {},
): HistoryFile {
  return { ...sampleResults(options), id, createdAt: '2026-11-23T10:15:00.123Z' };
}

/** A run's progress as the main process pushes it: nothing done yet unless `p` says so. */
export function sampleProgress(
  experimentId: string,
  technique: string,
  p: Partial<RunProgressView> = {},
): RunProgressView {
  return {
    experimentId,
    technique,
    state: 'running',
    instructions: 0,
    traps: 0,
    cycles: 0,
    wallMs: 0,
    mips: 0,
    etaMs: null,
    ...p,
  };
}
