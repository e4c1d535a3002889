// Assembler diagnostics: every error the assembler or its preprocessor reports names the file,
// line and column it is about, in the `file:line:col: error: message` form editors understand.

export interface SourceLocation {
  readonly file: string;
  /** 1-based line in `file` */
  readonly line: number;
  /** 1-based column; 0 when the whole line is meant */
  readonly column: number;
}

export class AsmError extends Error {
  constructor(
    message: string,
    readonly location: SourceLocation,
  ) {
    super(message);
    this.name = 'AsmError';
  }

  /** `file:line:col: error: message` */
  format(): string {
    const { file, line, column } = this.location;
    return `${file}:${line}${column > 0 ? `:${column}` : ''}: error: ${this.message}`;
  }
}
