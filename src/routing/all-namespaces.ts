// Tenant-safe all-namespace Alerts (issue 13 item 3): `eventSources[].namespace: "*"` matches every namespace, but
// only for Alerts in the namespaces an operator names with --cross-namespace-alert-namespaces, and never with
// --no-cross-namespace-refs. Everywhere else `*` keeps Flux's meaning: a literal namespace name that nothing has.

export const ALL_NAMESPACES = '*';

export class AllNamespacePolicy {
  private readonly allowed: ReadonlySet<string>;

  constructor(namespaces: readonly string[] = [], readonly noCrossNamespaceRefs = false) {
    this.allowed = new Set(noCrossNamespaceRefs ? [] : namespaces);
  }

  /** The Flux behaviour: `*` is never a wildcard. */
  static readonly none = new AllNamespacePolicy();

  /** Whether a `namespace: "*"` source of an Alert in `alertNamespace` matches every namespace. */
  allows(alertNamespace: string): boolean {
    return this.allowed.has(alertNamespace);
  }

  /** Why a `*` source of an Alert in `alertNamespace` is ignored, or undefined when it is honoured. */
  refusal(alertNamespace: string): string | undefined {
    if (this.noCrossNamespaceRefs) return 'namespace "*" is ignored: --no-cross-namespace-refs is set, so all-namespace Alerts are disabled (as in Flux, "*" matches no namespace)';
    if (this.allowed.has(alertNamespace)) return undefined;
    return `namespace "*" is ignored: the Alert's namespace ${alertNamespace} is not in --cross-namespace-alert-namespaces (as in Flux, "*" matches no namespace)`;
  }
}

/** Parses the flag's comma-separated list (blanks dropped). */
export function parseNamespaceList(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}
