// The typed client the renderer's stores use: it wraps a WorkbenchBridge (the Electron preload's
// `window.vmmWorkbench`, or the HTTP bridge of the web preview) into a WorkbenchApi whose calls
// resolve with the value or reject with an Error carrying the backend's message — which is
// written for a person ("invalid request: spec.techniques.1: unknown technique 'foo'"), so the
// views show it as it is.

import {
  type ApiEvent,
  type ApiMethod,
  type ApiRequest,
  type ApiResponses,
  type WorkbenchApi,
  type WorkbenchBridge,
} from '../../shared/api';

/** A call the backend answered with `ok: false`, or that never reached it. */
export class ApiError extends Error {
  /** the method that failed */
  readonly method: ApiMethod;
  constructor(method: ApiMethod, message: string) {
    super(message);
    this.name = 'ApiError';
    this.method = method;
  }
}

/** Wrap a bridge: unwrap every ApiResult, turn `ok: false` and transport failures into ApiError. */
export function createApi(bridge: WorkbenchBridge): WorkbenchApi {
  return {
    async call<M extends ApiMethod>(
      request: Extract<ApiRequest, { method: M }>,
    ): Promise<ApiResponses[M]> {
      let result;
      try {
        result = await bridge.invoke(request);
      } catch (e) {
        throw new ApiError(request.method, transportMessage(e));
      }
      if (typeof result !== 'object' || result === null || typeof result.ok !== 'boolean') {
        throw new ApiError(
          request.method,
          `the workbench sent an unreadable answer to ${request.method}`,
        );
      }
      if (!result.ok)
        throw new ApiError(request.method, result.error || `${request.method} failed`);
      return result.value as ApiResponses[M];
    },
    onEvent(listener: (event: ApiEvent) => void): () => void {
      return bridge.onEvent(listener);
    },
  };
}

function transportMessage(e: unknown): string {
  const detail = e instanceof Error ? e.message : String(e);
  return `could not reach the workbench (${detail})`;
}
