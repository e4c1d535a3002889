// The assembler: NASM-syntax source → the flat binary `nasm -f bin` makes of it. It owns the
// pass loop (label addresses are re-evaluated pass after pass until no instruction changes
// size, as NASM's optimizer does), symbols and local labels, data and reserve directives,
// times/align/org, and the listing. Preprocessing is preprocess.ts, instruction encoding is
// the opcode table's encoder; this module reads no files (the caller passes a SourceProvider).

import { AsmError, type SourceLocation } from './diagnostics';
import { type Expr, evaluate } from './expr';
import { preprocess, type PreprocessedLine, type SourceProvider } from './preprocess';
import {
  type DataItem,
  type MemoryOperandAst,
  type OperandAst,
  parseLine,
  type ParsedLine,
  type Statement,
} from './statements';
import {
  type AsmOperand,
  type AsmValue,
  encode,
  EncodeError,
  type MemoryOperandSpec,
} from '../isa/encoder';
import { registerNamed } from '../isa/registers';

export interface AssembleOptions {
  /** the main file's name, used in messages and for %include */
  readonly file: string;
  /** -D NAME[=VALUE] */
  readonly defines?: ReadonlyArray<readonly [string, string]>;
  readonly provider?: SourceProvider;
  /** also produce the listing */
  readonly listing?: boolean;
}

export interface ListingEntry {
  readonly file: string;
  readonly line: number;
  readonly macroDepth: number;
  /** undefined for lines that emit nothing and have no address (comments, equ…) */
  readonly address: number | undefined;
  readonly bytes: readonly number[];
  readonly source: string;
}

export interface AssembleResult {
  readonly bytes: Uint8Array;
  readonly origin: number;
  readonly symbols: ReadonlyMap<string, number>;
  readonly listing?: readonly ListingEntry[];
  /** passes the optimizer took to settle */
  readonly passes: number;
}

const MAX_PASSES = 40;
const MAX_OUTPUT = 256 * 1024 * 1024;

interface Symbol {
  value: number | undefined;
  relocatable: boolean;
}

interface Line {
  readonly source: PreprocessedLine;
  readonly parsed: ParsedLine;
  /** the non-local label that `.local` names on this line belong to */
  readonly scope: string;
  /** the label defined here, fully qualified */
  readonly labelName?: string;
}

/** A value and whether it is relative to a label (NASM keeps such encodings full size). */
interface Evaluated {
  value: number | undefined;
  relocatable: boolean;
}

class Pass {
  readonly current = new Map<string, Symbol>();
  /** true when this pass is the last and must produce bytes */
  constructor(
    readonly previous: ReadonlyMap<string, Symbol>,
    readonly final: boolean,
    readonly origin: number,
  ) {}
  lookup(name: string): Symbol | undefined {
    return this.current.get(name) ?? this.previous.get(name);
  }
}

function qualify(name: string, scope: string): string {
  return name.startsWith('.') && !name.startsWith('..') ? scope + name : name;
}

function loc(line: Line, column: number): SourceLocation {
  return { file: line.source.file, line: line.source.line, column };
}

function toNumber(v: bigint): number {
  return Number(BigInt.asIntN(64, v));
}

/** Labels and `$` are section-relative; differences of them are plain numbers. */
function relocation(expr: Expr, pass: Pass, scope: string): number {
  switch (expr.kind) {
    case 'number':
    case 'string':
      return 0;
    case 'here':
    case 'base':
      return 1;
    case 'symbol': {
      const sym = pass.lookup(qualify(expr.name, scope));
      return sym?.relocatable ? 1 : 0;
    }
    case 'unary':
      return expr.op === '-'
        ? -relocation(expr.operand, pass, scope)
        : relocation(expr.operand, pass, scope);
    case 'binary': {
      const l = relocation(expr.left, pass, scope);
      const r = relocation(expr.right, pass, scope);
      if (expr.op === '+') return l + r;
      if (expr.op === '-') return l - r;
      return l !== 0 || r !== 0 ? 1 : 0;
    }
    case 'conditional':
      return relocation(expr.then, pass, scope) !== 0 || relocation(expr.else, pass, scope) !== 0
        ? 1
        : 0;
  }
}

export class Assembler {
  private readonly lines: Line[] = [];

  constructor(
    source: string,
    private readonly options: AssembleOptions,
  ) {
    const pre = preprocess(source, options.file, {
      defines: options.defines ?? [],
      ...(options.provider ? { provider: options.provider } : {}),
    });
    let scope = '';
    for (const source of pre) {
      const parsed = parseLine(source.text, source.file, source.line);
      let labelName: string | undefined;
      if (parsed.label) {
        const name = parsed.label.name;
        if (!parsed.label.escaped && registerNamed(name)) {
          throw new AsmError(`'${name}' is a register and cannot be a label`, {
            file: source.file,
            line: source.line,
            column: parsed.label.column,
          });
        }
        if (!name.startsWith('.') && !name.startsWith('..@')) scope = name;
        labelName = qualify(name, scope);
      }
      this.lines.push({ source, parsed, scope, ...(labelName ? { labelName } : {}) });
    }
  }

  assemble(): AssembleResult {
    let previous = new Map<string, Symbol>();
    let origin = this.findOrigin();
    for (let passNo = 1; passNo <= MAX_PASSES; passNo++) {
      const pass = new Pass(previous, false, origin);
      this.runPass(pass, undefined);
      const nextOrigin = this.findOrigin(pass);
      const stable = passNo > 1 && nextOrigin === origin && sameSymbols(previous, pass.current);
      previous = pass.current;
      if (stable) {
        const out: number[] = [];
        const listing: ListingEntry[] | undefined = this.options.listing ? [] : undefined;
        const finalPass = new Pass(previous, true, origin);
        this.runPass(finalPass, { out, listing });
        const symbols = new Map<string, number>();
        for (const [name, sym] of finalPass.current) {
          if (sym.value !== undefined) symbols.set(name, sym.value);
        }
        return {
          bytes: Uint8Array.from(out),
          origin,
          symbols,
          ...(listing ? { listing } : {}),
          passes: passNo + 1,
        };
      }
      origin = nextOrigin;
    }
    throw new AsmError(
      `label addresses did not settle after ${MAX_PASSES} passes (an instruction's size depends on its own address)`,
      { file: this.options.file, line: 0, column: 0 },
    );
  }

  /**
   * The origin from `org`. Before the first pass only constants are known; an origin named by
   * an `equ` (X equ 0x100000 / org X) is found after the first pass and the passes go on.
   */
  private findOrigin(pass?: Pass): number {
    let origin: number | undefined;
    for (const line of this.lines) {
      const st = line.parsed.statement;
      if (st.kind !== 'org') continue;
      const v = this.evaluate(st.value, line, pass ?? new Pass(new Map(), false, 0), 0, st.column);
      if (v.value === undefined) {
        if (!pass) return 0;
        throw new AsmError(
          'org needs a value known before any code (a constant or an equ)',
          loc(line, st.column),
        );
      }
      if (origin !== undefined && origin !== v.value) {
        throw new AsmError('a flat binary has one origin: org given twice', loc(line, st.column));
      }
      origin = v.value;
    }
    return origin ?? 0;
  }

  /** The expression's 64-bit value at `here`, or undefined while a symbol is unknown. */
  private evaluateBig(
    expr: Expr,
    line: Line,
    pass: Pass,
    here: number,
    column: number,
  ): bigint | undefined {
    const location = loc(line, column);
    try {
      return evaluate(expr, {
        lookup: (name: string) => {
          const v = pass.lookup(qualify(name, line.scope))?.value;
          return v === undefined ? undefined : BigInt(v);
        },
        here: BigInt(here),
        sectionStart: BigInt(pass.origin),
        loc: location,
      });
    } catch (e) {
      if (e instanceof AsmError) throw e;
      throw new AsmError(String(e), location);
    }
  }

  private evaluate(expr: Expr, line: Line, pass: Pass, here: number, column: number): Evaluated {
    const value = this.evaluateBig(expr, line, pass, here, column);
    return {
      value: value === undefined ? undefined : toNumber(value),
      relocatable: relocation(expr, pass, line.scope) !== 0,
    };
  }

  private known(
    expr: Expr,
    line: Line,
    pass: Pass,
    here: number,
    column: number,
    what: string,
  ): number {
    const v = this.evaluate(expr, line, pass, here, column);
    if (v.value === undefined) throw unknownValue(expr, line, pass, column, what);
    return v.value;
  }

  private runPass(
    pass: Pass,
    emit: { out: number[]; listing: ListingEntry[] | undefined } | undefined,
  ): void {
    let address = pass.origin;
    for (const line of this.lines) {
      const st = line.parsed.statement;
      if (line.labelName) {
        const existing = pass.current.get(line.labelName);
        if (existing) {
          throw new AsmError(
            `label '${line.labelName}' is defined twice`,
            loc(line, line.parsed.label!.column),
          );
        }
        if (st.kind === 'equ') {
          const v = this.evaluate(st.value, line, pass, address, st.column);
          if (pass.final && v.value === undefined) {
            this.known(st.value, line, pass, address, st.column, 'equ');
          }
          pass.current.set(line.labelName, v);
        } else {
          pass.current.set(line.labelName, { value: address, relocatable: true });
        }
      }
      const start = address;
      const bytes: number[] = [];
      address += this.statement(st, line, pass, address, bytes);
      if (address - pass.origin > MAX_OUTPUT) {
        throw new AsmError('output larger than 256 MiB', loc(line, 0));
      }
      if (emit) {
        // one at a time: spreading a large `times`/`resb` into push() overflows the stack
        for (const b of bytes) emit.out.push(b);
        emit.listing?.push({
          file: line.source.file,
          line: line.source.line,
          macroDepth: line.source.macroDepth,
          address:
            st.kind === 'empty' ||
            st.kind === 'equ' ||
            st.kind === 'bits' ||
            st.kind === 'org' ||
            st.kind === 'section'
              ? undefined
              : start,
          bytes,
          source: line.source.text,
        });
      }
    }
  }

  /** Size of one statement at `address`; on the final pass also its bytes (appended to `out`). */
  private statement(st: Statement, line: Line, pass: Pass, address: number, out: number[]): number {
    switch (st.kind) {
      case 'empty':
      case 'equ':
      case 'org':
      case 'bits':
        return 0;
      case 'section':
        if (!/^\.?text$/i.test(st.name)) {
          throw new AsmError(
            `section '${st.name}': this assembler makes one flat image; keep code and data in .text`,
            loc(line, st.column),
          );
        }
        return 0;
      case 'data':
        return this.data(st.width, st.items, line, pass, address, out);
      case 'reserve': {
        const count = this.known(
          st.count,
          line,
          pass,
          address,
          st.column,
          `res${'bwdq'[Math.log2(st.width)]}`,
        );
        if (count < 0) throw new AsmError(`negative reserve count ${count}`, loc(line, st.column));
        const size = count * st.width;
        if (size > MAX_OUTPUT)
          throw new AsmError(`reserve of ${size} bytes is too large`, loc(line, st.column));
        if (pass.final) for (let i = 0; i < size; i++) out.push(0);
        return size;
      }
      case 'times': {
        const count = this.known(st.count, line, pass, address, st.column, 'times count');
        if (count < 0)
          throw new AsmError(`times count is negative (${count})`, loc(line, st.column));
        let size = 0;
        for (let i = 0; i < count; i++) {
          size += this.statement(st.body, line, pass, address + size, out);
          if (size > MAX_OUTPUT)
            throw new AsmError('times produces more than 256 MiB', loc(line, st.column));
        }
        return size;
      }
      case 'align': {
        const boundary = this.known(st.boundary, line, pass, address, st.column, 'align boundary');
        if (boundary <= 0 || (boundary & (boundary - 1)) !== 0) {
          throw new AsmError(
            `align boundary must be a power of two, not ${boundary}`,
            loc(line, st.column),
          );
        }
        const pad = (boundary - ((address - pass.origin) % boundary)) % boundary;
        if (st.reserve) {
          if (pass.final) for (let i = 0; i < pad; i++) out.push(0);
          return pad;
        }
        const fill: Statement = st.fill ?? {
          kind: 'insn',
          mnemonic: 'nop',
          column: st.column,
          lock: false,
          operands: [],
        };
        let size = 0;
        while (size < pad) {
          const n = this.statement(fill, line, pass, address + size, out);
          if (n <= 0) throw new AsmError('align fill must emit bytes', loc(line, st.column));
          size += n;
        }
        return size;
      }
      case 'insn':
        return this.instruction(st, line, pass, address, out);
    }
  }

  private data(
    width: 1 | 2 | 4 | 8,
    items: DataItem[],
    line: Line,
    pass: Pass,
    address: number,
    out: number[],
  ): number {
    let size = 0;
    for (const item of items) {
      if (item.kind === 'bytes') {
        // a string fills whole data units (dw 'abc' is 4 bytes); an empty string is nothing
        const padded = Math.ceil(item.bytes.length / width) * width;
        if (pass.final) {
          for (const b of item.bytes) out.push(b);
          for (let i = item.bytes.length; i < padded; i++) out.push(0);
        }
        size += padded;
        continue;
      }
      if (pass.final) {
        // `$` in a data list is the start of the line, not of the item (as in NASM).
        const raw = this.evaluateBig(item.expr, line, pass, address, item.column);
        if (raw === undefined) throw unknownValue(item.expr, line, pass, item.column, 'data');
        const bits = width * 8;
        if (bits < 64) {
          const n = Number(raw);
          if (n < -(2 ** bits) || n >= 2 ** bits) {
            throw new AsmError(
              `value ${n} does not fit in ${bits} bits (d${'bwdq'[Math.log2(width)]})`,
              loc(line, item.column),
            );
          }
        }
        let u = BigInt.asUintN(bits, raw);
        for (let i = 0; i < width; i++) {
          out.push(Number(u & 0xffn));
          u >>= 8n;
        }
      }
      size += width;
    }
    return size;
  }

  private instruction(
    st: Extract<Statement, { kind: 'insn' }>,
    line: Line,
    pass: Pass,
    address: number,
    out: number[],
  ): number {
    const operands = st.operands.map((op) => this.operand(op, line, pass, address));
    if (pass.final) {
      st.operands.forEach((op) => this.requireKnown(op, line, pass, address));
    }
    try {
      const enc = encode(
        st.mnemonic,
        operands,
        address,
        {
          lock: st.lock,
          ...(st.rep ? { rep: st.rep } : {}),
          ...(st.operandSize ? { operandSize: st.operandSize } : {}),
          ...(st.segment !== undefined ? { segment: st.segment } : {}),
        },
        pass.final,
      );
      if (pass.final) out.push(...enc.bytes);
      return enc.bytes.length;
    } catch (e) {
      if (e instanceof EncodeError) {
        const column =
          e.operandIndex !== undefined
            ? (st.operands[e.operandIndex]?.column ?? st.column)
            : st.column;
        throw new AsmError(e.message, loc(line, column));
      }
      throw e;
    }
  }

  private requireKnown(op: OperandAst, line: Line, pass: Pass, address: number): void {
    const exprs: Expr[] =
      op.type === 'imm'
        ? [op.expr]
        : op.type === 'farptr'
          ? [op.selector, op.offset]
          : op.type === 'mem'
            ? [op.address]
            : [];
    for (const e of exprs) {
      const names = undefinedSymbols(e, pass, line.scope);
      if (names.length > 0) {
        throw new AsmError(`symbol '${names[0]}' is not defined`, loc(line, op.column));
      }
      if (op.type !== 'mem') this.known(e, line, pass, address, op.column, 'operand');
    }
  }

  private operand(op: OperandAst, line: Line, pass: Pass, address: number): AsmOperand {
    switch (op.type) {
      case 'reg':
        return { type: 'reg', reg: op.reg };
      case 'imm':
        return {
          type: 'imm',
          value: this.evaluate(op.expr, line, pass, address, op.column),
          ...(op.size !== undefined ? { size: op.size } : {}),
          ...(op.strict ? { strict: true } : {}),
          ...(op.distance ? { distance: op.distance } : {}),
        };
      case 'farptr':
        return {
          type: 'farptr',
          selector: this.evaluate(op.selector, line, pass, address, op.column),
          offset: this.evaluate(op.offset, line, pass, address, op.column),
          ...(op.size ? { size: op.size } : {}),
        };
      case 'mem':
        return this.memory(op, line, pass, address);
    }
  }

  /** Split a bracketed address into base, index×scale and displacement, as NASM does. */
  private memory(op: MemoryOperandAst, line: Line, pass: Pass, address: number): MemoryOperandSpec {
    const where = loc(line, op.column);
    const regs: { index: number; scale: number; explicit: boolean }[] = [];
    const disp: { negative: boolean; expr: Expr }[] = [];
    const walk = (e: Expr, negative: boolean): void => {
      if (e.kind === 'binary' && (e.op === '+' || e.op === '-')) {
        walk(e.left, negative);
        walk(e.right, e.op === '-' ? !negative : negative);
        return;
      }
      if (e.kind === 'unary' && e.op === '+') return walk(e.operand, negative);
      if (e.kind === 'unary' && e.op === '-' && containsRegister(e.operand))
        return walk(e.operand, !negative);
      const reg = registerOf(e);
      if (reg === -1)
        throw new AsmError(
          'invalid effective address: only 32-bit general registers can address memory',
          where,
        );
      if (reg !== undefined) {
        if (negative) throw new AsmError('a register cannot be subtracted in an address', where);
        regs.push({ index: reg, scale: 1, explicit: false });
        return;
      }
      if (e.kind === 'binary' && e.op === '*') {
        const l = registerOf(e.left);
        const r = registerOf(e.right);
        if (l === -1 || r === -1)
          throw new AsmError(
            'invalid effective address: only 32-bit general registers can address memory',
            where,
          );
        if (l !== undefined || r !== undefined) {
          if (negative) throw new AsmError('a register cannot be subtracted in an address', where);
          const factor = l !== undefined ? e.right : e.left;
          if (containsRegister(factor))
            throw new AsmError('invalid effective address: register times register', where);
          const scale = this.known(factor, line, pass, address, op.column, 'scale');
          regs.push({ index: (l ?? r)!, scale, explicit: true });
          return;
        }
      }
      if (containsRegister(e)) throw new AsmError('invalid effective address', where);
      disp.push({ negative, expr: e });
    };
    walk(op.address, false);

    // Merge repeats of one register (ebx+ebx → ebx*2).
    const merged: typeof regs = [];
    for (const r of regs) {
      const same = merged.find((m) => m.index === r.index);
      if (same) {
        same.scale += r.scale;
        same.explicit = true;
      } else merged.push({ ...r });
    }
    let base: number | undefined;
    let index: number | undefined;
    let scale = 1;
    const invalid = (): AsmError => new AsmError('invalid 32-bit effective address', where);
    const live = merged.filter((r) => r.scale !== 0);
    if (live.length > 2) throw invalid();
    if (live.length === 1) {
      const r = live[0]!;
      if (r.scale === 1) base = r.index;
      else if ([2, 3, 5, 9].includes(r.scale)) {
        // NASM splits eax*2 into eax+eax*1 (and ×3, ×5, ×9 likewise): shorter than a bare index.
        base = r.index;
        index = r.index;
        scale = r.scale - 1;
      } else {
        index = r.index;
        scale = r.scale;
      }
    } else if (live.length === 2) {
      let [a, b] = live as [(typeof live)[0], (typeof live)[0]];
      // The register with a multiplier is the index; otherwise the first is the base.
      if (a.explicit && a.scale !== 1 && !(b.explicit && b.scale !== 1)) [a, b] = [b, a];
      else if (a.explicit && !b.explicit) [a, b] = [b, a];
      if (a.scale !== 1) throw invalid();
      base = a.index;
      index = b.index;
      scale = b.scale;
      if (index === 4 && scale === 1) [base, index] = [index, base];
    }
    if (index === 4) throw invalid();
    if (![1, 2, 4, 8].includes(scale)) throw invalid();

    let value: number | undefined = 0;
    let reloc = 0;
    for (const d of disp) {
      const v = this.evaluate(d.expr, line, pass, address, op.column);
      if (v.value === undefined) value = undefined;
      else if (value !== undefined) value += d.negative ? -v.value : v.value;
      reloc += (d.negative ? -1 : 1) * relocation(d.expr, pass, line.scope);
    }
    if (value !== undefined) value = (((value % 2 ** 32) + 2 ** 32) % 2 ** 32) | 0;
    const dispValue: AsmValue = { value, relocatable: reloc !== 0 };
    return {
      type: 'mem',
      ...(op.size !== undefined ? { size: op.size } : {}),
      ...(op.farSize !== undefined ? { farSize: op.farSize } : {}),
      ...(base !== undefined ? { base } : {}),
      ...(index !== undefined ? { index } : {}),
      scale: scale as 1 | 2 | 4 | 8,
      disp: dispValue,
      ...(op.dispSize !== undefined ? { dispSize: op.dispSize } : {}),
      ...(op.segment !== undefined ? { segment: op.segment } : {}),
    };
  }
}

/** The error for a value that must be known where it is used but is not. */
function unknownValue(expr: Expr, line: Line, pass: Pass, column: number, what: string): AsmError {
  const names = undefinedSymbols(expr, pass, line.scope);
  return new AsmError(
    names.length > 0
      ? `${what}: symbol '${names[0]}' is not defined before this line (the value must be known here)`
      : `${what} must be known here`,
    loc(line, column),
  );
}

function registerOf(e: Expr): number | undefined {
  if (e.kind !== 'symbol' || e.escaped) return undefined;
  const reg = registerNamed(e.name);
  if (!reg) return undefined;
  if (reg.class !== 'gpr' || reg.size !== 32) return -1;
  return reg.index;
}

function containsRegister(e: Expr): boolean {
  switch (e.kind) {
    case 'symbol':
      return !e.escaped && registerNamed(e.name) !== undefined;
    case 'unary':
      return containsRegister(e.operand);
    case 'binary':
      return containsRegister(e.left) || containsRegister(e.right);
    case 'conditional':
      return containsRegister(e.test) || containsRegister(e.then) || containsRegister(e.else);
    default:
      return false;
  }
}

function undefinedSymbols(e: Expr, pass: Pass, scope: string): string[] {
  switch (e.kind) {
    case 'symbol':
      return (!e.escaped && registerNamed(e.name)) ||
        pass.lookup(qualify(e.name, scope))?.value !== undefined
        ? []
        : [e.name];
    case 'unary':
      return undefinedSymbols(e.operand, pass, scope);
    case 'binary':
      return [...undefinedSymbols(e.left, pass, scope), ...undefinedSymbols(e.right, pass, scope)];
    case 'conditional':
      return [e.test, e.then, e.else].flatMap((x) => undefinedSymbols(x, pass, scope));
    default:
      return [];
  }
}

function sameSymbols(a: ReadonlyMap<string, Symbol>, b: ReadonlyMap<string, Symbol>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, sym] of b) {
    const other = a.get(name);
    if (!other || other.value !== sym.value || other.relocatable !== sym.relocatable) return false;
  }
  return true;
}

/** Assemble a whole source. Throws AsmError naming file, line and column. */
export function assemble(source: string, options: AssembleOptions): AssembleResult {
  return new Assembler(source, options).assemble();
}

/**
 * Assemble one instruction line at `address` (32-bit code), or undefined when it does not
 * assemble. The disassembler uses it to check that its text gives back the same bytes.
 */
export function assembleInstruction(text: string, address: number): number[] | undefined {
  try {
    const result = assemble(`bits 32\norg ${address}\n${text}\n`, { file: '<instruction>' });
    return [...result.bytes];
  } catch (e) {
    if (e instanceof AsmError) return undefined;
    throw e;
  }
}
