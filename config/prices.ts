import { parsePriceOverrides, type PriceOverrides } from '../common/cost.js';
import { ConfigError } from '../common/errors.js';
import { inlineOrFile } from './inline-or-file.js';

/**
 * `LONGHAUL_PRICES`: inline JSON when it starts with `{`, else the path of a JSON file. A bad
 * value stops the worker at start with one line naming it: a wrong price would misreport every cost.
 */
export function readPrices(value: string): PriceOverrides {
  const { text, inline } = inlineOrFile('LONGHAUL_PRICES', value);
  const parsed = parsePriceOverrides(text);
  if (!parsed.ok) throw new ConfigError(`LONGHAUL_PRICES${inline ? '' : ` (${value})`}: ${parsed.error}`);
  return parsed.prices;
}
