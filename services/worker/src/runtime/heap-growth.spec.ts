import { applyHeapGrowth } from './heap-growth';

describe('applyHeapGrowth', () => {
  it('sets V8 heap growth to the percentage', () => {
    const set: string[] = [];
    expect(applyHeapGrowth(300, (flags) => set.push(flags))).toBe(true);
    expect(set).toEqual(['--heap-growing-percent=300']);
  });

  it('leaves V8 heuristic alone at 0', () => {
    const set: string[] = [];
    expect(applyHeapGrowth(0, (flags) => set.push(flags))).toBe(false);
    expect(set).toEqual([]);
  });

  it('refuses a percentage V8 would misread', () => {
    expect(() => applyHeapGrowth(-1, () => undefined)).toThrow(RangeError);
    expect(() => applyHeapGrowth(2.5, () => undefined)).toThrow(/whole percentage/);
  });
});
