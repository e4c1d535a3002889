// Copying text: the async clipboard API where the page may use it (Electron, https, localhost).
export async function copyText(text: string): Promise<boolean> {
  try {
    if (typeof navigator !== 'undefined' && navigator.clipboard) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // denied (no user gesture, insecure origin): the caller says how to copy by hand
  }
  return false;
}
