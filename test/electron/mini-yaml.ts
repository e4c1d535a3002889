// Test helper: a reader for the small subset of YAML that electron-builder.yml uses — block
// mappings and sequences by indentation (a sequence of mappings too), `# comments`, flow
// sequences of scalars (`[a, b]`), quoted and plain scalars (booleans, null and numbers read as
// such). Anything outside that subset (anchors, aliases, tags, block scalars, flow mappings,
// tabs, duplicate keys) is an error, never a silent misreading. The project has no YAML parser
// among its own dependencies (js-yaml is only installed transitively, for electron-builder and
// eslint), so the builder-config test brings this one.

export type YamlValue =
  string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };

interface Line {
  readonly no: number;
  readonly indent: number;
  readonly text: string;
}

export class YamlSubsetError extends Error {}

function fail(line: Line | undefined, message: string): never {
  throw new YamlSubsetError(line ? `line ${line.no}: ${message}` : message);
}

/** The line without its comment (a `#` at the start or after a space, outside quotes). */
function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) {
        if (quote === "'" && text[i + 1] === "'") i++;
        else quote = null;
      } else if (c === '\\' && quote === '"') i++;
    } else if (c === "'" || c === '"') {
      quote = c;
    } else if (c === '#' && (i === 0 || text[i - 1] === ' ')) {
      return text.slice(0, i).trimEnd();
    }
  }
  return text.trimEnd();
}

function lines(source: string): Line[] {
  const out: Line[] = [];
  source.split(/\r?\n/).forEach((raw, i) => {
    if (/^\s*\t/.test(raw)) fail({ no: i + 1, indent: 0, text: raw }, 'tab indentation');
    const text = stripComment(raw);
    if (text.trim() === '') return;
    if (text.trim() === '---' || text.trim() === '...')
      fail({ no: i + 1, indent: 0, text }, 'document markers');
    out.push({ no: i + 1, indent: text.length - text.trimStart().length, text: text.trim() });
  });
  return out;
}

function scalar(text: string, line: Line): YamlValue {
  if (text.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(text)) fail(line, `bad single-quoted string ${text}`);
    return text.slice(1, -1).replace(/''/g, "'");
  }
  if (text.startsWith('"')) {
    try {
      return JSON.parse(text) as string;
    } catch {
      return fail(line, `bad double-quoted string ${text}`);
    }
  }
  if (text.startsWith('[')) {
    if (!text.endsWith(']')) fail(line, `unterminated flow sequence ${text}`);
    const inner = text.slice(1, -1).trim();
    if (inner === '') return [];
    return inner.split(',').map((item) => {
      const t = item.trim();
      if (/^[[{]/.test(t)) fail(line, 'nested flow collections');
      return scalar(t, line);
    });
  }
  if (/^[&*!|>{%@`]/.test(text)) fail(line, `unsupported YAML: ${text}`);
  if (/: |:$/.test(text)) fail(line, `a plain scalar with ': ' in it: ${text}`);
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null' || text === '~') return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

const KEY =
  /^('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^\s'"#:[\]{},&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s+(.*))?$/;

class Reader {
  private i = 0;
  constructor(private readonly ls: Line[]) {}

  document(): YamlValue {
    if (this.ls.length === 0) return null;
    const value = this.node(this.ls[0]!.indent);
    if (this.i < this.ls.length) fail(this.ls[this.i], 'unexpected indentation');
    return value;
  }

  private node(indent: number): YamlValue {
    const line = this.ls[this.i]!;
    if (line.indent !== indent) fail(line, 'unexpected indentation');
    return line.text === '-' || line.text.startsWith('- ')
      ? this.sequence(indent)
      : this.mapping(indent);
  }

  private sequence(indent: number): YamlValue[] {
    const items: YamlValue[] = [];
    while (this.i < this.ls.length) {
      const line = this.ls[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) fail(line, 'unexpected indentation');
      if (!(line.text === '-' || line.text.startsWith('- '))) break;
      const rest = line.text.slice(1).trimStart();
      if (rest === '') {
        this.i++;
        const next = this.ls[this.i];
        items.push(next && next.indent > indent ? this.node(next.indent) : null);
      } else if (KEY.test(rest)) {
        // a mapping that starts on the dash's line: its keys line up after "- "
        const inner = indent + (line.text.length - rest.length);
        (this.ls as Line[])[this.i] = { no: line.no, indent: inner, text: rest };
        items.push(this.mapping(inner));
      } else {
        this.i++;
        items.push(scalar(rest, line));
      }
    }
    return items;
  }

  private mapping(indent: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = {};
    while (this.i < this.ls.length) {
      const line = this.ls[this.i]!;
      if (line.indent < indent) break;
      if (line.indent > indent) fail(line, 'unexpected indentation');
      if (line.text.startsWith('- ') || line.text === '-') break;
      const m = KEY.exec(line.text);
      if (!m) fail(line, `expected "key: value", got ${line.text}`);
      const key = String(scalar(m[1]!, line));
      if (Object.hasOwn(map, key)) fail(line, `duplicate key ${key}`);
      this.i++;
      if (m[2] !== undefined && m[2] !== '') {
        map[key] = scalar(m[2], line);
        continue;
      }
      const next = this.ls[this.i];
      if (next && next.indent > indent) map[key] = this.node(next.indent);
      else if (next && next.indent === indent && (next.text.startsWith('- ') || next.text === '-'))
        map[key] = this.sequence(indent);
      else map[key] = null;
    }
    return map;
  }
}

/** Read `source` (the subset described above). */
export function parseYamlSubset(source: string): YamlValue {
  return new Reader(lines(source)).document();
}
