/**
 * Splits a byte stream into lines. Partial reads are normal on a pipe, so a
 * line may arrive in many chunks; a line longer than `maxBytes` is reported
 * once and skipped up to the next newline, where the stream resynchronises.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Bytes of an oversized line skipped so far (0 when not skipping). */
  private skipped = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: (line: Buffer) => void,
    private readonly onOversize: (head: Buffer, bytesSoFar: number) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    while (start < chunk.length) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl < 0) {
        this.keep(chunk.subarray(start));
        return;
      }
      this.finish(chunk.subarray(start, nl));
      start = nl + 1;
    }
  }

  /** The bytes of the line not yet complete (left in place). */
  peekPartial(): Buffer {
    return Buffer.concat(this.parts, this.partBytes);
  }

  /** Bytes held for a line whose newline has not come yet. */
  get pendingBytes(): number {
    return this.partBytes;
  }

  private keep(piece: Buffer): void {
    if (this.skipped > 0) {
      this.skipped += piece.length;
      return;
    }
    if (this.partBytes + piece.length > this.maxBytes) {
      this.startSkipping(piece);
      return;
    }
    this.parts.push(piece);
    this.partBytes += piece.length;
  }

  private finish(piece: Buffer): void {
    if (this.skipped > 0) {
      this.skipped = 0; // resynchronised at this newline
      return;
    }
    if (this.partBytes + piece.length > this.maxBytes) {
      this.startSkipping(piece);
      this.skipped = 0;
      return;
    }
    if (this.parts.length === 0) {
      this.onLine(piece);
      return;
    }
    this.parts.push(piece);
    const line = Buffer.concat(this.parts, this.partBytes + piece.length);
    this.parts = [];
    this.partBytes = 0;
    this.onLine(line);
  }

  private startSkipping(piece: Buffer): void {
    const head = Buffer.concat([...this.parts, piece]).subarray(0, 256);
    const total = this.partBytes + piece.length;
    this.parts = [];
    this.partBytes = 0;
    this.skipped = total;
    this.onOversize(Buffer.from(head), total);
  }
}
