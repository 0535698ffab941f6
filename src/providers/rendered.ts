// What an Alert's message template (herald.dev/template, docs/templates.md) produced for one notification, and the
// one lookup every chat and incident type uses: the rendered text when there is one, else Flux's own text.
import type { Notification } from './types.js';

/** Rendered for chat and incident types: the human-readable text and, with `herald.dev/template-title`, a title. */
export interface RenderedText {
  text: string;
  title?: string;
}

/** Rendered for generic / generic-hmac: the whole request body and its content type. */
export interface RenderedBody {
  body: string;
  contentType: string;
}

export type Rendered = RenderedText | RenderedBody;

/** The template's text, or `flux` (Flux's text) when the Alert has no template or it failed. */
export function renderedText(n: Pick<Notification, 'rendered'>, flux: string): string {
  const r = n.rendered;
  return r !== undefined && 'text' in r ? r.text : flux;
}

/** The template's title (herald.dev/template-title), or `flux`. */
export function renderedTitle(n: Pick<Notification, 'rendered'>, flux: string): string {
  const r = n.rendered;
  return r !== undefined && 'text' in r && r.title !== undefined ? r.title : flux;
}

/** The rendered body of a generic type, or undefined for Flux's event JSON. */
export function renderedBody(n: Pick<Notification, 'rendered'>): RenderedBody | undefined {
  const r = n.rendered;
  return r !== undefined && 'body' in r ? r : undefined;
}
