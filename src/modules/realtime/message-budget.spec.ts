import { describe, expect, it } from 'vitest';
import { MessageBudget } from 'src/modules/realtime/message-budget';

describe('MessageBudget', () => {
  it('allows a burst, refuses beyond it and refills with time', () => {
    let now = 1_000;
    const budget = new MessageBudget(3, 2, () => now);
    expect([budget.take(), budget.take(), budget.take(), budget.take()]).toEqual([true, true, true, false]);
    now += 250;
    expect(budget.take()).toBe(false);
    now += 250;
    expect(budget.take()).toBe(true);
    expect(budget.take()).toBe(false);
  });

  it('never saves up more than the burst', () => {
    let now = 0;
    const budget = new MessageBudget(2, 10, () => now);
    now += 60_000;
    expect([budget.take(), budget.take(), budget.take()]).toEqual([true, true, false]);
  });
});
