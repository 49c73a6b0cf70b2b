/** A GitHub-flavoured markdown table; columns whose cells all start with a digit are right-aligned. */
export function markdownTable(headers: string[], rows: (string | number)[][]): string {
  const numeric = headers.map((_, c) => rows.length > 0 && rows.every((r) => /^\d/.test(String(r[c]))));
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(headers), line(numeric.map((n) => (n ? '---:' : '---'))), ...rows.map((r) => line(r.map(String)))].join(
    '\n',
  );
}

export const integer = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Bytes in KiB or MiB: Temporal states its limits (2 MiB per payload, 50 MiB per history) in binary units. */
export function bytes(n: number): string {
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
