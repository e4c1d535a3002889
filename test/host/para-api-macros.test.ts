// The report's macro expansions come from the guest kernel's real sources: CLI and STI are
// found in both halves of sensitive.inc, the PV_* sequences they use in paravirt-abi.inc, with
// the lines they are on and the constants they name; a source that is not shaped as the
// builds expect is an error naming the file and the macro, never a made-up expansion.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GUEST_SOURCE_DIR,
  PARAVIRT_ABI_INC,
  paraApiMacros,
  readMacroExpansions,
  SENSITIVE_INC,
} from '../../src-main/host/para-api-macros';

const lines = (file: string): string[] =>
  readFileSync(path.join(GUEST_SOURCE_DIR, file), 'latin1').split(/\r?\n/);

const dir = mkdtempSync(path.join(tmpdir(), 'vmm-macros-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A guest source folder of our own with these two files. */
function sources(sensitive: string, abi = '%macro PV_CLI 0\n    mov byte [0], 1\n%endmacro\n') {
  const d = mkdtempSync(path.join(dir, 'src-'));
  writeFileSync(path.join(d, SENSITIVE_INC), sensitive);
  writeFileSync(path.join(d, PARAVIRT_ABI_INC), abi);
  return d;
}

describe('the macros of both builds, from the guest sources', () => {
  const [cli, sti] = readMacroExpansions();

  it('finds CLI and STI: the instruction natively, the para-API in the PARAVIRT build', () => {
    expect(cli!.name).toBe('CLI');
    expect(cli!.native.body).toEqual(['cli']);
    expect(sti!.native.body).toEqual(['sti']);
    expect(cli!.paravirt.body.join('\n')).toMatch(/^PV_CLI\b/);
    expect(sti!.paravirt.body.join('\n')).toMatch(/^PV_STI\b/);
    // the para-virtual half comes after the native one
    expect(cli!.paravirt.line).toBeGreaterThan(sti!.native.line);
  });

  it('follows the para-virtual body into paravirt-abi.inc: a store to the event mask', () => {
    expect(cli!.uses.map((u) => [u.name, u.file])).toEqual([['PV_CLI', PARAVIRT_ABI_INC]]);
    expect(cli!.uses[0]!.body.join('\n')).toMatch(
      /^mov byte \[SHARED_INFO_ADDRESS \+ SHARED_INFO_evtchn_upcall_mask\], 1$/,
    );
    expect(cli!.uses[0]!.comment.join(' ')).toMatch(/^PV_CLI: .*Replaces: cli\./);
    // STI: unmask, then enter the hypervisor only when an event is pending
    const pvSti = sti!.uses[0]!.body.join('\n');
    expect(pvSti).toMatch(/SHARED_INFO_evtchn_upcall_mask\], 0/);
    expect(pvSti).toMatch(/vmcall/);
    expect(sti!.constants.map((c) => c.name)).toEqual(
      expect.arrayContaining(['SHARED_INFO_ADDRESS', 'HYPERVISOR_yield']),
    );
    const address = cli!.constants.find((c) => c.name === 'SHARED_INFO_ADDRESS')!;
    expect(address.value).toMatch(/^0x[0-9A-F]+$/i);
    expect(address.comment).not.toBe('');
  });

  it('says where each one is: its %macro line, and the body is the text after it', () => {
    for (const m of [cli!, sti!]) {
      for (const source of [m.native, m.paravirt, ...m.uses]) {
        const file = lines(source.file);
        expect(file[source.line - 1], `${source.file}:${source.line}`).toMatch(
          new RegExp(`^\\s*%macro\\s+${source.name}\\b`),
        );
        expect(file[source.line + source.body.length]).toMatch(/^\s*%endmacro\b/);
        expect(file[source.line]!.trim()).toBe(source.body[0]!.trim());
      }
    }
  });

  it('reads the bundled sources once for the report', () => {
    expect(paraApiMacros()).toEqual(readMacroExpansions());
    expect(paraApiMacros()).toBe(paraApiMacros());
  });
});

describe('sources not shaped as the builds expect', () => {
  const halves = (native: string, paravirt: string) =>
    `%ifndef PARAVIRT\n${native}\n%else\n${paravirt}\n%endif\n`;
  const macro = (name: string, body: string) => `%macro ${name} 0\n    ${body}\n%endmacro`;

  it('takes each build’s macro from its own half, past nested %if blocks', () => {
    const text = halves(
      `${macro('CLI', 'cli')}\n%ifidni a, b\n%else\n%endif\n${macro('STI', 'sti')}`,
      `%if 1\n%else\n%endif\n${macro('CLI', 'PV_CLI')}\n${macro('STI', 'nop')}`,
    );
    const [cli, sti] = readMacroExpansions(sources(text));
    expect([cli!.native.body, cli!.paravirt.body, cli!.uses[0]!.body]).toEqual([
      ['cli'],
      ['PV_CLI'],
      ['mov byte [0], 1'],
    ]);
    expect([sti!.native.body, sti!.paravirt.body, sti!.uses]).toEqual([['sti'], ['nop'], []]);
  });

  it('names the file and the macro it cannot find', () => {
    const only = (text: string) => () => readMacroExpansions(sources(text));
    expect(only(macro('CLI', 'cli'))).toThrow(
      "sensitive.inc: no '%ifndef PARAVIRT' that splits the two builds",
    );
    expect(only(`%ifndef PARAVIRT\n${macro('CLI', 'cli')}\n%endif\n`)).toThrow(
      "sensitive.inc: '%ifndef PARAVIRT' has no '%else'",
    );
    expect(only(`%ifndef PARAVIRT\n%else\n`)).toThrow(/is never closed by '%endif'/);
    // CLI natively only: the para-virtual build's is not taken from the native half
    expect(only(halves(`${macro('CLI', 'cli')}\n${macro('STI', 'sti')}`, ''))).toThrow(
      "sensitive.inc: no '%macro CLI' in the para-virtual build (after %else)",
    );
    expect(only(halves('', `${macro('CLI', 'PV_CLI')}`))).toThrow(
      "sensitive.inc: no '%macro CLI' in the native build",
    );
    expect(() => readMacroExpansions(path.join(dir, 'nowhere'))).toThrow(
      /^sensitive\.inc: cannot be read from /,
    );
  });
});
