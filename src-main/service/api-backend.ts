// The backend of the workbench API (shared/api.ts): the one place a request from the renderer
// is validated and turned into ExperimentService calls, whichever transport brought it — the
// Electron IPC or the web preview's HTTP. A malformed request is answered with an error naming
// the field and never reaches the service; a failing call is answered with its message and
// never takes the process down. Progress of every running experiment is pushed to subscribers.

import {
  type ActiveExperiment,
  type ApiEvent,
  type ApiMethod,
  type ApiRequest,
  ApiRequestSchema,
  type ApiResponses,
  type ApiResult,
  API_VERSION,
  type Catalog,
  describeRequestError,
  type ExportedFile,
  type ExportFormat,
  type HistoryView,
  type KernelUpload,
  type PreparedKernel,
} from '../../shared/api';
import { buildCharts, chartFileName } from '../../shared/charts';
import { compareExperiments } from '../../shared/experiment-pair';
import { type HistoryFile, SCHEMA_VERSION } from '../../shared/results';
import { type TranslationCacheDump } from '../../shared/translation-cache-dump';
import { WORKLOADS } from '../engine/guest/workloads';
import { ISA_VARIANTS } from '../engine/isa/types';
import { decodeBytes } from '../engine/machine/bus';
import { listProfiles } from '../engine/metrics/profiles';
import { listTechniques } from '../engine/vmm';
import { sha256Hex } from '../engine/metrics/sha256';
import { ENGINE_VERSION } from '../engine/version';
import { APP_VERSION } from '../host/app-version';
import { guestKernelImage, guestKernelSymbols } from '../host/guest-kernel';
import { chartSvg, printableReportHtml, reportHtml, resultsCsv, resultsJson } from '../report';
import {
  type ExperimentHandle,
  type ExperimentService,
  MissingDumpError,
  TRANSLATION_CACHE_TECHNIQUE,
} from './experiment-service';

const MIME: Record<ExportFormat, string> = {
  json: 'application/json',
  csv: 'text/csv',
  html: 'text/html',
  'printable-html': 'text/html',
};

export class WorkbenchBackend {
  private readonly running = new Map<string, ExperimentHandle>();
  private readonly listeners = new Set<(event: ApiEvent) => void>();

  constructor(private readonly service: ExperimentService) {}

  /** Validate and answer one request; never throws. */
  async handle(request: unknown): Promise<ApiResult<ApiMethod>> {
    const parsed = ApiRequestSchema.safeParse(request);
    if (!parsed.success) return { ok: false, error: describeRequestError(parsed.error) };
    try {
      return { ok: true, value: await this.dispatch(parsed.data) };
    } catch (e) {
      return { ok: false, error: e instanceof Error ? e.message : String(e) };
    }
  }

  /** Events of every running experiment; returns the unsubscribe function. */
  subscribe(listener: (event: ApiEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Cancel what runs and close the service. */
  async close(): Promise<void> {
    this.listeners.clear();
    await this.service.close();
  }

  private emit(event: ApiEvent): void {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // a subscriber's failure (a closed window, a dropped connection) is its own
      }
    }
  }

  private async dispatch(r: ApiRequest): Promise<ApiResponses[ApiMethod]> {
    switch (r.method) {
      case 'catalog':
        return this.catalog();
      case 'prepareKernel':
        return this.prepareKernel(r.file);
      case 'startExperiment':
        return this.start(r.spec, r.kernelFile);
      case 'cancelExperiment': {
        const h = this.running.get(r.id);
        if (!h) throw new Error(`no running experiment '${r.id}'`);
        h.cancel();
        return null;
      }
      case 'activeExperiments':
        return [...this.running.values()].map(active);
      case 'listHistory':
        return this.history();
      case 'loadExperiment':
        return this.service.load(r.id);
      case 'loadTranslationCache':
        return this.translationCache(r.id);
      case 'kernelSymbols':
        return kernelSymbols(r.names);
      case 'deleteExperiment':
        if (this.running.has(r.id)) throw new Error(`experiment '${r.id}' is still running`);
        await this.service.delete(r.id);
        return null;
      case 'exportExperiment':
        return exportFile(await this.service.load(r.id), r.format);
      case 'exportChart':
        return exportChart(
          await this.service.load(r.id),
          r.chartId,
          r.versus === undefined ? undefined : await this.service.load(r.versus),
        );
      case 'importExperiment':
        try {
          return await this.service.import(r.text);
        } catch (e) {
          throw new Error(
            `${r.fileName} is not a VMM Workbench experiment: ${(e as Error).message}`,
          );
        }
    }
  }

  private catalog(): Catalog {
    return {
      apiVersion: API_VERSION,
      appVersion: APP_VERSION,
      engineVersion: ENGINE_VERSION,
      schemaVersion: SCHEMA_VERSION,
      techniques: listTechniques().map(({ id, name, summary, reference, kernelBuild }) => ({
        id,
        name,
        summary,
        reference,
        runsKernelFiles: kernelBuild === 'native',
      })),
      workloads: WORKLOADS.map(({ name, description, defaultN }) => ({
        name,
        description,
        defaultN,
      })),
      profiles: listProfiles(),
      isaVariants: [...ISA_VARIANTS],
      guestKernelBytes: guestKernelImage('native').length,
    };
  }

  /** A kernel file the user picked, checked and made runnable (src-main/host/kernel-file.ts). */
  private async prepareKernel(upload: KernelUpload): Promise<PreparedKernel> {
    const source = decodeBytes(upload.base64);
    if (!source) throw new Error(`file.base64: ${upload.name} is not valid base64`);
    const { image, assembled } = await this.service.prepareKernel(upload.name, source);
    return {
      name: upload.name,
      base64: Buffer.from(image).toString('base64'),
      sha256: sha256Hex(image),
      bytes: image.length,
      assembled,
      sourceBytes: source.length,
    };
  }

  private start(spec: unknown, upload?: { name: string; base64: string }): ActiveExperiment {
    let kernelFile;
    if (upload) {
      const bytes = decodeBytes(upload.base64);
      if (!bytes) throw new Error(`kernelFile.base64: ${upload.name} is not valid base64`);
      kernelFile = { name: upload.name, bytes };
    }
    const handle = this.service.start(spec, kernelFile);
    this.running.set(handle.id, handle);
    handle.onProgress((progress) => this.emit({ type: 'progress', progress }));
    handle.done.then(
      () => {
        this.running.delete(handle.id);
        this.emit({ type: 'finished', experimentId: handle.id });
      },
      (e: unknown) => {
        this.running.delete(handle.id);
        this.emit({
          type: 'failed',
          experimentId: handle.id,
          error: e instanceof Error ? e.message : String(e),
        });
      },
    );
    return active(handle);
  }

  /**
   * The translation-cache dump kept beside experiment `id` (history-store.ts says why it is
   * kept rather than recomputed). When there is none, the error says why, from the experiment:
   * it has no binary-translation run, that run failed before its end, or it was saved without
   * one (opened from a file, or by an earlier version).
   */
  private async translationCache(id: string): Promise<TranslationCacheDump> {
    try {
      return await this.service.loadTranslationCache(id);
    } catch (e) {
      if (!(e instanceof MissingDumpError)) throw e;
    }
    const file = await this.service.load(id);
    const run = file.runs.find((r) => r.technique === TRANSLATION_CACHE_TECHNIQUE);
    if (!run) {
      throw new Error(
        `experiment '${id}' has no ${TRANSLATION_CACHE_TECHNIQUE} run: only a binary translator has a translation cache`,
      );
    }
    if (run.status === 'failed') {
      throw new Error(
        `the ${TRANSLATION_CACHE_TECHNIQUE} run of experiment '${id}' failed before it could keep its translation cache: ${run.end.detail}`,
      );
    }
    throw new Error(
      `experiment '${id}' kept no translation-cache dump of its ${TRANSLATION_CACHE_TECHNIQUE} run: it was opened from a file or saved by an earlier version (run it again from the History to get one)`,
    );
  }

  private async history(): Promise<HistoryView> {
    const listing = await this.service.listHistory();
    return {
      entries: listing.entries.map((e) => ({
        id: e.id,
        createdAt: e.createdAt,
        spec: e.spec,
        runs: e.runs.map((r) => ({
          technique: r.technique,
          status: r.status,
          equivalent: r.equivalent,
          instructions: r.instructions,
          cycles: r.cycles,
        })),
      })),
      problems: listing.problems,
    };
  }
}

/** The addresses of `names` in the bundled kernel's native build; an unknown name is refused,
 *  naming it and the labels that look like it. */
export function kernelSymbols(names: readonly string[]): Record<string, number> {
  const symbols = guestKernelSymbols('native');
  const out: Record<string, number> = {};
  for (const name of names) {
    const address = symbols.get(name);
    if (address === undefined) {
      const stem = name.split('.')[0]!.toLowerCase();
      const near = [...symbols.keys()].filter((k) => k.toLowerCase().startsWith(stem)).slice(0, 8);
      throw new Error(
        `the bundled kernel has no label '${name}'${near.length > 0 ? ` (labels like it: ${near.join(', ')})` : ''}`,
      );
    }
    out[name] = address;
  }
  return out;
}

function active(h: ExperimentHandle): ActiveExperiment {
  return { id: h.id, spec: h.spec, runs: h.snapshot() };
}

/** A saved experiment as a file to hand to the user. */
export function exportFile(file: HistoryFile, format: ExportFormat): ExportedFile {
  const results = { schemaVersion: file.schemaVersion, spec: file.spec, runs: file.runs };
  const build: Record<ExportFormat, () => string> = {
    json: () => resultsJson(results),
    csv: () => resultsCsv(results),
    html: () => reportHtml(results),
    'printable-html': () => printableReportHtml(results),
  };
  const fileName =
    format === 'json'
      ? `${file.id}.vmwb.json`
      : format === 'printable-html'
        ? `${file.id}-printable.html`
        : `${file.id}.${format}`;
  return { fileName, mimeType: MIME[format], text: build[format]() };
}

/**
 * One chart of a saved experiment as an SVG image (the same drawing as the report's), or with
 * `versus`, one of the charts comparing the two (A = `file`, B = `versus`).
 */
export function exportChart(
  file: HistoryFile,
  chartId: string,
  versus?: HistoryFile,
): ExportedFile {
  const charts = versus ? compareExperiments(file, versus).charts : buildCharts(file);
  const what = versus
    ? `the comparison of '${file.id}' with '${versus.id}'`
    : `experiment '${file.id}'`;
  const chart = charts.find((c) => c.id === chartId);
  if (!chart) {
    throw new Error(
      `${what} has no chart '${chartId}' (its charts: ${charts.map((c) => c.id).join(', ')})`,
    );
  }
  return {
    fileName: chartFileName(file.id, chart.id, 'svg', versus?.id),
    mimeType: 'image/svg+xml',
    text: chartSvg(chart),
  };
}
