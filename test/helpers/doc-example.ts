// The first YAML example of a provider's doc page, parsed as Herald parses manifests: doc pages carry working examples.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Provider } from '../../src/api/provider.js';
import type { Secret } from '../../src/api/secret.js';
import { parseManifests } from '../../src/resources/manifests.js';
import { repoRoot } from './herald-process.js';

export function docExample(type: string): { provider: Provider; secrets: Secret[]; problems: unknown[] } {
  const page = readFileSync(path.join(repoRoot, 'docs', 'providers', `${type}.md`), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(page)?.[1];
  if (yaml === undefined) throw new Error(`docs/providers/${type}.md has no YAML example`);
  const { objects, problems } = parseManifests(yaml, `docs/providers/${type}.md`);
  const provider = objects.find((o) => o.kind === 'Provider') as Provider | undefined;
  if (!provider) throw new Error(`docs/providers/${type}.md: the example has no Provider`);
  return { provider, secrets: objects.filter((o) => o.kind === 'Secret') as Secret[], problems };
}
