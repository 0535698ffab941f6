// Paths to and loaders for the Flux fixtures the tests carry with them (test/fixtures: events, manifests, CRDs, expected vectors).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from './herald-process.js';

export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');

export function fixtureText(rel: string): string {
  return readFileSync(path.join(fixturesDir, rel), 'utf8');
}

export function fixtureJson<T = unknown>(rel: string): T {
  return JSON.parse(fixtureText(rel)) as T;
}

export function fixtureEventFiles(): string[] {
  return readdirSync(path.join(fixturesDir, 'events')).filter((f) => f.endsWith('.json')).sort().map((f) => `events/${f}`);
}
