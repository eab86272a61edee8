import { availableParallelism } from 'node:os'
import Type, { type Static, type TProperties } from 'typebox'
import { RoleSchema } from '../auth/role-schema.js'
import { ITEM_LIMITS } from '../otlp-to-native/arrival.js'
import { composeConfig, type ConfigSection, type EnvKeys } from './section.js'

const Port = Type.Integer({ minimum: 0, maximum: 65535, description: '0 picks a free port' })

/** The collector's keys of reckon.yaml: servers, storage, ingest and queries. */
const COLLECTOR_PROPERTIES = {
  host: Type.String({ minLength: 1, description: 'Address both servers bind to.' }),
  allowedHosts: Type.Array(
    Type.String({
      pattern: '^(\\*|[A-Za-z0-9_.-]+|\\[?[0-9A-Fa-f:.]+\\]?)$',
      description: 'a host name or address, no port',
    }),
    {
      maxItems: 100,
      description:
        'Host header names served besides localhost, 127.0.0.1 and [::1] (reverse proxies); * serves any. Bound to loopback, other names get 421; bound elsewhere, any name is served unless this lists some.',
    },
  ),
  otlpPort: Port,
  apiPort: Port,
  dataDir: Type.String({ minLength: 1, description: 'Embedded ClickHouse data directory.' }),
  retentionDays: Type.Integer({ minimum: 1, maximum: 3650 }),
  clickhouse: Type.Object(
    {
      url: Type.Optional(Type.String({ pattern: '^https?://' })),
      user: Type.Optional(Type.String()),
      password: Type.Optional(Type.String()),
      database: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
    },
    { additionalProperties: false },
  ),
  ingest: Type.Object(
    {
      maxBodyBytes: Type.Integer({ minimum: 1024 }),
      maxInFlightBytes: Type.Integer({ minimum: 1024 }),
      maxItemsPerRequest: Type.Integer({
        minimum: 1,
        description:
          'Spans, log records, data points or events one request may carry; more get 413.',
      }),
      maxEntriesPerItem: Type.Integer({
        minimum: 1,
        description:
          'Attributes, span events or links one item may carry; such an item is refused.',
      }),
      batchRows: Type.Integer({ minimum: 1 }),
      flushIntervalMs: Type.Integer({ minimum: 10 }),
      queueBytes: Type.Integer({ minimum: 1024 }),
      decodeThreads: Type.Integer({
        minimum: 0,
        maximum: 64,
        description: 'Worker threads that decode OTLP bodies; 0 decodes on the event loop.',
      }),
    },
    { additionalProperties: false },
  ),
  query: Type.Object(
    {
      maxSpansPerTrace: Type.Integer({ minimum: 1 }),
      maxOutlineSpans: Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        description: 'Spans of one trace its outline (the UI call tree) shows; more are cut.',
      }),
      outlineCacheSpans: Type.Integer({
        minimum: 0,
        maximum: 100_000_000,
        description: 'Spans of flattened outlines kept between requests (about 60 bytes each).',
      }),
      timeoutSeconds: Type.Integer({ minimum: 1, maximum: 3600 }),
      traceReads: Type.Integer({
        minimum: 1,
        maximum: 256,
        description: 'Trace views read at once; as many again may wait, more get 503.',
      }),
      searches: Type.Integer({
        minimum: 1,
        maximum: 256,
        description:
          'Searches (every query but a trace view) run at once; as many again may wait, more get 503.',
      }),
      maxAttributeFilters: Type.Integer({
        minimum: 1,
        maximum: 1000,
        description:
          'attr. filters one trace search may have; planning costs more than linearly in them.',
      }),
      maxRowsToRead: Type.Integer({
        minimum: 1000,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Rows one query may read; beyond, it is refused with 422.',
      }),
      maxBytesToRead: Type.Integer({
        minimum: 1024 * 1024,
        maximum: Number.MAX_SAFE_INTEGER,
        description: 'Uncompressed bytes one query may read; beyond, it is refused with 422.',
      }),
    },
    { additionalProperties: false },
  ),
  auth: Type.Object(
    {
      mode: Type.Union([Type.Literal('local'), Type.Literal('keys'), Type.Literal('none')], {
        description:
          'local: no sign-in, allowed only bound to loopback (every change is recorded as "local"); keys: API keys and users required; none: no sign-in on any address (warned at every start)',
      }),
      ingest: Type.Optional(
        Type.Union([Type.Literal('keys'), Type.Literal('open')], {
          description:
            'Whether port 4318 needs an ingest key: default keys when mode is keys, else open (senders inside a private network)',
        }),
      ),
      users: Type.Array(
        Type.Object(
          {
            name: Type.String({ pattern: '^[A-Za-z0-9_.@-]{1,100}$' }),
            role: RoleSchema,
            passwordHash: Type.String({
              pattern: '^scrypt\\$',
              description: 'From `reckon users hash-password`; never the password itself',
            }),
          },
          { additionalProperties: false },
        ),
        { maxItems: 1000, description: 'People who sign in to the UI with a password' },
      ),
      sessionHours: Type.Number({ minimum: 0.01, maximum: 24 * 30 }),
    },
    { additionalProperties: false },
  ),
  rateLimit: Type.Object(
    {
      apiPerMinute: Type.Integer({
        minimum: 0,
        description: 'Query API requests one key (or address) may make a minute; 0: unlimited',
      }),
      ingestPerSecond: Type.Integer({
        minimum: 0,
        description: 'Ingest requests one key (or address) may make a second; 0: unlimited',
      }),
      signInPerMinute: Type.Integer({
        minimum: 1,
        description: 'Sign-in attempts one address may make a minute',
      }),
    },
    { additionalProperties: false },
  ),
  tls: Type.Object(
    {
      cert: Type.Optional(Type.String({ minLength: 1, description: 'PEM certificate chain file' })),
      key: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key file' })),
    },
    { additionalProperties: false, description: 'Both set: both ports serve HTTPS' },
  ),
} satisfies TProperties

/** Everything the collector can be told, from `reckon.yaml` or the environment. */
export const ConfigSchema = Type.Object(COLLECTOR_PROPERTIES, { additionalProperties: false })

export type Config = Static<typeof ConfigSchema>

export const DEFAULTS: Config = {
  host: '127.0.0.1',
  allowedHosts: [],
  otlpPort: 4318,
  apiPort: 8318,
  dataDir: '.reckon/data',
  retentionDays: 7,
  clickhouse: { database: 'reckon' },
  ingest: {
    maxBodyBytes: 20 * 1024 * 1024,
    maxInFlightBytes: 256 * 1024 * 1024,
    // Far above what SDKs send (batches of 512-2048, 128 attributes a span by default), low
    // enough that one request cannot decode into gigabytes of objects.
    maxItemsPerRequest: ITEM_LIMITS.maxItems,
    maxEntriesPerItem: ITEM_LIMITS.maxPerItem,
    batchRows: 50_000,
    flushIntervalMs: 1000,
    queueBytes: 256 * 1024 * 1024,
    // A thread per core: decoding is most of ingest's CPU, and with rows spooled to files the
    // event loop and the engine need little.
    decodeThreads: Math.max(1, Math.min(4, availableParallelism())),
  },
  query: {
    maxSpansPerTrace: 10_000,
    maxOutlineSpans: 1_000_000,
    outlineCacheSpans: 2_000_000,
    timeoutSeconds: 30,
    traceReads: 8,
    searches: 4,
    maxAttributeFilters: 20,
    maxRowsToRead: 100_000_000,
    maxBytesToRead: 10 * 1024 * 1024 * 1024,
  },
  auth: { mode: 'local', users: [], sessionHours: 12 },
  // Far above one person's UI or an SDK's batches; what they stop is one sender starving
  // the others.
  rateLimit: { apiPerMinute: 6000, ingestPerSecond: 1000, signInPerMinute: 10 },
  tls: {},
}

/** Environment variables and the config key each one sets. */
export const ENV_KEYS: EnvKeys = {
  RECKON_HOST: { path: ['host'], type: 'string' },
  RECKON_ALLOWED_HOSTS: { path: ['allowedHosts'], type: 'list' },
  RECKON_OTLP_PORT: { path: ['otlpPort'], type: 'integer' },
  RECKON_API_PORT: { path: ['apiPort'], type: 'integer' },
  RECKON_DATA_DIR: { path: ['dataDir'], type: 'string' },
  RECKON_RETENTION_DAYS: { path: ['retentionDays'], type: 'integer' },
  CLICKHOUSE_URL: { path: ['clickhouse', 'url'], type: 'string' },
  CLICKHOUSE_USER: { path: ['clickhouse', 'user'], type: 'string' },
  CLICKHOUSE_PASSWORD: { path: ['clickhouse', 'password'], type: 'string' },
  CLICKHOUSE_DATABASE: { path: ['clickhouse', 'database'], type: 'string' },
  RECKON_MAX_BODY_BYTES: { path: ['ingest', 'maxBodyBytes'], type: 'integer' },
  RECKON_QUEUE_BYTES: { path: ['ingest', 'queueBytes'], type: 'integer' },
  RECKON_DECODE_THREADS: { path: ['ingest', 'decodeThreads'], type: 'integer' },
  RECKON_AUTH_MODE: { path: ['auth', 'mode'], type: 'string' },
  RECKON_AUTH_INGEST: { path: ['auth', 'ingest'], type: 'string' },
  RECKON_TLS_CERT: { path: ['tls', 'cert'], type: 'string' },
  RECKON_TLS_KEY: { path: ['tls', 'key'], type: 'string' },
}

/** The collector's section of reckon.yaml, for the CLI to compose with the others'. */
export const COLLECTOR_CONFIG: ConfigSection<typeof COLLECTOR_PROPERTIES> = {
  component: 'collector',
  properties: COLLECTOR_PROPERTIES,
  defaults: DEFAULTS,
  env: ENV_KEYS,
}

/** reckon.yaml of a process that runs the collector alone. */
export const COLLECTOR_ONLY = composeConfig<Config>([COLLECTOR_CONFIG])
