import { readFileSync } from 'node:fs';
import { ConfigError } from '../common/errors.js';

/**
 * A JSON setting's text: the value itself when it starts with `{`, else the file it names. An
 * unreadable file is a one-line ConfigError naming the setting and the path.
 */
export function inlineOrFile(name: string, value: string): { text: string; inline: boolean } {
  if (value.trimStart().startsWith('{')) return { text: value, inline: true };
  try {
    return { text: readFileSync(value, 'utf8'), inline: false };
  } catch (err) {
    throw new ConfigError(
      `${name}=${JSON.stringify(value)}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
}
