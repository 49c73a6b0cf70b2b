import { readFileSync } from 'node:fs';
import { parsePriceOverrides, type PriceOverrides } from '../common/cost.js';
import { ConfigError } from '../common/errors.js';

/**
 * `LONGHAUL_PRICES`: inline JSON when it starts with `{`, else the path of a JSON file. A bad
 * value stops the worker at start with one line naming it: a wrong price would misreport every cost.
 */
export function readPrices(value: string): PriceOverrides {
  const inline = value.trimStart().startsWith('{');
  let text = value;
  if (!inline) {
    try {
      text = readFileSync(value, 'utf8');
    } catch (err) {
      throw new ConfigError(
        `LONGHAUL_PRICES=${JSON.stringify(value)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
  }
  const parsed = parsePriceOverrides(text);
  if (!parsed.ok) throw new ConfigError(`LONGHAUL_PRICES${inline ? '' : ` (${value})`}: ${parsed.error}`);
  return parsed.prices;
}
