import { recommendAction, scoreRisk, signalPoints, SIGNAL_WEIGHTS } from '../../shared/agent/scoring.js';

describe('risk scoring', () => {
  it('weighs a signal by its first occurrence, each further one, and its cap', () => {
    expect(signalPoints('moderation_high', 1)).toBe(15);
    expect(signalPoints('moderation_high', 2)).toBe(20);
    expect(signalPoints('moderation_high', 10)).toBe(SIGNAL_WEIGHTS.moderation_high.max);
    expect(signalPoints('usage_spike', 0)).toBe(0);
  });

  it('adds counts of one signal across accounts before weighing, and caps the total at 100', () => {
    const risk = scoreRisk([
      { signal: 'linked_banned_or_suspended', count: 2, detail: 'a' },
      { signal: 'linked_banned_or_suspended', count: 2, detail: 'b' },
    ]);
    expect(risk).toEqual({ score: 36, contributions: [{ signal: 'linked_banned_or_suspended', points: 36, detail: 'a; b', count: 4 }] });
    const everything = scoreRisk((Object.keys(SIGNAL_WEIGHTS) as (keyof typeof SIGNAL_WEIGHTS)[]).map((signal) => ({ signal, count: 5, detail: signal })));
    expect(everything.score).toBe(100);
    expect(everything.contributions[0]!.points).toBeGreaterThanOrEqual(everything.contributions.at(-1)!.points);
  });

  it('scores nothing for no signals', () => {
    expect(scoreRisk([])).toEqual({ score: 0, contributions: [] });
  });
});

describe('recommended action', () => {
  const risk = (score: number) => ({ score, contributions: [] });
  const f = (type: string, escalate = false) => ({ type, escalate });

  it('recommends nothing for a subject that was not found, or a clean one', () => {
    expect(recommendAction({ resolved: false, findings: [], risk: risk(0), incomplete: false }).action).toBe('none');
    expect(recommendAction({ resolved: true, findings: [], risk: risk(0), incomplete: false })).toEqual({ action: 'none', reason: 'No abuse signals were found.' });
    expect(recommendAction({ resolved: true, findings: [], risk: risk(0), incomplete: false, focused: true }).reason).toMatch(/in the checks the question asked for/);
  });

  it.each([
    [0, 'none'],
    [9, 'none'],
    [10, 'monitor'],
    [30, 'warn'],
    [55, 'suspend'],
    [80, 'ban'],
    [100, 'ban'],
  ])('maps score %i to %s', (score, action) => {
    expect(recommendAction({ resolved: true, findings: [f('linked_accounts')], risk: risk(score), incomplete: false }).action).toBe(action);
  });

  it('escalates any escalated finding whatever the score', () => {
    expect(recommendAction({ resolved: true, findings: [f('moderation_history', true)], risk: risk(5), incomplete: false }).action).toBe('escalate');
  });

  it('raises ban evasion to at least suspend, and an incomplete run to at least monitor', () => {
    expect(recommendAction({ resolved: true, findings: [f('ban_evasion')], risk: risk(45), incomplete: false }).action).toBe('suspend');
    expect(recommendAction({ resolved: true, findings: [f('ban_evasion')], risk: risk(90), incomplete: false }).action).toBe('ban');
    const incomplete = recommendAction({ resolved: true, findings: [], risk: risk(0), incomplete: true });
    expect(incomplete.action).toBe('monitor');
    expect(incomplete.reason).toMatch(/incomplete/);
  });
});
