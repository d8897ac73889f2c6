// Downloading a payload, as the agent needs it. Production adapter: http-fetcher.ts.
// docs/protocol.md#artifacts: GET with Range resume, at most `payload.size` bytes, hashed as it streams.

/** Where downloaded bytes go (the slot writer's staging area). */
export interface ByteSink {
  /** Discards everything written so far (the server ignored a Range request). */
  reset(): Promise<void> | void;
  write(chunk: Uint8Array): Promise<void> | void;
}

export interface FetchRequest {
  uri: string;
  /** `payload.size`: the hard cap; one byte more is `size_exceeded`. */
  size: number;
  sink: ByteSink;
  signal: AbortSignal;
  /** Bytes received so far (called often; the agent throttles its reports). */
  onProgress?(received: number): void;
}

export type FetchResult =
  | { readonly ok: true; readonly sha256: string; readonly size: number }
  | { readonly ok: false; readonly reason: 'download_failed' | 'size_exceeded'; readonly detail: string; readonly aborted?: boolean };

export interface Fetcher {
  fetch(request: FetchRequest): Promise<FetchResult>;
}
