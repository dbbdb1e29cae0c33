import { claimBatchSize } from './batch-size';

describe('claimBatchSize', () => {
  it('follows a dynamic-batch model up to the configured maximum', () => {
    expect(claimBatchSize({ dynamicBatch: true, batchSize: 8 }, 16)).toBe(8);
    expect(claimBatchSize({ dynamicBatch: true, batchSize: 8 }, 4)).toBe(4);
  });

  it('claims whole model batches of a fixed-batch model', () => {
    expect(claimBatchSize({ dynamicBatch: false, batchSize: 1 }, 8)).toBe(8);
    expect(claimBatchSize({ dynamicBatch: false, batchSize: 4 }, 10)).toBe(8);
    expect(claimBatchSize({ dynamicBatch: false, batchSize: 4 }, 2)).toBe(4);
  });
});
