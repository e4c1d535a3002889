// x86 exceptions as typed values (DESIGN.md principle 2): every fault the CPU detects is a
// CpuException carrying its vector, error code and a human reason; one delivery routine in the
// CPU turns it into an IDT transfer (or #DF / triple fault). Techniques intercept delivery,
// they never patch the executor.

export const VECTOR = {
  DE: 0,
  DB: 1,
  NMI: 2,
  BP: 3,
  OF: 4,
  BR: 5,
  UD: 6,
  NM: 7,
  DF: 8,
  TS: 10,
  NP: 11,
  SS: 12,
  GP: 13,
  PF: 14,
} as const;

export const VECTOR_NAMES: Readonly<Record<number, string>> = {
  0: '#DE',
  1: '#DB',
  2: 'NMI',
  3: '#BP',
  4: '#OF',
  5: '#BR',
  6: '#UD',
  7: '#NM',
  8: '#DF',
  10: '#TS',
  11: '#NP',
  12: '#SS',
  13: '#GP',
  14: '#PF',
};

/** Exceptions that push an error code (SDM vol. 3, table 6-1). */
const WITH_ERROR_CODE = new Set([8, 10, 11, 12, 13, 14, 17]);

/** SDM vol. 3 table 6-4: classes that decide when a second fault becomes #DF. */
export type ExceptionClass = 'benign' | 'contributory' | 'page-fault' | 'double-fault';

export function exceptionClass(vector: number): ExceptionClass {
  if (vector === 0 || (vector >= 10 && vector <= 13)) return 'contributory';
  if (vector === 14) return 'page-fault';
  if (vector === 8) return 'double-fault';
  return 'benign';
}

/**
 * A fault or trap raised while executing an instruction. Not an Error: it is control flow
 * inside the CPU (no stack trace is captured), caught by the delivery routine.
 */
export class CpuException {
  private text: string | (() => string);

  constructor(
    readonly vector: number,
    /** pushed on the handler's stack; undefined for vectors without one */
    readonly errorCode: number | undefined,
    /** why, for people; a function when building the text would cost the hot path (#PF) */
    reason: string | (() => string),
  ) {
    this.text = reason;
  }

  get reason(): string {
    if (typeof this.text === 'function') this.text = this.text();
    return this.text;
  }

  get name(): string {
    return VECTOR_NAMES[this.vector] ?? `vector ${this.vector}`;
  }

  toString(): string {
    const code = this.errorCode === undefined ? '' : `(0x${this.errorCode.toString(16)})`;
    return `${this.name}${code}: ${this.reason}`;
  }
}

export function fault(
  vectorNumber: number,
  reason: string | (() => string),
  errorCode?: number,
): CpuException {
  return new CpuException(
    vectorNumber,
    WITH_ERROR_CODE.has(vectorNumber) ? (errorCode ?? 0) : undefined,
    reason,
  );
}

export const gp = (reason: string, errorCode = 0): CpuException =>
  fault(VECTOR.GP, reason, errorCode);
export const ud = (reason: string): CpuException => fault(VECTOR.UD, reason);
