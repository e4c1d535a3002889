import { describe, expect, it } from 'vitest';
import { resultsCsv, resultsCsvColumns } from '../../src-main/report/results-csv';
import { sampleResults } from '../helpers/sample-results';

/** A strict RFC 4180 reader: CRLF records, quoted fields with "" escapes; throws on bad input. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let quoted = false;
  let fieldStart = true;
  while (i < text.length) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        if (i < text.length && text[i] !== ',' && text[i] !== '\r') {
          throw new Error(`text after a closing quote at ${i}`);
        }
        continue;
      }
      field += c;
      i++;
      continue;
    }
    if (c === '"') {
      if (!fieldStart) throw new Error(`quote inside an unquoted field at ${i}`);
      quoted = true;
      fieldStart = false;
      i++;
    } else if (c === ',') {
      record.push(field);
      field = '';
      fieldStart = true;
      i++;
    } else if (c === '\r') {
      if (text[i + 1] !== '\n') throw new Error(`CR without LF at ${i}`);
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      fieldStart = true;
      i += 2;
    } else if (c === '\n') {
      throw new Error(`bare LF at ${i}`);
    } else {
      field += c;
      fieldStart = false;
      i++;
    }
  }
  if (quoted) throw new Error('unterminated quoted field');
  if (!fieldStart || record.length > 0) throw new Error('last record has no CRLF');
  return records;
}

function table(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  for (const row of rows) expect(row).toHaveLength(header!.length);
  return rows.map((row) => Object.fromEntries(header!.map((h, i) => [h, row[i]!])));
}

describe('results.csv', () => {
  const file = sampleResults();
  const text = resultsCsv(file);
  const rows = table(text);
  const columns = parseCsv(text)[0]!;

  it('has a header and one row per run', () => {
    expect(rows).toHaveLength(file.runs.length);
    expect(rows.map((r) => r.technique)).toEqual([
      'native',
      'trap-and-emulate',
      'binary-translation',
    ]);
    expect(columns).toEqual(resultsCsvColumns(file));
    expect(new Set(columns).size).toBe(columns.length);
  });

  it('flattens every scalar with dotted names, in schema order', () => {
    for (const name of [
      'technique',
      'kernel.sha256',
      'kernel.name',
      'status',
      'end.reason',
      'end.exitCode',
      'guestInstructions.total',
      'cycles.total',
      'cycles.worldSwitch',
      'frequencyHz',
      'host.wallMs',
      'worldSwitches.count',
      'icache.hitRate',
      'icache.mpki',
      'tlb.misses',
      'outputHash',
      'equivalent',
      'firstDivergence.line',
      'firstDivergence.expected',
      'firstDivergence.actual',
      'timeSeries.sliceInstructions',
      'events.dropped',
    ]) {
      expect(columns).toContain(name);
    }
    expect(columns.indexOf('cycles.total')).toBeLessThan(columns.indexOf('cycles.guest'));
    const [native, tae, bt] = file.runs;
    expect(rows[1]!['cycles.total']).toBe(String(tae!.cycles.total));
    expect(rows[0]!['kernel.sha256']).toBe(native!.kernel.sha256);
    expect(Number(rows[2]!['icache.hitRate'])).toBe(bt!.icache.hitRate);
    expect(rows[0]!.equivalent).toBe('true');
    expect(rows[2]!.equivalent).toBe('false');
    expect(rows[0]!['firstDivergence.line']).toBe('');
    expect(rows[2]!['firstDivergence.line']).toBe('2');
    expect(rows[2]!['firstDivergence.actual']).toBe(bt!.firstDivergence!.actual);
    expect(rows[0]!.workload).toBe('primes');
    expect(rows[0]!['end.eip']).toBe('');
  });

  it('has the union of causes across runs, 0 where a run never saw one', () => {
    const trapColumns = columns.filter((c) => c.startsWith('traps.byCause.'));
    expect(trapColumns).toEqual(
      Object.keys(file.runs[1]!.traps.byCause)
        .sort()
        .map((k) => `traps.byCause.${k}`),
    );
    expect(rows[0]!['traps.byCause.gp:cli']).toBe('0');
    expect(rows[1]!['traps.byCause.gp:cli']).toBe('50');
    expect(rows[2]!['traps.byCause.pf:hidden']).toBe('12');
    expect(columns).toContain('guestEvents.byCause.de');
    expect(rows[0]!['guestEvents.byCause.de']).toBe('0');
    expect(rows[2]!['guestEvents.byCause.de']).toBe('1');
  });

  it('has the para-API figures: hypercalls (by name and in total), mmu_update calls and entries', () => {
    const f = sampleResults({ withParavirt: true });
    const r = table(resultsCsv(f));
    const [native, , , paravirt] = r;
    expect(paravirt!.technique).toBe('paravirt');
    expect(paravirt!['paravirt.hypercallsTotal']).toBe('132');
    expect(paravirt!['paravirt.mmuUpdate.calls']).toBe('14');
    expect(paravirt!['paravirt.mmuUpdate.entries']).toBe('121');
    expect(paravirt!['paravirt.hypercalls.mmu_update']).toBe('14');
    expect(paravirt!['paravirt.errors.mmu_update:EPERM']).toBe('1');
    expect(paravirt!['paravirt.mmuUpdate.batchSizes.16']).toBe('3');
    // a run without para-API metrics has none: empty, not 0
    for (const name of [
      'paravirt.hypercallsTotal',
      'paravirt.mmuUpdate.calls',
      'paravirt.mmuUpdate.entries',
      'paravirt.hypercalls.mmu_update',
    ]) {
      expect(native![name], name).toBe('');
    }
    const names = resultsCsvColumns(f);
    expect(names.indexOf('paravirt.hypercallsTotal')).toBe(
      names.indexOf('paravirt.hypercalls.yield') + 1,
    );
    // the fixed columns are there whatever runs the file has
    for (const name of [
      'paravirt.hypercallsTotal',
      'paravirt.mmuUpdate.calls',
      'paravirt.mmuUpdate.entries',
    ]) {
      expect(columns, name).toContain(name);
    }
    expect(rows[0]!['paravirt.hypercallsTotal']).toBe('');
  });

  it('has the translator figures: every count, callouts (by kind and in total), empty without them', () => {
    const f = sampleResults({ withParavirt: true, withBinaryTranslation: true });
    const r = table(resultsCsv(f));
    const [native, tae, bt, paravirt] = r;
    expect(bt!.technique).toBe('binary-translation');
    const expected: Record<string, string> = {
      'binaryTranslation.units': '486',
      'binaryTranslation.guestInstructions': '3412',
      'binaryTranslation.ident': '2795',
      'binaryTranslation.controlFlow': '452',
      'binaryTranslation.inline': '118',
      'binaryTranslation.callout': '47',
      'binaryTranslation.fragmentBytes': '16873',
      'binaryTranslation.cacheBytes': '262144',
      'binaryTranslation.chainsPatched': '391',
      'binaryTranslation.fallThroughsElided': '38',
      'binaryTranslation.callouts.lookup:ret': '2140',
      'binaryTranslation.callouts.translate': '486',
      'binaryTranslation.callouts.emulate:mov-to-cr': '24',
      'binaryTranslation.calloutsTotal': '3355',
      'binaryTranslation.invalidations': '6',
      'binaryTranslation.retranslations': '3',
      'binaryTranslation.flushes': '0',
    };
    for (const [name, value] of Object.entries(expected)) {
      expect(bt![name], name).toBe(value);
      // runs without translator metrics have none: empty, not 0
      for (const other of [native!, tae!, paravirt!]) expect(other[name], name).toBe('');
    }
    // the para-virtual run's own figures are there, and the translator's are not its
    expect(paravirt!['paravirt.hypercallsTotal']).toBe('132');
    expect(bt!['paravirt.hypercallsTotal']).toBe('');
    const names = resultsCsvColumns(f);
    expect(names.indexOf('binaryTranslation.calloutsTotal')).toBe(
      names.indexOf('binaryTranslation.callouts.translate') + 1,
    );
    expect(names.indexOf('binaryTranslation.invalidations')).toBe(
      names.indexOf('binaryTranslation.calloutsTotal') + 1,
    );
    // the fixed columns are there whatever runs the file has, empty in every run without metrics
    for (const name of [
      'binaryTranslation.units',
      'binaryTranslation.guestInstructions',
      'binaryTranslation.ident',
      'binaryTranslation.fragmentBytes',
      'binaryTranslation.cacheBytes',
      'binaryTranslation.calloutsTotal',
      'binaryTranslation.flushes',
    ]) {
      expect(columns, name).toContain(name);
      for (const row of rows) expect(row[name], name).toBe('');
    }
    expect(columns.some((c) => c.startsWith('binaryTranslation.callouts.'))).toBe(false);
  });

  it('leaves out lists and the guest output', () => {
    for (const c of columns) {
      expect(c).not.toMatch(/^(costBreakdown|outputText|timeSeries\.slots|events\.entries)/);
    }
  });

  it('keeps its columns when no run diverged', () => {
    const f = sampleResults({ withoutNative: true });
    expect(resultsCsvColumns(f)).toContain('firstDivergence.expected');
  });

  it('quotes fields with commas, quotes and line breaks so they round-trip', () => {
    const hostile = 'my "kernel", v2\r\nsecond line\nthird';
    const f = sampleResults({ kernelName: hostile });
    f.runs[0]!.end.detail = 'a,b';
    const csv = resultsCsv(f);
    const r = table(csv);
    expect(r.map((x) => x['kernel.name'])).toEqual([hostile, hostile, hostile]);
    expect(r[0]!['end.detail']).toBe('a,b');
    expect(csv).toContain('"my ""kernel"", v2\r\nsecond line\nthird"');
    expect(csv).toContain('"a,b"');
    expect(csv.slice(0, csv.indexOf('\r\n'))).not.toContain('"'); // plain names stay unquoted
  });
});
