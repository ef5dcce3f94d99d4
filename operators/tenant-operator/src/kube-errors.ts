/** Status codes of @kubernetes/client-node's ApiException, which carries `code`. */
function statusCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

export const isNotFound = (error: unknown) => statusCode(error) === 404;
export const isConflict = (error: unknown) => statusCode(error) === 409;
export const isAlreadyExists = (error: unknown) => statusCode(error) === 409;
/** Watches report a refusal in their error text rather than as an ApiException with a code. */
export const isForbidden = (error: unknown) =>
  statusCode(error) === 403 ||
  (error as { statusCode?: unknown } | null)?.statusCode === 403 ||
  /forbidden/i.test(kubeMessage(error));

/** The API server's own message (from the Status body) rather than the client's generic one. */
export function kubeMessage(error: unknown): string {
  const body = (error as { body?: unknown } | null)?.body;
  if (typeof body === 'string') {
    try {
      const parsed = JSON.parse(body) as { message?: string };
      if (parsed.message) return parsed.message;
    } catch {
      // not JSON: fall through
    }
  }
  return error instanceof Error ? error.message : String(error);
}
