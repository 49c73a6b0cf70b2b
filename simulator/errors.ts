/** API errors in the exact body shape the SDK turns into its error classes (by status and error_code). */

const TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  408: 'timeout_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  503: 'overloaded_error',
  529: 'overloaded_error',
};

export function errorTypeForStatus(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 400 && status < 500 ? 'invalid_request_error' : 'api_error');
}

export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: string,
    readonly errorType: string = errorTypeForStatus(status),
  ) {
    super(message);
  }
}

/** A 400 invalid_request_error; `errorCode` becomes `error.details.error_code`. */
export const invalidRequest = (message: string, errorCode?: string): SimError => new SimError(400, message, errorCode);

/** The body a stream's `event: error` carries when the API is overloaded midway. */
export const overloadedBody = (requestId: string): object => errorBody(new SimError(529, 'Overloaded'), requestId);

export function errorBody(error: SimError, requestId: string): object {
  return {
    type: 'error',
    error: {
      type: error.errorType,
      message: error.message,
      ...(error.errorCode ? { details: { error_code: error.errorCode } } : {}),
    },
    request_id: requestId,
  };
}
