import fs from 'node:fs';

/**
 * Writes lines into a FIFO from this process, in writes of at most 4096
 * bytes of whole lines (atomic), waiting while the pipe is full.
 */
export async function writeLines(pipe: string, lines: Iterable<string>): Promise<void> {
  const fd = fs.openSync(pipe, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
  try {
    let chunk = '';
    const flush = async (): Promise<void> => {
      const bytes = Buffer.from(chunk);
      chunk = '';
      for (;;) {
        try {
          fs.writeSync(fd, bytes);
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
          await new Promise((r) => setTimeout(r, 1));
        }
      }
    };
    for (const line of lines) {
      if (chunk.length + line.length + 1 > 4096) await flush();
      chunk += `${line}\n`;
    }
    if (chunk) await flush();
  } finally {
    fs.closeSync(fd);
  }
}

export function* numberedLines(sender: string, to: string, count: number, pad = 0): Generator<string> {
  const padding = pad > 0 ? 'x'.repeat(pad) : '';
  for (let i = 1; i <= count; i++) yield JSON.stringify({ from: sender, to, body: { s: sender, i, ...(pad ? { pad: padding } : {}) } });
}
