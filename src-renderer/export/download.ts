// Handing a file to the user in a browser (the web preview): an <a download> click on a blob
// or data URL. The app saves through the main process's native dialog instead (actions.ts).

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
