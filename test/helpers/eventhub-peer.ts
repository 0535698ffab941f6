// A local Event Hubs AMQP 1.0 peer for tests, written with rhea (the AMQP library @azure/event-hubs uses): SASL
// ANONYMOUS on plain TCP as the SDK's development-emulator connection strings use it, the claims-based-security node
// `$cbs` answering `put-token`, and an event hub node that records each transfer and accepts it.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:net';
import rhea, { type Connection, type EventContext, type Message, type Sender } from 'rhea';

export interface PutToken {
  /** `jwt` or `servicebus.windows.net:sastoken`. */
  type: string;
  /** The audience, `amqp(s)://<host>/<hub>`. */
  name: string;
  token: string;
  expiration?: string;
}

export interface ReceivedEvent {
  /** The link's target address: the event hub (and partition) the SDK sends to. */
  address: string;
  /** The transfer's message-format (0x80013700 for an Event Hubs batch). */
  format: number;
  /** Each message inside the batch: its properties and the bytes of its data section. */
  messages: { messageId: unknown; contentType: unknown; applicationProperties: unknown; body: Buffer }[];
}

export interface EventHubPeerOptions {
  /** The answer to a put-token (default 202 Accepted). */
  cbs?: (t: PutToken) => { status: number; description: string } | undefined;
  /** Reject transfers with this AMQP error instead of accepting them. */
  reject?: (e: ReceivedEvent) => { condition: string; description: string } | undefined;
  /** Do not answer transfers at all. */
  hang?: boolean;
  /** The max-message-size of the event hub link (default 1 MiB). */
  maxMessageSize?: number;
}

export interface EventHubPeer {
  port: number;
  /** A development-emulator connection string for `hub` with this key name and key. */
  connectionString(hub: string | undefined, keyName?: string, key?: string): string;
  tokens: PutToken[];
  events: ReceivedEvent[];
  /** AMQP connections opened so far. */
  connections(): number;
  /** AMQP connections currently open. */
  openConnections(): number;
  /** Closes every open connection from the server side (as the service does with idle connections). */
  dropConnections(): void;
  close(): Promise<void>;
}

function bodyBytes(m: object): Buffer {
  const body = (m as { body?: unknown }).body;
  if (Buffer.isBuffer(body)) return body;
  const content = (body as { content?: unknown })?.content;
  if (Buffer.isBuffer(content)) return content;
  if (Array.isArray(content) && content.every((c) => Buffer.isBuffer(c))) return Buffer.concat(content as Buffer[]);
  throw new Error(`unexpected message body ${JSON.stringify(body)}`);
}

/** The data sections of a batch transfer: each is a complete encoded AMQP message. */
function batchParts(m: object): Buffer[] {
  const body = (m as { body?: unknown }).body as { typecode?: number; content?: unknown; multiple?: boolean };
  if (body?.multiple && Array.isArray(body.content)) return body.content as Buffer[];
  return [bodyBytes(m)];
}

export async function startEventHubPeer(opts: EventHubPeerOptions = {}): Promise<EventHubPeer> {
  const container = rhea.create_container({ id: 'herald-test-eventhubs' });
  const tokens: PutToken[] = [];
  const events: ReceivedEvent[] = [];
  const open = new Set<Connection>();
  let opened = 0;
  container.on('connection_open', (ctx: EventContext) => {
    opened++;
    open.add(ctx.connection);
  });
  const gone = (ctx: EventContext): void => { open.delete(ctx.connection); };
  container.on('connection_close', gone);
  container.on('disconnected', gone);
  container.on('message', (ctx: EventContext) => {
    const m = ctx.message!;
    const address = String(ctx.receiver?.target && (ctx.receiver.target as { address?: string }).address);
    if (address === '$cbs') {
      const props = (m.application_properties ?? {}) as Record<string, unknown>;
      const t: PutToken = { type: String(props['type']), name: String(props['name']), token: String(m.body) };
      if (props['expiration'] !== undefined) t.expiration = String(props['expiration']);
      tokens.push(t);
      const answer = opts.cbs?.(t) ?? { status: 202, description: 'Accepted' };
      const reply = ctx.connection.find_sender((s: Sender) => (s.source as { address?: string })?.address === '$cbs' || s.name.includes('cbs'));
      reply?.send({
        body: null,
        correlation_id: m.message_id,
        to: m.reply_to,
        application_properties: { 'status-code': answer.status, 'status-description': answer.description },
      });
      ctx.delivery?.accept();
      return;
    }
    // rhea hands over a transfer with a non-zero message-format undecoded, as the raw bytes of the outer message.
    const format = (ctx as unknown as { format?: number }).format ?? 0;
    const event: ReceivedEvent = { address, format, messages: [] };
    const parts = Buffer.isBuffer(m) ? batchParts(rhea.message.decode(m)) : [rhea.message.encode(m)];
    for (const part of parts) {
      const inner = rhea.message.decode(part);
      event.messages.push({
        messageId: inner.message_id, contentType: inner.content_type, applicationProperties: inner.application_properties, body: bodyBytes(inner),
      });
    }
    events.push(event);
    if (opts.hang) return;
    const rejection = opts.reject?.(event);
    if (rejection) ctx.delivery?.reject({ condition: rejection.condition, description: rejection.description });
    else ctx.delivery?.accept();
  });
  const server = container.listen({
    port: 0, host: '127.0.0.1',
    receiver_options: { autoaccept: false, max_message_size: opts.maxMessageSize ?? 1024 * 1024 },
  } as unknown as Parameters<typeof container.listen>[0]) as unknown as Server;
  await new Promise<void>((resolve) => (server.listening ? resolve() : server.once('listening', () => resolve())));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connectionString: (hub, keyName = 'RootManageSharedAccessKey', key = 'SAS_KEY_VALUE') =>
      `Endpoint=sb://localhost:${port};SharedAccessKeyName=${keyName};SharedAccessKey=${key};${hub ? `EntityPath=${hub};` : ''}UseDevelopmentEmulator=true`,
    tokens,
    events,
    connections: () => opened,
    openConnections: () => open.size,
    dropConnections: () => {
      for (const c of [...open]) c.close({ condition: 'amqp:connection:forced', description: 'The connection was inactive for more than the allowed period.' });
    },
    close: () => new Promise<void>((resolve) => {
      for (const c of open) c.close();
      server.close(() => resolve());
      setTimeout(resolve, 500).unref();
    }),
  };
}
