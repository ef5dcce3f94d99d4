/** Runs `work`, wrapping any failure with what was being done; the original stays as `cause`. */
export async function withContext<T>(doing: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`while ${doing}: ${message}`, { cause: error });
  }
}
