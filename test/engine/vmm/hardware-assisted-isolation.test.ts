// Resource control under hardware assistance: test/fixtures/kernels/hunt.asm (it reads every
// page it can name, 20 MiB beyond its RAM, through every kind of mapping, points its
// descriptor tables beyond RAM, and writes a pattern to everything it can reach) runs in VMX
// non-root operation. Before it boots, the hypervisor pages the guest must never see (the
// region's first page and the handlers' modeled text) hold a canary it is never given. Under
// both variants the hunt ends as natively, finds no canary and reads all ones beyond its RAM;
// the canary pages are unchanged, and with nested paging the nested table is byte for byte
// what the hypervisor built (no guest write reached it). Natively, with the canary in RAM, the
// hunt finds it (trap-and-emulate-isolation.test.ts shows the kernel can see one).

import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createMachine } from '../../../src-main/engine/machine/machine';
import { multibootCommandLine } from '../../../src-main/engine/machine/multiboot';
import { RunMeter } from '../../../src-main/engine/metrics/meter';
import { requireProfile } from '../../../src-main/engine/metrics/profiles';
import { requireTechnique } from '../../../src-main/engine/vmm';
import { HYPERVISOR_BYTES, shadowPool } from '../../../src-main/engine/vmm/hypervisor-memory';
import {
  canaryIntact,
  fixtureKernel,
  hypervisorLayout,
  plantCanary,
} from '../../helpers/trap-and-emulate';

const GUEST_BYTES = 4 * 1024 * 1024;
const EXIT_OK = 0x10;
/** the region's first page and the handlers' modeled text: never read by either variant */
const { idt: firstPage, handlerText } = hypervisorLayout(GUEST_BYTES);

function hunt(technique: string) {
  const profile = requireProfile('p4-2006');
  const machine = createMachine({
    memoryBytes: GUEST_BYTES,
    hypervisorBytes: HYPERVISOR_BYTES,
    tlbEntries: profile.tlbEntries,
    frequencyHz: profile.frequencyHz,
  });
  const bytes = machine.memory.bytes;
  plantCanary(bytes, firstPage.from, firstPage.to);
  plantCanary(bytes, handlerText.from, handlerText.to);
  const meter = new RunMeter(machine, profile, { eventLimit: 100, sliceInstructions: 100_000 });
  const session = requireTechnique(technique).boot({
    machine,
    kernel: { name: 'k.bin', image: fixtureKernel('hunt'), build: 'native' },
    cmdline: multibootCommandLine('k.bin', ''),
    isa: 'classic',
    profile,
    meter,
  });
  // the nested table as the hypervisor built it (before the guest runs)
  const pool = shadowPool(GUEST_BYTES);
  const tables = (): string =>
    createHash('sha256')
      .update(bytes.subarray(pool.first << 12, (pool.first + 8) << 12))
      .digest('hex');
  const before = tables();
  const end = session.run({ maxInstructions: 100_000_000, shouldStop: () => false });
  const text = Buffer.from(machine.serialOutput()).toString('latin1');
  return { end, text, bytes, tablesChanged: tables() !== before };
}

describe.each(['hardware-assisted', 'hardware-assisted-npt'])(
  '%s: the guest cannot reach the hypervisor',
  (technique) => {
    it('the hunt ends as natively, finds no canary, sees all ones beyond RAM', () => {
      const r = hunt(technique);
      expect(r.end).toEqual({ kind: 'exit', code: EXIT_OK });
      const summary =
        /summary: canary hits=(\d+) beyond-ram dwords=([0-9A-F]{8}) not-all-ones=(\d+)/.exec(
          r.text,
        );
      expect(summary, r.text).not.toBeNull();
      expect(Number(summary![1])).toBe(0);
      expect(parseInt(summary![2]!, 16)).toBeGreaterThan(HYPERVISOR_BYTES / 4);
      expect(Number(summary![3])).toBe(0);
      expect(canaryIntact(r.bytes, firstPage.from, firstPage.to)).toBe(true);
      expect(canaryIntact(r.bytes, handlerText.from, handlerText.to)).toBe(true);
      if (technique === 'hardware-assisted-npt') expect(r.tablesChanged).toBe(false);
    });
  },
);
