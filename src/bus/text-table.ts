import { displayWidth, fit, fitRight, truncate } from './text-cells.js';

/**
 * The one table renderer of bmad-bus: `status`, `agents list`, `task list`,
 * `checkpoints`, `knowledge`, `profiles`, the panes of `status` and the agents of
 * `monitor` all measure and cut their columns here, by display width (a CJK
 * name or an emoji takes two columns, a combining mark none), so their
 * columns line up whatever the text. It lives in bus/ so that every layer
 * can use it.
 */

export interface TableColumn {
  header: string;
  /** Numbers read better right-aligned. Default left. */
  align?: 'left' | 'right';
  /** The column never grows wider than this; a longer cell is cut, ending in `…`. */
  maxWidth?: number;
  /** Exactly this wide, whatever its cells; 0 hides the column. */
  width?: number;
}

/** A header alone is a left-aligned column as wide as its widest cell. */
export type ColumnSpec = TableColumn | string;

/** One cell as laid out: its text cut or padded to the column's width, and which column it is. */
export interface LaidCell {
  column: number;
  text: string;
}

export interface TableOptions {
  /** Spaces between two columns. Default 2. */
  gap?: number;
  /**
   * Columns a line may take: the last column gets what the others leave (at
   * least `minLastWidth`) and is cut to it. Unset, the last column keeps its
   * text whole.
   */
  width?: number;
  /** Default 10: a last column narrower than that says nothing. */
  minLastWidth?: number;
  /** Wraps a laid-out cell, padding included (colour); `row` is -1 for the header. */
  paint?: (text: string, cell: { row: number; column: number; value: string }) => string;
}

function normalizeColumns(columns: readonly ColumnSpec[]): TableColumn[] {
  return columns.map((c) => (typeof c === 'string' ? { header: c } : c));
}

/** Each column's width: its fixed `width`, else its widest cell or header, at most `maxWidth`. */
export function columnWidths(columns: readonly ColumnSpec[], rows: readonly (readonly string[])[]): number[] {
  return normalizeColumns(columns).map((col, i) => {
    if (col.width !== undefined) return Math.max(0, col.width);
    const widest = Math.max(displayWidth(col.header), ...rows.map((r) => displayWidth(r[i] ?? '')));
    return col.maxWidth !== undefined ? Math.min(col.maxWidth, widest) : widest;
  });
}

/**
 * A row's cells cut and padded to `widths`, hidden (0-wide) columns left out.
 * `padLast: false` leaves the last visible cell unpadded (it is only cut), so
 * a text line does not end in spaces.
 */
export function layRow(columns: readonly ColumnSpec[], widths: readonly number[], values: readonly string[], padLast = true): LaidCell[] {
  const cols = normalizeColumns(columns);
  const visible = cols.map((_, i) => i).filter((i) => widths[i]! > 0);
  return visible.map((i, n) => {
    const value = values[i] ?? '';
    const width = widths[i]!;
    const last = n === visible.length - 1;
    if (last && !padLast && cols[i]!.align !== 'right') return { column: i, text: truncate(value, width) };
    return { column: i, text: cols[i]!.align === 'right' ? fitRight(value, width) : fit(value, width) };
  });
}

/**
 * A plain text table: a header line, then a line per row, columns `gap`
 * spaces apart.
 *
 * @example
 * renderTable(['NAME', { header: 'UNDELIVERED', align: 'right' }], [['dev-1', '3']]).join('\n');
 */
export function renderTable(columns: readonly ColumnSpec[], rows: readonly (readonly string[])[], options: TableOptions = {}): string[] {
  const gap = options.gap ?? 2;
  const widths = columnWidths(columns, rows);
  const last = widths.findLastIndex((w) => w > 0);
  if (options.width !== undefined && last >= 0) {
    const others = widths.reduce((sum, w, i) => (i === last || w <= 0 ? sum : sum + w + gap), 0);
    widths[last] = Math.max(options.minLastWidth ?? 10, options.width - others);
  }
  const line = (values: readonly string[], row: number): string => {
    const cells = layRow(columns, widths, values, false);
    const text = cells
      .map((cell) => (options.paint ? options.paint(cell.text, { row, column: cell.column, value: values[cell.column] ?? '' }) : cell.text))
      .join(' '.repeat(gap));
    return text.trimEnd();
  };
  const headers = normalizeColumns(columns).map((c) => c.header);
  return [line(headers, -1), ...rows.map((r, i) => line(r, i))];
}
