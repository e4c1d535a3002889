// The workbench API: the one contract between the renderer and the main process. The Electron
// preload exposes it over IPC, the web preview over HTTP; both hand every request to the same
// backend (src-main/service/api-backend.ts), which validates it against the schemas below
// before it reaches the ExperimentService. Only plain data crosses: bytes travel as base64 or
// text, so the same messages work through structured clone and through JSON.

import { z } from 'zod';
import { type ExperimentSpec, type HistoryFile, type RunResult } from './results';
import { type TranslationCacheDump } from './translation-cache-dump';

/** Bumped on any incompatible change to the requests, responses or events below. */
export const API_VERSION = 1;

/** Kernel files a user may give: a multiboot image or NASM source, at most this big. */
export const MAX_KERNEL_FILE_BYTES = 16 * 1024 * 1024;
/** Experiment files a user may open (`.vmwb.json`). */
export const MAX_EXPERIMENT_FILE_CHARS = 64 * 1024 * 1024;

const id = z.string().regex(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/, 'an experiment id');

export const KernelUploadSchema = z.object({
  /** the file's name, for display and to tell source (`.asm`) from an image */
  name: z.string().min(1).max(255),
  /** its bytes, base64 */
  base64: z
    .string()
    .max(Math.ceil(MAX_KERNEL_FILE_BYTES / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64 text'),
});

/** json: the experiment file (`.vmwb.json`); csv: one row per run; html: the interactive report;
 *  printable-html: the same report with its charts drawn as images and no scripts, the page a
 *  PDF is printed from (by Electron's printToPDF, or the browser's own print dialog). */
export const ExportFormatSchema = z.enum(['json', 'csv', 'html', 'printable-html']);

/** A chart of an experiment as an image the main process draws (PNG is drawn by the renderer). */
export const ChartImageFormatSchema = z.enum(['svg']);

/** Every request, by method. `spec` is checked by the service, which names the bad field. */
export const ApiRequestSchema = z.discriminatedUnion('method', [
  z.object({ method: z.literal('catalog') }),
  z.object({
    method: z.literal('startExperiment'),
    spec: z.unknown(),
    kernelFile: KernelUploadSchema.optional(),
  }),
  z.object({ method: z.literal('prepareKernel'), file: KernelUploadSchema }),
  z.object({ method: z.literal('cancelExperiment'), id }),
  z.object({ method: z.literal('activeExperiments') }),
  z.object({ method: z.literal('listHistory') }),
  z.object({ method: z.literal('loadExperiment'), id }),
  /** the translation-cache dump of a saved experiment's binary-translation run (the
   *  translation-cache viewer), kept beside the experiment in the history */
  z.object({ method: z.literal('loadTranslationCache'), id }),
  /** the addresses of named labels of the bundled kernel's native build (`lecture_isprime`,
   *  `lecture_isprime.prime`…): the viewer's presets find a routine's range with it */
  z.object({
    method: z.literal('kernelSymbols'),
    names: z
      .array(z.string().regex(/^[A-Za-z_.?$][A-Za-z0-9_.?$@#~]{0,99}$/, 'a label name'))
      .min(1)
      .max(64),
  }),
  z.object({ method: z.literal('deleteExperiment'), id }),
  z.object({ method: z.literal('exportExperiment'), id, format: ExportFormatSchema }),
  z.object({
    method: z.literal('exportChart'),
    id,
    chartId: z.string().regex(/^[a-z0-9-]{1,100}$/, 'a chart id'),
    format: ChartImageFormatSchema,
    /** a chart comparing experiment `id` (A) with this one (B): shared/experiment-pair.ts */
    versus: id.optional(),
  }),
  z.object({
    method: z.literal('importExperiment'),
    fileName: z.string().min(1).max(255),
    text: z.string().max(MAX_EXPERIMENT_FILE_CHARS),
  }),
]);

export type ApiRequest = z.infer<typeof ApiRequestSchema>;
export type ApiMethod = ApiRequest['method'];
export type ExportFormat = z.infer<typeof ExportFormatSchema>;
export type ChartImageFormat = z.infer<typeof ChartImageFormatSchema>;
export type KernelUpload = z.infer<typeof KernelUploadSchema>;

export interface TechniqueEntry {
  readonly id: string;
  readonly name: string;
  readonly summary: string;
  readonly reference: string;
  /** false when the technique boots its own build of the bundled kernel (paravirt) */
  readonly runsKernelFiles: boolean;
}

export interface WorkloadEntry {
  readonly name: string;
  readonly description: string;
  readonly defaultN: number;
}

export interface Catalog {
  readonly apiVersion: number;
  /** the app's version (package.json) */
  readonly appVersion: string;
  /** the engine version every RunResult records */
  readonly engineVersion: string;
  /** the results format this app writes (saved files of older versions are migrated) */
  readonly schemaVersion: number;
  readonly techniques: readonly TechniqueEntry[];
  readonly workloads: readonly WorkloadEntry[];
  readonly profiles: readonly { readonly id: string; readonly name: string }[];
  readonly isaVariants: readonly string[];
  /** the bundled guest kernel's size in bytes (every workload runs it) */
  readonly guestKernelBytes: number;
}

/**
 * A kernel file checked and made runnable by the main process: NASM source assembled, the
 * multiboot header found. `base64` and `sha256` are of the image that runs (the upload to
 * give startExperiment, and the hash its spec names), whatever the user picked.
 */
export interface PreparedKernel {
  readonly name: string;
  readonly base64: string;
  readonly sha256: string;
  /** the image's size in bytes */
  readonly bytes: number;
  /** the picked file was NASM source, assembled into the image */
  readonly assembled: boolean;
  /** the picked file's size in bytes */
  readonly sourceBytes: number;
}

export type RunState = 'queued' | 'running' | 'finished';

/** Where one technique run of a running experiment stands. */
export interface RunProgressView {
  readonly experimentId: string;
  readonly technique: string;
  readonly state: RunState;
  readonly instructions: number;
  readonly traps: number;
  readonly cycles: number;
  readonly wallMs: number;
  readonly mips: number;
  /** estimated milliseconds left, null while unknown */
  readonly etaMs: number | null;
}

export interface ActiveExperiment {
  readonly id: string;
  readonly spec: ExperimentSpec;
  readonly runs: readonly RunProgressView[];
}

/** One experiment of the history without its bulky parts. */
export interface HistoryEntry {
  readonly id: string;
  readonly createdAt: string;
  readonly spec: ExperimentSpec;
  readonly runs: readonly {
    readonly technique: string;
    readonly status: RunResult['status'];
    readonly equivalent: boolean | null;
    readonly instructions: number;
    readonly cycles: number;
  }[];
}

export interface HistoryView {
  /** newest first */
  readonly entries: readonly HistoryEntry[];
  /** files in the history folder that could not be read, and why */
  readonly problems: readonly { readonly file: string; readonly error: string }[];
}

/** A file the user saves: the main process writes it (native dialog) or the browser downloads it. */
export interface ExportedFile {
  readonly fileName: string;
  readonly mimeType: string;
  readonly text: string;
}

/** What each method answers. */
export interface ApiResponses {
  catalog: Catalog;
  prepareKernel: PreparedKernel;
  startExperiment: ActiveExperiment;
  cancelExperiment: null;
  activeExperiments: readonly ActiveExperiment[];
  listHistory: HistoryView;
  loadExperiment: HistoryFile;
  loadTranslationCache: TranslationCacheDump;
  /** label name → guest address, for every name asked */
  kernelSymbols: Readonly<Record<string, number>>;
  deleteExperiment: null;
  exportExperiment: ExportedFile;
  exportChart: ExportedFile;
  importExperiment: HistoryFile;
}

/** Pushed to every client: progress of running experiments and how they ended. */
export type ApiEvent =
  | { readonly type: 'progress'; readonly progress: RunProgressView }
  | { readonly type: 'finished'; readonly experimentId: string }
  | { readonly type: 'failed'; readonly experimentId: string; readonly error: string };

/** The answer on the wire: a value, or an error a person can act on. */
export type ApiResult<M extends ApiMethod> =
  | { readonly ok: true; readonly value: ApiResponses[M] }
  | { readonly ok: false; readonly error: string };

/** The typed API the renderer uses (window.vmmWorkbench in the app, HTTP in the preview). */
export interface WorkbenchApi {
  call<M extends ApiMethod>(request: Extract<ApiRequest, { method: M }>): Promise<ApiResponses[M]>;
  /** Subscribe to events; returns the unsubscribe function. */
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/** The request's problem in one sentence, naming the field. */
export function describeRequestError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid request';
  const where = issue.path.length > 0 ? issue.path.join('.') : 'request';
  return `invalid request: ${where}: ${issue.message}`;
}

/**
 * What the Electron preload exposes as `window.vmmWorkbench` (and what the web preview's HTTP
 * client implements): requests in, results out, events pushed. The renderer wraps it into a
 * WorkbenchApi. In the web preview the same requests go to `POST /api` (JSON body: the
 * request; answer: the ApiResult) and the events come from `GET /api/events` (server-sent
 * events, one ApiEvent as JSON per `data:` line).
 */
export interface WorkbenchBridge {
  invoke(request: ApiRequest): Promise<ApiResult<ApiMethod>>;
  onEvent(listener: (event: ApiEvent) => void): () => void;
}

/** The IPC channels the preload and the main process use. */
export const IPC_INVOKE_CHANNEL = 'vmm-workbench:invoke';
export const IPC_EVENT_CHANNEL = 'vmm-workbench:event';
/** Menu commands the main process sends the renderer (`export`, `open`, `new`…). */
export const IPC_MENU_CHANNEL = 'vmm-workbench:menu';
export type MenuCommand = 'new' | 'open' | 'save' | 'export-report' | 'glossary' | 'about';
