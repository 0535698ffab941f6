// The one list of provider types Herald implements; everything else about a type (gating, masking, check, docs) derives from it.
import { PROVIDER_CATEGORY, PROVIDER_TYPES, type ProviderType } from '../api/provider.js';
import type { ProviderCategory, ProviderDefinition } from './types.js';
import { NatsProvider } from './cloud/nats.js';
import { GooglePubSubProvider } from './cloud/googlepubsub.js';
import { AzureEventHubProvider } from './cloud/azureeventhub.js';
import { GenericProvider } from './generic.js';
import { GenericHmacProvider } from './generic-hmac.js';
import { BitbucketServerProvider } from './git/bitbucketserver.js';
import { AlertmanagerProvider } from './incident/alertmanager.js';
import { DatadogProvider } from './incident/datadog.js';
import { GrafanaProvider } from './incident/grafana.js';
import { IncidentIoProvider } from './incident/incident-io.js';
import { OpsgenieProvider } from './incident/opsgenie.js';
import { PagerDutyProvider } from './incident/pagerduty.js';
import { SentryProvider } from './incident/sentry.js';
import { OtelProvider } from './otel.js';
import { DiscordProvider } from './chat/discord.js';
import { GoogleChatProvider } from './chat/googlechat.js';
import { MsTeamsProvider } from './chat/msteams.js';
import { RocketProvider } from './chat/rocket.js';
import { SlackProvider } from './chat/slack.js';
import { WebexProvider } from './chat/webex.js';
// git hosting: GitLab, Gitea, Bitbucket Cloud, Azure DevOps
import { AzureDevOpsProvider } from './git/azuredevops.js';
import { BitbucketProvider } from './git/bitbucket.js';
import { GiteaProvider } from './git/gitea.js';
import { GiteaPullRequestCommentProvider } from './git/giteapullrequestcomment.js';
import { GitLabProvider } from './git/gitlab.js';
import { GitLabMergeRequestCommentProvider } from './git/gitlabmergerequestcomment.js';
// GitHub family (github-client.ts, github-app.ts)
import { GitHubProvider } from './git/github.js';
import { GitHubDispatchProvider } from './git/githubdispatch.js';
import { GitHubPullRequestCommentProvider } from './git/githubpullrequestcomment.js';
// chat (telegram, lark, matrix, zulip, zoom)
import { LarkProvider } from './chat/lark.js';
import { MatrixProvider } from './chat/matrix.js';
import { TelegramProvider } from './chat/telegram.js';
import { ZoomProvider } from './chat/zoom.js';
import { ZulipProvider } from './chat/zulip.js';

/** Each provider module's definition, one line per type. */
const definitions: readonly ProviderDefinition<unknown>[] = [
  GenericProvider,
  GenericHmacProvider,
  NatsProvider,
  // cloud buses with vendor SDKs
  GooglePubSubProvider,
  AzureEventHubProvider,
  BitbucketServerProvider,
  // incident (HTTP): pagerduty, opsgenie, incident.io, alertmanager, grafana, datadog
  PagerDutyProvider,
  OpsgenieProvider,
  IncidentIoProvider,
  AlertmanagerProvider,
  GrafanaProvider,
  DatadogProvider,
  // Incident and observability SDK types (incident/sentry.ts; otel.ts is a forwarding type)
  SentryProvider,
  OtelProvider,
  // chat (slack-shaped, cards, webex)
  SlackProvider,
  DiscordProvider,
  RocketProvider,
  MsTeamsProvider,
  GoogleChatProvider,
  WebexProvider,
  // git hosting: GitLab, Gitea, Bitbucket Cloud, Azure DevOps
  GitLabProvider,
  GitLabMergeRequestCommentProvider,
  GiteaProvider,
  GiteaPullRequestCommentProvider,
  BitbucketProvider,
  AzureDevOpsProvider,
  // GitHub family
  GitHubProvider,
  GitHubDispatchProvider,
  GitHubPullRequestCommentProvider,
  // chat (telegram, lark, matrix, zulip, zoom)
  TelegramProvider,
  LarkProvider,
  MatrixProvider,
  ZulipProvider,
  ZoomProvider,
];

const registry = new Map<string, ProviderDefinition<unknown>>(definitions.map((d) => [d.type, d]));
if (registry.size !== definitions.length) throw new Error('provider registry: a type is defined twice');
for (const d of definitions) {
  if (PROVIDER_CATEGORY[d.type] !== d.category) {
    throw new Error(`provider registry: ${d.type} declares category ${d.category}, Flux files it under ${PROVIDER_CATEGORY[d.type]}`);
  }
}

/** Secret keys every type resolves and that are always credentials (event-server.md §11, TLS keys included). */
const COMMON_SENSITIVE_KEYS = ['token', 'password', 'tls.key', 'keyFile'];

export function providerDefinition(type: string): ProviderDefinition<unknown> | undefined {
  return registry.get(type);
}

export function providerDefinitions(): readonly ProviderDefinition<unknown>[] {
  return definitions;
}

export function supportedProviderTypes(): string[] {
  return [...registry.keys()].sort();
}

/** The family of an implemented type; undefined for a type Herald does not implement. */
export function providerCategory(type: string): ProviderCategory | undefined {
  return registry.get(type)?.category;
}

/** The CRD's types that Herald does not implement yet. */
export function unsupportedProviderTypes(): ProviderType[] {
  return PROVIDER_TYPES.filter((t) => !registry.has(t));
}

const sensitiveKeys = [...new Set([...COMMON_SENSITIVE_KEYS, ...definitions.flatMap((d) => d.secretKeys.filter((k) => k.sensitive).map((k) => k.key))])];

/** Every Secret key whose value is masked wherever it appears: the common credentials and each type's sensitive keys. */
export function sensitiveSecretKeys(): readonly string[] {
  return sensitiveKeys;
}
