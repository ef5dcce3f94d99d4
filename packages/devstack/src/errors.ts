/** Wraps an error with what was being done, keeping the original as `cause`. */
export function wrapError(doing: string, error: unknown): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`while ${doing}: ${message}`, { cause: error });
}

export async function withContext<T>(doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw wrapError(doing, error);
  }
}

/** A prerequisite that the machine lacks: the message says what to install. */
export class MissingPrerequisiteError extends Error {}
