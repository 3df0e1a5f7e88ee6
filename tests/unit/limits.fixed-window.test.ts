import { decide } from '../../shared/limits/fixed-window.js';

describe('fixed-window rate limit', () => {
  const minute = 60_000;
  it('allows up to the limit within one window and counts each call', () => {
    expect(decide(0, 2, minute, 5_000)).toMatchObject({ allowed: true, count: 1, windowStartMs: 0 });
    expect(decide(1, 2, minute, 5_000)).toMatchObject({ allowed: true, count: 2 });
  });
  it('refuses past the limit and says when the window resets', () => {
    expect(decide(2, 2, minute, 45_500)).toMatchObject({ allowed: false, retryAfterSeconds: 15 });
  });
  it('never tells a caller to retry in less than a second', () => {
    expect(decide(2, 2, minute, 59_999).retryAfterSeconds).toBe(1);
  });
});
