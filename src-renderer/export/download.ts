// Handing a file to the user from the renderer: an <a download> click on a blob or data URL.
// In a browser that is a download; in Electron it opens the native "save as" of the download
// manager, which is good enough until the main process offers its own save dialog.

import { type ExportedFile } from '../../shared/api';

/** Download `url` as `fileName`. */
export function downloadUrl(fileName: string, url: string): void {
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
  }
}

/** Download an exported file (text with its MIME type) under its name. */
export function downloadFile(file: ExportedFile): void {
  const blob = new Blob([file.text], { type: `${file.mimeType};charset=utf-8` });
  const url = URL.createObjectURL(blob);
  downloadUrl(file.fileName, url);
  // the click has started the download by now; give slow disks a moment anyway
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** `2026-11-23T10-15-00-123Z-ab12cd` + `traps-by-cause` → a safe image file name. */
export function chartFileName(experimentId: string, chartId: string, ext: 'png' | 'svg'): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '_');
  return `${safe(experimentId)}-${safe(chartId)}.${ext}`;
}
