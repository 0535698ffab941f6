// Masking secrets out of error texts, logs and Events (event-server.md §12.2): Flux's token rule plus every sensitive value.
import { maskSecrets } from '../logger.js';
import type { ProviderSettings } from './types.js';


/**
 * Flux's redaction: the RE2 pattern `QuoteMeta(token) + "*"` replaced by `*****` with Go's ReplaceAllString
 * semantics (so the token minus its last character, and runs of that character, are masked too).
 */
export function maskToken(text: string, token: string): string {
  if (token === '') return text;
  const pattern = new RegExp(token.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&') + '*', 'gu');
  let out = '';
  let lastMatchEnd = 0;
  let searchPos = 0;
  while (searchPos <= text.length) {
    pattern.lastIndex = searchPos;
    const m = pattern.exec(text);
    if (!m) break;
    const start = m.index;
    const end = start + m[0].length;
    out += text.slice(lastMatchEnd, start);
    // Go skips an empty match right after a previous match.
    if (end > lastMatchEnd || start === 0) out += '*****';
    lastMatchEnd = end;
    const cp = text.codePointAt(searchPos);
    const width = cp !== undefined && cp > 0xffff ? 2 : 1;
    if (searchPos + width > end) searchPos += width;
    else if (searchPos + 1 > end) searchPos++;
    else searchPos = end;
  }
  return out + text.slice(lastMatchEnd);
}

/** Flux's token masking plus Herald's: every sensitive value of the settings is masked as well. */
export function maskError(text: string, settings: Pick<ProviderSettings, 'token' | 'sensitive'>): string {
  return maskToken(maskSecrets(text, settings.sensitive), settings.token.trim());
}

