import { describe, expect, it } from 'vitest';
import { quotaWindow } from 'src/modules/model-router/usage/quota-windows';

describe('quotaWindow', () => {
  it('cuts days at UTC midnight, whatever the offset the time was written in', () => {
    expect(quotaWindow('day', new Date('2026-11-05T23:30:00-05:00'))).toEqual({
      label: '2026-11-06',
      startsAt: new Date('2026-11-06T00:00:00.000Z'),
      resetsAt: new Date('2026-11-07T00:00:00.000Z'),
    });
    expect(quotaWindow('day', new Date('2026-11-06T00:00:00.000Z')).label).toBe('2026-11-06');
    expect(quotaWindow('day', new Date('2026-11-05T23:59:59.999Z')).label).toBe('2026-11-05');
  });

  it('cuts months on the first of the month, across years and leap days', () => {
    expect(quotaWindow('month', new Date('2026-12-31T23:59:59.999Z'))).toEqual({
      label: '2026-12',
      startsAt: new Date('2026-12-01T00:00:00.000Z'),
      resetsAt: new Date('2027-01-01T00:00:00.000Z'),
    });
    expect(quotaWindow('day', new Date('2028-02-28T12:00:00Z')).resetsAt).toEqual(new Date('2028-02-29T00:00:00.000Z'));
    expect(quotaWindow('month', new Date('2028-02-29T12:00:00Z'))).toMatchObject({
      label: '2028-02',
      resetsAt: new Date('2028-03-01T00:00:00.000Z'),
    });
  });
});
