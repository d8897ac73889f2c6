// A minimal typed caller of the orchestrator's HTTP API for in-process tooling (the local stack,
// the demo, the benchmark). Errors carry the API's `{ code, message }`.
export class ApiCallError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
    this.name = 'ApiCallError';
  }
}

export type ApiBody = string | Uint8Array | object | undefined;

export function apiCaller(baseUrl: string, token: string) {
  return async function call<T>(method: string, path: string, body?: ApiBody, contentType?: string): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let payload: RequestInit['body'] | undefined;
    if (typeof body === 'string' || body instanceof Uint8Array) {
      payload = body as RequestInit['body'];
      headers['content-type'] = contentType ?? 'application/octet-stream';
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const response = await fetch(`${baseUrl}${path}`, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await response.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!response.ok) {
      const error = (json ?? {}) as { code?: string; message?: string };
      throw new ApiCallError(response.status, error.code ?? 'http_error', `${method} ${path}: ${response.status} ${error.message ?? text}`);
    }
    return json as T;
  };
}

export type ApiCall = ReturnType<typeof apiCaller>;
