// The worker pool with fake workers (test/fixtures/workers/fake-worker.ts): runs overlap up to
// the pool size and queue beyond it, progress arrives, cancel works queued and running (through
// shared memory while the worker is busy), and every way a worker can go wrong — throwing,
// hanging, exiting, running out of memory, sending garbage — fails its own run only, with a
// message naming the technique, while the other runs in the same pool complete. Then the real
// worker entry (worker-bootstrap.mjs → run-worker.ts → runExperiment) on the guest kernel.

import { afterEach, describe, expect, it } from 'vitest';
import { type RunResult, RunResultSchema, SPEC_DEFAULTS } from '../../shared/results';
import {
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../shared/translation-cache-dump';
import { cannedDump } from '../fixtures/workers/canned';
import { type RunProgress, type RunSpec } from '../../src-main/engine/run-spec';
import { guestKernelImage } from '../../src-main/host/guest-kernel';
import { WorkerPool, type WorkerPoolOptions } from '../../src-main/workers/pool';

const FAKE = new URL('../fixtures/workers/fake-worker.ts', import.meta.url);

/** A run spec for the fake worker: `technique` picks its behaviour, `ms` its duration. */
function fakeSpec(technique: string, ms = 300, extra = ''): RunSpec {
  return {
    experiment: {
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'isprime' },
      techniques: [technique],
      append: `ms=${ms}${extra}`,
    },
    technique,
    kernel: { name: 'fake kernel', image: new Uint8Array([1, 2, 3]), build: 'native' },
    kernelPath: 'vmm-guest.bin',
  };
}

const pools: WorkerPool[] = [];
function pool(options: WorkerPoolOptions = {}): WorkerPool {
  const p = new WorkerPool({ workerScript: FAKE, ...options });
  pools.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** Run one spec, recording when it started (first progress) and ended (host time). */
function timed(p: WorkerPool, spec: RunSpec) {
  const seen: RunProgress[] = [];
  let startedAt = Number.NaN;
  const run = p.run(spec, (progress) => {
    if (seen.length === 0) startedAt = performance.now();
    seen.push(progress);
  });
  const result = run.result.then((r) => ({ r, endedAt: performance.now(), startedAt, seen }));
  return { ...run, timed: result };
}

function valid(r: RunResult): RunResult {
  const parsed = RunResultSchema.safeParse(r);
  if (!parsed.success) throw new Error(JSON.stringify(parsed.error.issues.slice(0, 3)));
  return r;
}

describe('WorkerPool', () => {
  it('runs up to `size` workers at once, really in parallel, with progress', async () => {
    const p = pool({ size: 2 });
    const a = timed(p, fakeSpec('slow', 1200));
    const b = timed(p, fakeSpec('slow', 1200));
    const [ra, rb] = await Promise.all([a.timed, b.timed]);
    // both started before either ended: the two threads overlapped
    expect(Math.max(ra.startedAt, rb.startedAt)).toBeLessThan(Math.min(ra.endedAt, rb.endedAt));
    for (const x of [ra, rb]) {
      expect(valid(x.r).status).toBe('completed');
      expect(x.seen.length).toBeGreaterThan(5);
      expect(x.seen.at(-1)!.instructions).toBeGreaterThan(x.seen[1]!.instructions);
      expect(x.seen.every((s) => s.technique === 'slow')).toBe(true);
    }
  });

  it('queues runs beyond its size, first in first out', async () => {
    const p = pool({ size: 1 });
    const a = timed(p, fakeSpec('slow', 200));
    const b = timed(p, fakeSpec('slow', 200));
    expect(p.pending).toEqual({ queued: 1, running: 1 });
    const [ra, rb] = await Promise.all([a.timed, b.timed]);
    expect(rb.startedAt).toBeGreaterThanOrEqual(ra.endedAt);
    expect([ra.r.status, rb.r.status]).toEqual(['completed', 'completed']);
    expect(p.pending).toEqual({ queued: 0, running: 0 });
  });

  it('cancels a queued run at once and a running run through the shared flag', async () => {
    const p = pool({ size: 1 });
    const running = timed(p, fakeSpec('slow', 20_000));
    const queued = timed(p, fakeSpec('slow', 20_000));
    queued.cancel();
    const q = await queued.timed;
    expect(valid(q.r).status).toBe('did-not-finish');
    expect(q.r.end.reason).toBe('cancelled');
    expect(q.seen).toEqual([]);
    // let the running one get going, then cancel it: the busy worker sees the flag
    await new Promise((r) => setTimeout(r, 300));
    const before = performance.now();
    running.cancel();
    running.cancel(); // idempotent
    const r = await running.timed;
    expect(performance.now() - before).toBeLessThan(2000);
    expect(valid(r.r).status).toBe('did-not-finish');
    expect(r.r.end).toMatchObject({ reason: 'cancelled', detail: 'cancelled' });
    // the fake's own partial metrics came back, not a stand-in
    expect(r.r.guestInstructions.total).toBeGreaterThan(0);
  });

  it('terminates a worker that ignores cancel after the grace period', async () => {
    const p = pool({ size: 1, cancelGraceMs: 300 });
    const run = timed(p, fakeSpec('deaf'));
    await new Promise((r) => setTimeout(r, 300));
    run.cancel();
    const r = await run.timed;
    expect(valid(r.r).status).toBe('did-not-finish');
    expect(r.r.end.reason).toBe('cancelled');
    expect(r.r.end.detail).toMatch(/did not stop within 300 ms/);
  });

  it('isolates a throwing and a looping worker from a good run in the same pool', async () => {
    // the watchdog also covers a worker's start-up, so leave room for a loaded machine
    const p = pool({ size: 3, stallTimeoutMs: 4000 });
    const bad = timed(p, fakeSpec('throw'));
    const hung = timed(p, fakeSpec('loop'));
    const good = timed(p, fakeSpec('slow', 300));
    const [b, h, g] = await Promise.all([bad.timed, hung.timed, good.timed]);
    expect(valid(g.r).status).toBe('completed');
    expect(valid(b.r).status).toBe('failed');
    expect(b.r.end.reason).toBe('error');
    expect(b.r.end.detail).toMatch(/^technique 'throw': .*fake worker exploded while loading/);
    expect(valid(h.r).status).toBe('failed');
    expect(h.r.end.detail).toBe(
      "technique 'loop': worker stopped responding (no message for 4000 ms)",
    );
    // the good run was not held up by the hung one
    expect(g.endedAt).toBeLessThan(h.endedAt);
  });

  it('fails the run of a worker that reports an error, exits, or sends garbage', async () => {
    const p = pool({ size: 3 });
    const [e, x, gb] = await Promise.all(
      ['report-error', 'exit', 'garbage'].map((t) => p.run(fakeSpec(t), () => {}).result),
    );
    expect(valid(e!).end.detail).toBe(
      "technique 'report-error': the worker threw: fake engine error",
    );
    expect(valid(x!).end.detail).toMatch(
      /^technique 'exit': the worker exited unexpectedly \(exit code 3\)/,
    );
    expect(valid(gb!).end.detail).toMatch(
      /^technique 'garbage': the worker sent an invalid result: /,
    );
    for (const r of [e, x, gb]) expect(r!.status).toBe('failed');
  });

  it('hands over a translation-cache dump only when asked, checked, before the result', async () => {
    const p = pool({ size: 3 });
    const order: string[] = [];
    const dumps: TranslationCacheDump[] = [];
    const asked = p.run(fakeSpec('slow', 50), () => {}, {
      onTranslationCache: (d) => {
        order.push('dump');
        dumps.push(d);
      },
    });
    const notAsked = p.run(fakeSpec('slow', 50), () => {});
    const garbage = p.run(fakeSpec('slow', 50, ' tc=garbage'), () => {}, {
      onTranslationCache: (d) => dumps.push(d),
    });
    const unasked = p.run(fakeSpec('slow', 50, ' tc=unasked'), () => {});
    const [a, n, g, u] = await Promise.all(
      [asked, notAsked, garbage, unasked].map((r) =>
        r.result.then((x) => {
          if (r === asked) order.push('result');
          return x;
        }),
      ),
    );
    expect(order).toEqual(['dump', 'result']);
    expect(dumps).toEqual([cannedDump()]);
    expect(valid(a!).status).toBe('completed');
    expect(valid(n!).status).toBe('completed');
    expect(valid(g!).end.detail).toMatch(
      /^technique 'slow': the worker sent an invalid translation-cache dump: fragments: /,
    );
    expect(valid(u!).end.detail).toBe(
      "technique 'slow': the worker sent a translation-cache dump that was not asked for",
    );
  });

  it('fails a run that runs out of memory and keeps the others going', async () => {
    const p = pool({ size: 2, resourceLimits: { maxOldGenerationSizeMb: 32 } });
    const [oom, good] = await Promise.all([
      p.run(fakeSpec('oom'), () => {}).result,
      p.run(fakeSpec('slow', 200), () => {}).result,
    ]);
    expect(valid(oom).status).toBe('failed');
    expect(oom.end.detail).toMatch(/^technique 'oom': the worker ran out of memory/);
    expect(good.status).toBe('completed');
  });

  it('keeps running when a progress listener throws', async () => {
    const p = pool({ size: 1 });
    const r = await p.run(fakeSpec('slow', 100), () => {
      throw new Error('listener bug');
    }).result;
    expect(r.status).toBe('completed');
  });

  it('close() ends queued and running runs as cancelled; later runs fail at once', async () => {
    const p = pool({ size: 1 });
    const a = p.run(fakeSpec('slow', 20_000), () => {});
    const b = p.run(fakeSpec('slow', 20_000), () => {});
    await new Promise((r) => setTimeout(r, 100));
    await p.close();
    for (const r of await Promise.all([a.result, b.result])) {
      expect(valid(r).status).toBe('did-not-finish');
      expect(r.end).toMatchObject({ reason: 'cancelled', detail: 'the worker pool was closed' });
    }
    const late = await p.run(fakeSpec('slow'), () => {}).result;
    expect(late.status).toBe('failed');
    expect(late.end.detail).toMatch(/pool is closed/);
  });

  it('defaults to one worker per available CPU', () => {
    expect(pool().size).toBeGreaterThanOrEqual(1);
    expect(() => pool({ size: 0 })).toThrow(/positive integer/);
  });
});

describe('WorkerPool with the real worker entry', () => {
  const image = guestKernelImage('native');
  const spec = (append: string): RunSpec => ({
    experiment: {
      ...SPEC_DEFAULTS,
      kernel: { kind: 'workload', workload: 'isprime' },
      techniques: ['native'],
      append,
    },
    technique: 'native',
    kernel: { name: 'guest kernel', image, build: 'native' },
    kernelPath: 'vmm-guest.bin',
  });

  it('runs the guest kernel in a worker thread and reports progress', async () => {
    const p = new WorkerPool({ size: 1 });
    pools.push(p);
    const seen: RunProgress[] = [];
    const r = await p.run(spec('n=300'), (x) => seen.push(x)).result;
    expect(valid(r).status).toBe('completed');
    expect(r.end.reason).toBe('exit');
    expect(r.host.wallMs).toBeGreaterThan(0);
    expect(seen[0]).toMatchObject({ technique: 'native', instructions: 0 });
    expect(seen.at(-1)!.instructions).toBe(r.guestInstructions.total);
  });

  it('sends a binary-translation run’s translation cache when asked, and no other run’s', async () => {
    const p = new WorkerPool({ size: 2 });
    pools.push(p);
    const bt: RunSpec = {
      ...spec('n=5'),
      experiment: {
        ...spec('n=5').experiment,
        kernel: { kind: 'workload', workload: 'syscall' },
        techniques: ['binary-translation'],
      },
      technique: 'binary-translation',
    };
    const got: Record<string, TranslationCacheDump[]> = { bt: [], native: [] };
    const [r, native] = await Promise.all([
      p.run(bt, () => {}, { onTranslationCache: (d) => got.bt!.push(d) }).result,
      p.run(spec('n=5'), () => {}, { onTranslationCache: (d) => got.native!.push(d) }).result,
    ]);
    expect(valid(r).status).toBe('completed');
    expect(valid(native).status).toBe('completed');
    expect(got.native).toEqual([]);
    expect(got.bt).toHaveLength(1);
    const dump = TranslationCacheDumpSchema.parse(got.bt![0]);
    // the dump is of this run: as many units as its metrics counted
    expect(dump.fragments.length).toBe(r.binaryTranslation!.units);
  });

  it('cancels a real run through shared memory, keeping its partial metrics', async () => {
    const p = new WorkerPool({ size: 1 });
    pools.push(p);
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    // large enough to run for minutes: only cancel can end it within the test
    const run = p.run(spec('n=10000000'), (x) => {
      if (x.instructions > 0) started();
    });
    await running;
    run.cancel();
    const r = await run.result;
    expect(valid(r).status).toBe('did-not-finish');
    expect(r.end.reason).toBe('cancelled');
    expect(r.guestInstructions.total).toBeGreaterThan(0);
  });
});

describe('preparing a kernel file in a worker thread', () => {
  const source = (text: string) => new TextEncoder().encode(text);

  it('answers the assembled image, or the source error with its line', async () => {
    const p = new WorkerPool({ size: 1 });
    pools.push(p);
    const good = await p.prepareKernel(
      'tiny.asm',
      source(
        'bits 32\norg 0x100000\nh: dd 0x1BADB002, 0x10000, -(0x1BADB002 + 0x10000)\n' +
          'dd h, h, e, e, s\ns: hlt\ne:\n',
      ),
    );
    expect(good.assembled).toBe(true);
    expect([...good.image.subarray(0, 4)]).toEqual([0x02, 0xb0, 0xad, 0x1b]);
    await expect(p.prepareKernel('bad.asm', source('bits 32\nfrob eax\n'))).rejects.toThrow(
      /^bad\.asm:2(:\d+)?: error: /,
    );
  });

  it('stops a source that takes too long, and the calling thread never waits for it', async () => {
    const p = new WorkerPool({ size: 1 });
    pools.push(p);
    // a million lines, then forty passes: minutes of work
    const slow = source(
      'bits 32\norg 0x100000\n%rep 1000000\nl%+__LINE__: jmp near $+2\n%endrep\n',
    );
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 20);
    try {
      await expect(p.prepareKernel('slow.asm', slow, 1500)).rejects.toThrow(
        /^slow\.asm: preparing it took longer than 1\.5 s and was stopped/,
      );
    } finally {
      clearInterval(ticker);
    }
    expect(ticks).toBeGreaterThan(20); // this thread kept running its timers meanwhile
  });

  it('prepares at most two kernel files at once', async () => {
    const p = new WorkerPool({ size: 1 });
    pools.push(p);
    const slow = source('bits 32\n%rep 1000000\nnop\n%endrep\n');
    const first = p.prepareKernel('a.asm', slow, 3000).catch((e: Error) => e.message);
    const second = p.prepareKernel('b.asm', slow, 3000).catch((e: Error) => e.message);
    await expect(p.prepareKernel('c.asm', slow)).rejects.toThrow(
      /^c\.asm: 2 kernel files are being prepared already/,
    );
    await Promise.all([first, second]);
  });

  it('refuses once the pool is closed', async () => {
    const p = new WorkerPool({ size: 1 });
    await p.close();
    await expect(p.prepareKernel('x.bin', source('x'))).rejects.toThrow(/closed/);
  });
});
