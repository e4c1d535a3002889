// The experiment history on disk: `<dataDir>/experiments/<id>.json`, one HistoryFile per
// experiment. It owns reading (every file migrated to the current results format, then checked
// against HistoryFileSchema), writing (atomic: a temporary file in the same folder, then
// rename, so a crash or a full disk never leaves a half-written experiment where a complete one
// is expected), and deleting one file. A file of an older format is migrated in memory each
// time it is read and never rewritten: the user's files are not changed behind their back (an
// older app may still read them). A file it cannot read is reported, never repaired,
// overwritten or deleted: it may be a newer app's format or the only copy of someone's results.
//
// Beside an experiment with a binary-translation run lies `<id>.tc.json`: that run's
// translation-cache dump (shared/translation-cache-dump.ts, the same JSON `experiment
// --tc-dump` writes), for the app's translation-cache viewer. It is kept, not recomputed on
// demand by running the experiment again, because a re-run cannot always give it back: a
// kernel-file experiment keeps only the file's hash, not its bytes; a later engine (a changed
// translator, a changed guest kernel) would translate differently from the run whose numbers
// the experiment shows; and a long run would keep a worker busy for minutes to show a page.
// The dump is written with the same atomic rename, read and checked on its own (loading or
// listing the experiment never reads it, so a missing or corrupt dump breaks nothing but the
// viewer, which says why), and deleted with its experiment. `*.tc.json` files are never
// experiments, so no experiment id ends in `.tc`.

import { open, readdir, readFile, rename, rm, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import {
  describeSchemaError,
  type ExperimentSpec,
  type HistoryFile,
  HistoryFileSchema,
  parseVersionedJson,
  type RunResult,
} from '../../shared/results';
import {
  DUMP_VERSION,
  type TranslationCacheDump,
  TranslationCacheDumpSchema,
} from '../../shared/translation-cache-dump';

/** One run of a history entry, as a list shows it (and the ETA looks it up). */
export interface HistoryRunSummary {
  readonly technique: string;
  readonly status: RunResult['status'];
  readonly equivalent: boolean | null;
  readonly kernelSha256: string;
  readonly cmdline: string;
  readonly instructions: number;
  readonly cycles: number;
  readonly wallMs: number;
}

/** One experiment of the history, without its bulky parts (time series, events, output). */
export interface HistorySummary {
  readonly id: string;
  readonly createdAt: string;
  readonly spec: ExperimentSpec;
  readonly runs: readonly HistoryRunSummary[];
}

export interface HistoryProblem {
  /** the file name inside the history folder */
  readonly file: string;
  readonly error: string;
}

export interface HistoryListing {
  /** newest first */
  readonly entries: HistorySummary[];
  readonly problems: HistoryProblem[];
}

/** Ids are file names: letters, digits, `.`, `_`, `-`, not starting with a dot (and not
 *  ending in `.tc`: `<id>.tc.json` is an experiment's translation-cache dump). */
const ID_PATTERN = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const DUMP_SUFFIX = '.tc.json';

/** The experiment has no translation-cache dump in the history (not: it has a bad one). */
export class MissingDumpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MissingDumpError';
  }
}

/** Distinguishes temporary files of concurrent saves within one process. */
let tmpCounter = 0;

export class HistoryStore {
  /** `<dataDir>/experiments` */
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'experiments');
  }

  async list(): Promise<HistoryListing> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (e) {
      if (isNotFound(e)) return { entries: [], problems: [] };
      throw e;
    }
    // `<id>.json` only: temporary files (`<id>.json.tmp-…`) of a save in progress or of a
    // crashed one are not experiments, and neither are translation-cache dumps
    const files = names.filter((n) => n.endsWith('.json') && !n.endsWith(DUMP_SUFFIX)).sort();
    const read = await Promise.all(
      files.map(async (file) => {
        try {
          return { file, history: await this.read(file) };
        } catch (e) {
          return { file, error: (e as Error).message };
        }
      }),
    );
    const entries: HistorySummary[] = [];
    const problems: HistoryProblem[] = [];
    for (const r of read) {
      if (r.history) entries.push(summarize(r.history));
      else problems.push({ file: r.file, error: r.error ?? 'unreadable' });
    }
    entries.sort((a, b) =>
      a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
    );
    return { entries, problems };
  }

  /** The experiment `id`; throws an Error naming the file and the problem. */
  async load(id: string): Promise<HistoryFile> {
    const file = fileName(id);
    try {
      return await this.read(file);
    } catch (e) {
      if (isNotFound(e)) throw new Error(`no experiment '${id}' in the history (${this.dir})`);
      throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /** Remove the experiment `id`'s file and its translation-cache dump, and nothing else. */
  async delete(id: string): Promise<void> {
    try {
      await unlink(path.join(this.dir, fileName(id)));
    } catch (e) {
      if (isNotFound(e)) throw new Error(`no experiment '${id}' in the history (${this.dir})`);
      throw e;
    }
    await rm(path.join(this.dir, dumpFileName(id)), { force: true });
  }

  /** Write `history` as `<id>.json`, atomically. */
  async save(history: HistoryFile): Promise<void> {
    const checked = HistoryFileSchema.safeParse(history);
    if (!checked.success) {
      // only an engine or service bug gets here; refuse rather than store what cannot be read
      throw new Error(
        `refusing to save experiment ${history.id}: ${describeSchemaError(checked.error)}`,
      );
    }
    await this.write(fileName(history.id), history);
  }

  /** Write the translation-cache dump of experiment `id`'s binary-translation run as
   *  `<id>.tc.json`, atomically. */
  async saveTranslationCache(id: string, dump: TranslationCacheDump): Promise<void> {
    const checked = TranslationCacheDumpSchema.safeParse(dump);
    if (!checked.success) {
      throw new Error(
        `refusing to save the translation-cache dump of experiment ${id}: ${describeSchemaError(checked.error)}`,
      );
    }
    await this.write(dumpFileName(id), checked.data);
  }

  /**
   * The translation-cache dump of experiment `id`. Throws MissingDumpError when there is none,
   * and an Error naming the file and the problem when it cannot be read (not JSON, a newer
   * dump format, the first bad fields).
   */
  async loadTranslationCache(id: string): Promise<TranslationCacheDump> {
    const file = dumpFileName(id);
    let text: string;
    try {
      text = await readFile(path.join(this.dir, file), 'utf8');
    } catch (e) {
      if (isNotFound(e)) {
        throw new MissingDumpError(
          `experiment '${id}' has no translation-cache dump in the history (${this.dir})`,
        );
      }
      throw new Error(`${file}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return parseDump(text);
    } catch (e) {
      throw new Error(`${file} is not a readable translation-cache dump: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** `value` as JSON in `<dir>/<file>`, atomically: a temporary file, then rename. */
  private async write(file: string, value: unknown): Promise<void> {
    const target = path.join(this.dir, file);
    await mkdir(this.dir, { recursive: true });
    // same folder as the target, so rename() is an atomic replace on the same file system
    const tmp = `${target}.tmp-${process.pid}-${++tmpCounter}`;
    try {
      const handle = await open(tmp, 'wx');
      try {
        await handle.writeFile(`${JSON.stringify(value, null, 1)}\n`);
        // on disk before the rename makes it visible: a power cut must not leave an empty file
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, target);
    } catch (e) {
      await rm(tmp, { force: true });
      throw e;
    }
  }

  private async read(file: string): Promise<HistoryFile> {
    const text = await readFile(path.join(this.dir, file), 'utf8');
    const history = parseHistoryFile(text);
    if (`${history.id}.json` !== file) {
      throw new Error(`id '${history.id}' does not match the file name`);
    }
    return history;
  }
}

/** Parse a history file's text of any results format this app reads, as the current format
 *  (in memory only); throws an Error naming the problem (the version, the first field paths). */
export function parseHistoryFile(text: string): HistoryFile {
  return parseVersionedJson(text, HistoryFileSchema);
}

/** Parse a translation-cache dump's text; throws an Error naming the problem (not JSON, a
 *  dump format this app does not know, the first bad fields). */
export function parseDump(text: string): TranslationCacheDump {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`not JSON: ${(e as Error).message}`);
  }
  const version = (json as { dumpVersion?: unknown } | null)?.dumpVersion;
  if (typeof version === 'number' && version !== DUMP_VERSION) {
    throw new Error(
      `dump format ${version}, this app reads format ${DUMP_VERSION}${version > DUMP_VERSION ? ' (written by a newer app)' : ''}`,
    );
  }
  const parsed = TranslationCacheDumpSchema.safeParse(json);
  if (!parsed.success) throw new Error(describeSchemaError(parsed.error));
  return parsed.data;
}

/** Whether `id` can name a history file. */
export function isHistoryId(id: string): boolean {
  return ID_PATTERN.test(id) && !id.endsWith('.tc');
}

function fileName(id: string): string {
  if (!isHistoryId(id)) throw new Error(`'${id}' is not an experiment id`);
  return `${id}.json`;
}

function dumpFileName(id: string): string {
  if (!isHistoryId(id)) throw new Error(`'${id}' is not an experiment id`);
  return `${id}${DUMP_SUFFIX}`;
}

function summarize(h: HistoryFile): HistorySummary {
  return {
    id: h.id,
    createdAt: h.createdAt,
    spec: h.spec,
    runs: h.runs.map((r) => ({
      technique: r.technique,
      status: r.status,
      equivalent: r.equivalent,
      kernelSha256: r.kernel.sha256,
      cmdline: r.cmdline,
      instructions: r.guestInstructions.total,
      cycles: r.cycles.total,
      wallMs: r.host.wallMs,
    })),
  };
}

function isNotFound(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
