// Commit-status routing (event-server.md §8.3, §10): the gates, the default id and spec.commitStatusExpr (compiled once, cached).
import type { ParseResult } from '@marcbachmann/cel-js';
import type { Alert } from '../api/alert.js';
import { encodeEvent, EVENT_GROUP_PREFIX, type FluxEvent } from '../api/event.js';
import { CHANGE_REQUEST_TYPES, COMMIT_STATUS_TYPES, GENERIC_TYPES, type Provider } from '../api/provider.js';
import { goToLower } from '../go/strings.js';
import { ConfigError } from '../providers/types.js';
import { celEnvironment, celGoTypeName, celIssue, celRuntimeCause } from './cel.js';

export { celGoTypeName } from './cel.js';

export { parseRevision } from '../providers/git/revision.js';

// ---------------------------------------------------------------------------------------------
// Gates (event-server.md §8.3), evaluated on the cleaned event with its prefixed keys.

export type CommitStatusGate = 'pass' | 'skip' | 'drop-commit-status' | 'drop-change-request';

export function isCommitStatusUpdate(event: Pick<FluxEvent, 'metadata'>, objectGroup: string): boolean {
  return event.metadata[`${objectGroup}/commit_status`] === 'update';
}

export function hasCommitKey(event: Pick<FluxEvent, 'metadata'>): boolean {
  return !!event.metadata[`${EVENT_GROUP_PREFIX}commit`];
}

export function hasChangeRequestKey(event: Pick<FluxEvent, 'metadata'>): boolean {
  return !!event.metadata[`${EVENT_GROUP_PREFIX}change_request`];
}

/**
 * Which events reach which provider class: gate A `skip` (commit_status=update never reaches chat or paging
 * providers), gate B `drop-commit-status`, gate C `drop-change-request`, else `pass`.
 */
export function commitStatusGate(event: Pick<FluxEvent, 'metadata' | 'severity'>, providerType: string, objectGroup: string): CommitStatusGate {
  const update = isCommitStatusUpdate(event, objectGroup);
  const commitStatusType = COMMIT_STATUS_TYPES.has(providerType);
  if (!commitStatusType && !GENERIC_TYPES.has(providerType) && update) return 'skip';
  if (commitStatusType && !hasCommitKey(event) && !update && event.severity !== 'error') return 'drop-commit-status';
  if (CHANGE_REQUEST_TYPES.has(providerType) && !hasChangeRequestKey(event)) return 'drop-change-request';
  return 'pass';
}

// ---------------------------------------------------------------------------------------------
// Commit status id (event-server.md §10).

/** `<kind>/<name>/<first part of the Provider uid>`, lower-cased: `kustomization/webapp/0c9c2e41`. */
export function defaultCommitStatusId(event: Pick<FluxEvent, 'involvedObject'>, providerUid: string): string {
  const piece = providerUid.split('-')[0] ?? '';
  return goToLower(`${event.involvedObject.kind}/${event.involvedObject.name}/${piece}`);
}

/** A spec.commitStatusExpr that does not compile: a configuration error, not worth retrying. */
export class CommitStatusExprError extends ConfigError {
  constructor(message: string, readonly expression: string, readonly firstReport: boolean) {
    super(message);
  }
}

const FLUX_WRAP = 'failed to evaluate the spec.commitStatusExpr CEL expression for the event: ';

/**
 * The commit status id for one notification: '' for types that are not commit-status types, the
 * default id, or the CEL result. `event` is the notification copy (metadata merged, unprefixed keys).
 * Throws with Flux's text after `failed to create commit status: ` (which the caller adds);
 * a compile error is a CommitStatusExprError.
 */
export function commitStatusId(event: FluxEvent, alert: Alert, provider: Provider): string {
  if (!COMMIT_STATUS_TYPES.has(provider.spec.type)) return '';
  const expr = provider.spec.commitStatusExpr;
  if (!expr) return defaultCommitStatusId(event, provider.metadata.uid);
  let compiled: CompiledCommitStatusExpr;
  try {
    compiled = compileCommitStatusExpr(expr);
  } catch (err) {
    const e = err as CommitStatusExprError;
    throw new CommitStatusExprError(FLUX_WRAP + e.message, expr, e.firstReport);
  }
  try {
    return compiled.evaluate({ event: eventValue(event), alert: objectValue(alert), provider: objectValue(provider) });
  } catch (err) {
    throw new Error(FLUX_WRAP + (err as Error).message);
  }
}

export interface CommitStatusExprVariables {
  event: unknown;
  alert: unknown;
  provider: unknown;
}

export interface CompiledCommitStatusExpr {
  expression: string;
  /** Throws `failed to evaluate the CEL expression '<expr>': <cause>` or `failed to evaluate CEL expression as string: '<expr>'`. */
  evaluate(vars: CommitStatusExprVariables): string;
}

interface CacheEntry {
  compiled?: CompiledCommitStatusExpr;
  error?: string;
  reported: boolean;
}

const MAX_CACHED = 1000;
const cache = new Map<string, CacheEntry>();

/**
 * Compiles once per expression string (type-checked, output must be `string`). Throws CommitStatusExprError
 * with `failed to compile expression: ...`; its `firstReport` is true only the first time this expression fails.
 */
export function compileCommitStatusExpr(expr: string): CompiledCommitStatusExpr {
  let entry = cache.get(expr);
  if (!entry) {
    entry = compile(expr);
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value!);
    cache.set(expr, entry);
  }
  if (entry.compiled) return entry.compiled;
  const first = !entry.reported;
  entry.reported = true;
  throw new CommitStatusExprError(entry.error!, expr, first);
}

function compile(expr: string): CacheEntry {
  let program: ParseResult;
  try {
    program = celEnvironment().parse(expr);
  } catch (err) {
    return { error: `failed to compile expression: failed to parse the CEL expression '${expr}': ${celIssue(err, expr)}`, reported: false };
  }
  const checked = program.check();
  if (!checked.valid) {
    return { error: `failed to compile expression: failed to parse the CEL expression '${expr}': ${celIssue(checked.error, expr)}`, reported: false };
  }
  if (checked.type !== 'string') {
    return { error: `failed to compile expression: CEL expression output type mismatch: expected string, got ${celGoTypeName(checked.type ?? 'dyn')}`, reported: false };
  }
  return {
    reported: false,
    compiled: {
      expression: expr,
      evaluate(vars: CommitStatusExprVariables): string {
        let result: unknown;
        try {
          result = program({ event: vars.event, alert: vars.alert, provider: vars.provider });
        } catch (err) {
          throw new Error(`failed to evaluate the CEL expression '${expr}': ${celRuntimeCause(err)}`);
        }
        if (typeof result !== 'string') throw new Error(`failed to evaluate CEL expression as string: '${expr}'`);
        return result;
      },
    },
  };
}

/** The event as Flux's unstructured converter shapes it: JSON field names, empty optional fields absent. */
function eventValue(event: FluxEvent): unknown {
  return JSON.parse(encodeEvent(event));
}

const objectValues = new WeakMap<object, unknown>();

/** Alert and Provider in their Kubernetes JSON shape, converted once per object version. */
function objectValue(obj: Alert | Provider): unknown {
  let v = objectValues.get(obj);
  if (v === undefined) {
    v = JSON.parse(JSON.stringify(obj));
    objectValues.set(obj, v);
  }
  return v;
}
