// Where a CLI command writes: stdout (for a command's product, e.g. a guest's serial output)
// and stderr (diagnostics). Commands take this instead of `process` so tests can capture both.

export interface CommandIo {
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  /** stderr is a terminal: progress may redraw in place (else plain lines) */
  readonly stderrIsTTY?: boolean;
}

export const processIo: CommandIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  get stderrIsTTY() {
    return process.stderr.isTTY === true;
  },
};
