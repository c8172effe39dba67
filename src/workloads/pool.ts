/**
 * Runs `total` jobs with at most `concurrency` in flight (a closed loop): each worker takes the next
 * index as soon as its previous job finished.
 */
export async function runClosedLoop(
  total: number,
  concurrency: number,
  job: (index: number) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < total && !signal?.aborted) {
      const index = next++;
      await job(index);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total)) }, worker));
}
