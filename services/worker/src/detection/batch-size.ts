import type { ModelDescription } from '@framewise/detector';

/**
 * How many frame jobs to claim at once. A dynamic-batch model runs up to `maxBatch` images per
 * call, so claims match that. A fixed-batch model runs exactly its batch per call; claims are
 * the largest multiple of it within `maxBatch` (at least one model batch), because a claim is
 * also the unit of the results write and of the ack, and one statement per frame would make
 * Postgres the bottleneck long before the model is.
 */
export function claimBatchSize(
  model: Pick<ModelDescription, 'dynamicBatch' | 'batchSize'>,
  maxBatch: number,
): number {
  const max = Math.max(1, Math.floor(maxBatch));
  if (model.dynamicBatch) return Math.max(1, Math.min(max, model.batchSize));
  const per = Math.max(1, model.batchSize);
  return per * Math.max(1, Math.floor(max / per));
}
