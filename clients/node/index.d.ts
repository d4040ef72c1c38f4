// Type declarations of trackstore-client (index.js). Events and rows are plain objects with the
// Profile Store field names; every call returns a Promise and fails with a TrackstoreError.

/** A JSON value, as User, Payload and Preview rows hold them. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** One event to track, in the shape of the Profile Store track event. */
export interface TrackEvent {
  /** Unique in its scope; the server assigns a UUIDv7 when absent. */
  TrackId?: string | null;
  DeviceId?: string | null;
  EventType?: string | null;
  Value?: string | null;
  /** Ignored on input: the call's scope applies. */
  Scope?: string | null;
  PageUri?: string | null;
  PageTitle?: string | null;
  RemoteAddress?: string | null;
  SessionId?: string | null;
  User?: JsonObject | null;
  Payload?: JsonObject | null;
  CountryCode?: string | null;
  City?: string | null;
  /** RFC 3339 (up to 9 fraction digits; no zone means UTC) or a Date; the receive time when absent. */
  EventTime?: string | Date | null;
}

/** A stored event as List returns it: times are RFC 3339 UTC strings ending in Z. */
export interface StoredEvent {
  TrackId: string;
  DeviceId: string | null;
  EventType: string | null;
  Value: string | null;
  Scope: string;
  PageUri: string | null;
  PageTitle: string | null;
  RemoteAddress: string | null;
  SessionId: string | null;
  User: JsonObject | null;
  Payload: JsonObject | null;
  CountryCode: string | null;
  City: string | null;
  EventTime: string;
  /** Other columns a server may add. */
  [column: string]: JsonValue;
}

export interface ClientOptions {
  /** host:port; default "localhost:50051". */
  target?: string;
  /** Sent as `authorization: epi-single <key>`. */
  apiKey?: string;
  /** TLS with the system's root certificates (or rootCerts). */
  tls?: boolean;
  /** PEM root certificates for TLS. */
  rootCerts?: Uint8Array;
  /** The scope of every call that names none; default "default". */
  scope?: string;
  /** Each call's deadline in milliseconds; default 30,000. */
  deadlineMs?: number;
}

/** Options every call takes: they override the client's. */
export interface CallOptions {
  scope?: string;
  deadlineMs?: number;
}

export interface ListOptions extends CallOptions {
  /** An OData filter, e.g. "EventType eq 'pageview' and User/Email ne null". */
  filter?: string;
  /** An OData orderby, e.g. "EventTime desc, DeviceId"; TrackId breaks ties. */
  orderby?: string;
  /** Default 0. */
  skip?: number;
  /** Default 100; skip + top must be under 10,000. */
  top?: number;
}

export interface BatchDeleteOptions extends CallOptions {
  /** Skip TrackIds that are not stored instead of failing with NOT_FOUND. */
  allowMissing?: boolean;
}

export interface Column {
  name: string;
  /** The KQL type: string, long, int, real, bool, datetime, timespan, dynamic. */
  type: string;
}

export interface PreviewResult {
  columns: Column[];
  /** One object per row, keyed by column name, in column order. */
  items: JsonObject[];
  count: number;
  /** True when the query had more rows than the 1000 returned. */
  truncated: boolean;
}

export interface ListResult {
  items: StoredEvent[];
  count: number;
}

export interface TrackStreamResult {
  trackIds: string[];
  eventCount: number;
  /** How many TrackStream calls the batches took (a call's answer must fit one message). */
  streams: number;
}

export interface CompactResult {
  appliedDeletions: number;
  seconds: number;
}

export interface StoreStats {
  pendingDeletions: number;
  maxPendingDeletions: number;
  dataFiles: number;
  events: number;
  /** Payload/User keys kept as typed columns, as "Payload.price:real". */
  promotedKeys: string[];
  /** Where the server's memory is, now. */
  memory: MemoryUse;
}

/** The server's memory, in bytes: DuckDB's buffers are bounded by its --memory-limit, the rest
 * comes on top. */
export interface MemoryUse {
  residentBytes: number;
  duckdbBytes: number;
  duckdbSpilledBytes: number;
  trackIdIndexBytes: number;
  deviceIdIndexBytes: number;
  mallocInUseBytes: number;
  mallocFreeBytes: number;
  arrowBytes: number;
}

export class Client {
  constructor(options?: ClientOptions);
  readonly scope: string;
  readonly deadlineMs: number;
  /** Stores a batch (at most 10,000 events) atomically; resolves to their TrackIds, in order. */
  track(events: Iterable<TrackEvent>, options?: CallOptions): Promise<string[]>;
  /**
   * Bulk ingest, one message per batch, in as many TrackStream calls as their answers need
   * (about 1.7 million events a call); resolves once all are durable.
   */
  trackStream(
    batches: Iterable<Iterable<TrackEvent>> | AsyncIterable<Iterable<TrackEvent>>,
    options?: CallOptions,
  ): Promise<TrackStreamResult>;
  /** Runs a KQL query over the scope's events (at most 1000 rows). */
  preview(query: string, options?: CallOptions): Promise<PreviewResult>;
  /** Lists events with an OData filter and orderby, a page at a time. */
  list(options?: ListOptions): Promise<ListResult>;
  /** Deletes one event; NOT_FOUND when it is not stored. Resolves to the TrackId. */
  delete(trackId: string, options?: CallOptions): Promise<string>;
  /** Deletes up to 1000 events, all or none; resolves to the TrackIds deleted. */
  batchDelete(trackIds: Iterable<string>, options?: BatchDeleteOptions): Promise<string[]>;
  /** Runs compaction now (a key allowed every scope only). */
  compact(options?: CallOptions): Promise<CompactResult>;
  stats(options?: CallOptions): Promise<StoreStats>;
  close(): void;
}

/** A google.rpc detail of a failed call, e.g. {type: "google.rpc.ErrorInfo", reason, domain, metadata}. */
export interface ErrorDetail {
  type: string;
  [field: string]: unknown;
}

export interface FieldViolation {
  field: string;
  description: string;
}

/** A failed call: the gRPC status code, the server's message and the google.rpc details. */
export class TrackstoreError extends Error {
  constructor(code: number, serverMessage: string, details?: ErrorDetail[]);
  /** The gRPC status code; compare with `status`, e.g. status.NOT_FOUND. */
  readonly code: number;
  /** The code's name, e.g. "INVALID_ARGUMENT". */
  readonly codeName: string;
  /** The server's message, e.g. "line 1, column 10: unknown query operator 'whre'; ...". */
  readonly serverMessage: string;
  readonly details: ErrorDetail[];
  /** ErrorInfo's reason code, e.g. "QUERY_INVALID", or null. */
  readonly reason: string | null;
  /** RetryInfo's delay in milliseconds, or null. */
  readonly retryDelayMs: number | null;
  /** BadRequest's field violations. */
  readonly fieldViolations: FieldViolation[];
}

/** The gRPC status codes (from @grpc/grpc-js). */
export const status: {
  readonly OK: 0;
  readonly CANCELLED: 1;
  readonly UNKNOWN: 2;
  readonly INVALID_ARGUMENT: 3;
  readonly DEADLINE_EXCEEDED: 4;
  readonly NOT_FOUND: 5;
  readonly ALREADY_EXISTS: 6;
  readonly PERMISSION_DENIED: 7;
  readonly RESOURCE_EXHAUSTED: 8;
  readonly FAILED_PRECONDITION: 9;
  readonly ABORTED: 10;
  readonly OUT_OF_RANGE: 11;
  readonly UNIMPLEMENTED: 12;
  readonly INTERNAL: 13;
  readonly UNAVAILABLE: 14;
  readonly DATA_LOSS: 15;
  readonly UNAUTHENTICATED: 16;
};

/** The TrackEvent message (proto field names) a Profile Store event becomes; throws TypeError on bad input. */
export function eventToMessage(event: TrackEvent): Record<string, unknown>;
/** An RFC 3339 time as a google.protobuf.Timestamp, to the nanosecond. */
export function parseEventTime(text: string): { seconds: number; nanos: number };
/** The proto/ folder the contract is loaded from. */
export const PROTO_ROOT: string;
export const DEFAULT_DEADLINE_MS: number;
