import { STATUSES, isTerminal, transition, type Action, type Status } from '../../shared/investigations/state-machine.js';

const ALLOWED: Record<Action, Partial<Record<Status, Status>>> = {
  start: { queued: 'running' },
  complete: { running: 'completed' },
  fail: { queued: 'failed', running: 'failed' },
  cancel: { queued: 'cancelled', running: 'cancelled' },
  requeue: { running: 'queued' },
  close: { completed: 'closed' },
  reopen: { closed: 'completed' },
};

describe('investigation state machine', () => {
  for (const action of Object.keys(ALLOWED) as Action[]) {
    for (const from of STATUSES) {
      const expected = ALLOWED[action][from];
      it(`${action} from ${from} → ${expected ?? 'refused'}`, () => {
        const result = transition(from, action);
        if (expected) expect(result).toEqual({ ok: true, to: expected });
        else expect(result.ok).toBe(false);
      });
    }
  }

  it('closed and cancelled are terminal, queued and running are not', () => {
    expect(STATUSES.filter(isTerminal)).toEqual(['completed', 'failed', 'cancelled', 'closed']);
  });
});
