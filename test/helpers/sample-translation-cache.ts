// Test helper: a small, realistic translation-cache dump (shared/translation-cache-dump.ts) for
// the viewer's tests, without running the engine: the lecture's isPrime(49) as the
// binary-translation technique translates it (test/fixtures/translation/lecture-isprime.txt),
// called from a kernel routine that starts with `cli` and returns with `iretd`. Six fragments:
//   #0  0x0010113f  cli (inline) · mov edi, eax · call isprime (control flow, chained to #1)
//   #1  0x00101150  isprime's first unit: jnl to `prime` open, fall-through elided into #2
//   #2  0x0010115b  the division: jz to notPrime chained to #4, fall-through elided into #3
//   #3  0x00101164  inc esi · cmp · jl back to #2 (chained); fall-through to `prime` open
//   #4  0x0010116f  notPrime: xor eax, eax · ret (callout: lookup)
//   #5  0x00101147  after the call: a store and iretd (callout)
// Never translated: `prime` (0x00101169–0x0010116e) and the padding 0x0010114d–0x0010114f.
// The bytes are real IA-32 encodings and every jump's rel32 leads where its text says; the
// dump is parsed with its schema, so this cannot drift from the contract.

import {
  DUMP_VERSION,
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../shared/translation-cache-dump';

/** isprime's guest address, and the cache's first fragment address */
export const ISPRIME = 0x00101150;
export const PRIME = ISPRIME + 0x19;
export const NOT_PRIME = ISPRIME + 0x1f;
const TC = 0xffc03000;
const STUB = 0xffdffffe;

type Ins = [
  guestEip: number,
  bytes: string,
  text: string,
  treatment: string,
  cache: [string, string][],
];

/** Instructions with their cache code laid out from `tcStart`, one after the other. */
function fragment(
  id: number,
  tcStart: number,
  insns: Ins[],
  exits: {
    kind: 'jump' | 'fall-through';
    target: number;
    linkedTo: number | null;
    elided: boolean;
  }[],
  tailBytes = 0,
) {
  let at = tcStart;
  const instructions = insns.map(([guestEip, guestBytes, guestText, treatment, cache]) => ({
    guestEip,
    guestBytes,
    guestText,
    treatment,
    cache: cache.map(([bytes, text]) => {
      const c = { address: at, bytes, text };
      at += bytes.length / 2;
      return c;
    }),
  }));
  return {
    id,
    guestEip: insns[0]![0],
    tcStart,
    tcEnd: at + tailBytes,
    valid: true,
    instructions,
    exits,
  };
}

const ident = (eip: number, bytes: string, text: string): Ins => [
  eip,
  bytes,
  text,
  'ident',
  [[bytes, text]],
];

export function sampleTranslationCache(): TranslationCacheDump {
  const B = ISPRIME;
  const f0 = fragment(
    0,
    TC,
    [
      [
        0x0010113f,
        'fa',
        'cli',
        'inline',
        [['c7050010c0ff00000000', 'mov dword [0xffc01000], 0x0']],
      ],
      ident(0x00101140, '89c7', 'mov edi, eax'),
      [
        0x00101142,
        'e809000000',
        'call 0x101150',
        'control-flow',
        [
          ['6847111000', 'push 0x101147'],
          ['e900000000', 'jmp near 0xffc03016  ; → 0x101150 (fragment 1)'],
        ],
      ],
    ],
    [{ kind: 'jump', target: B, linkedTo: 1, elided: false }],
  );
  const f1 = fragment(
    1,
    f0.tcEnd,
    [
      ident(B, '89f9', 'mov ecx, edi'),
      ident(B + 0x2, 'be02000000', 'mov esi, 0x2'),
      ident(B + 0x7, '39ce', 'cmp esi, ecx'),
      [
        B + 0x9,
        '7d0e',
        'jnl short 0x101169',
        'control-flow',
        [
          [
            '0f8dd9fc1f00',
            `jnl near 0x${STUB.toString(16)}  ; → 0x101169 (open, through its stub)`,
          ],
        ],
      ],
    ],
    [
      { kind: 'jump', target: PRIME, linkedTo: null, elided: false },
      { kind: 'fall-through', target: B + 0xb, linkedTo: null, elided: true },
    ],
  );
  const f2 = fragment(
    2,
    f1.tcEnd,
    [
      ident(B + 0xb, '89c8', 'mov eax, ecx'),
      ident(B + 0xd, '99', 'cdq'),
      ident(B + 0xe, 'f7fe', 'idiv esi'),
      ident(B + 0x10, '85d2', 'test edx, edx'),
      [
        B + 0x12,
        '740b',
        'jz short 0x10116f',
        'control-flow',
        [['0f840e000000', 'jz near 0xffc03040  ; → 0x10116f (fragment 4)']],
      ],
    ],
    [
      { kind: 'jump', target: NOT_PRIME, linkedTo: 4, elided: false },
      { kind: 'fall-through', target: B + 0x14, linkedTo: null, elided: true },
    ],
  );
  const f3 = fragment(
    3,
    f2.tcEnd,
    [
      ident(B + 0x14, '46', 'inc esi'),
      ident(B + 0x15, '39ce', 'cmp esi, ecx'),
      [
        B + 0x17,
        '7cf2',
        'jl short 0x10115b',
        'control-flow',
        [['0f8ceaffffff', 'jl near 0xffc03025  ; → 0x10115b (fragment 2)']],
      ],
    ],
    [
      { kind: 'jump', target: B + 0xb, linkedTo: 2, elided: false },
      { kind: 'fall-through', target: PRIME, linkedTo: null, elided: false },
    ],
    5, // the open fall-through's exit
  );
  const f4 = fragment(
    4,
    f3.tcEnd,
    [
      ident(NOT_PRIME, '31c0', 'xor eax, eax'),
      [NOT_PRIME + 2, 'c3', 'ret', 'callout', [['cdf7', 'int 0xf7  ; callout: lookup:ret']]],
    ],
    [],
  );
  const f5 = fragment(
    5,
    f4.tcEnd,
    [
      ident(0x00101147, 'a300801100', 'mov [0x118000], eax'),
      [0x0010114c, 'cf', 'iretd', 'callout', [['cdf7', 'int 0xf7  ; callout: emulate']]],
    ],
    [],
  );
  return TranslationCacheDumpSchema.parse({
    dumpVersion: DUMP_VERSION,
    windowBase: 0xffc00000,
    cacheBytes: 2_084_864,
    usedBytes: f5.tcEnd - TC + 2,
    flushes: 0,
    fragments: [f0, f1, f2, f3, f4, f5],
    events: [
      { kind: 'translate', fragment: 0 },
      { kind: 'translate', fragment: 1 },
      { kind: 'chain', from: 0, exit: 0, to: 1 },
      { kind: 'translate', fragment: 2 },
      { kind: 'elide', from: 1, to: 2 },
      { kind: 'translate', fragment: 3 },
      { kind: 'chain', from: 3, exit: 0, to: 2 },
      { kind: 'elide', from: 2, to: 3 },
      { kind: 'translate', fragment: 4 },
      { kind: 'chain', from: 2, exit: 0, to: 4 },
      { kind: 'translate', fragment: 5 },
    ],
    eventsDropped: 0,
  });
}
