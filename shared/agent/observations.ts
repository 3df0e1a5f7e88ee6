import type { LinkedAccounts, UsageTimeline } from './model.js';
import type { LinkRow, UsageRow } from './steps.js';

/**
 * The compact copies of step rows that an investigation keeps for its report: daily usage per
 * account and the linked accounts. Built from rows that already hold no personal data (user ids,
 * dates, counts, link types, statuses). Bounded so the stored investigation stays well under
 * Firestore's 1 MiB document limit whatever the warehouse returns.
 */
export const MAX_TIMELINE_DAYS = 4000;
export const MAX_LINKED_ACCOUNTS = 500;

export function usageTimeline(rows: readonly UsageRow[], since: string, until: string): UsageTimeline {
  const byAccount = new Map<string, { date: string; characters: number; requests: number }[]>();
  let kept = 0;
  let omitted = 0;
  const sorted = [...rows].sort((a, b) => a.user_id.localeCompare(b.user_id) || a.usage_date.localeCompare(b.usage_date));
  for (const r of sorted) {
    if (kept >= MAX_TIMELINE_DAYS) {
      omitted++;
      continue;
    }
    const days = byAccount.get(r.user_id) ?? [];
    days.push({ date: r.usage_date, characters: r.characters, requests: r.requests });
    byAccount.set(r.user_id, days);
    kept++;
  }
  return {
    since,
    until,
    accounts: [...byAccount].map(([user_id, days]) => ({ user_id, days })),
    omitted_days: omitted,
  };
}

/** One entry per (subject account, linked account), its link types merged; enforced accounts first. */
export function linkedAccountList(rows: readonly LinkRow[]): LinkedAccounts {
  const merged = new Map<string, LinkedAccounts['items'][number]>();
  for (const r of rows) {
    const key = `${r.subject_user_id}|${r.linked_user_id}`;
    const entry = merged.get(key);
    if (entry) {
      if (!entry.link_types.includes(r.link_type)) entry.link_types.push(r.link_type);
      entry.shared_identifiers += r.shared_identifiers;
    } else {
      merged.set(key, {
        subject_user_id: r.subject_user_id,
        linked_user_id: r.linked_user_id,
        link_types: [r.link_type],
        shared_identifiers: r.shared_identifiers,
        status: r.linked_status,
        created_at: r.linked_created_at,
      });
    }
  }
  const order = ['card', 'device', 'ip'];
  const enforced = (s: string) => (s === 'banned' ? 0 : s === 'suspended' ? 1 : 2);
  const items = [...merged.values()]
    .map((e) => ({ ...e, link_types: [...e.link_types].sort((a, b) => order.indexOf(a) - order.indexOf(b)) }))
    .sort(
      (a, b) =>
        a.subject_user_id.localeCompare(b.subject_user_id) || enforced(a.status) - enforced(b.status) || a.linked_user_id.localeCompare(b.linked_user_id),
    );
  return { items: items.slice(0, MAX_LINKED_ACCOUNTS), omitted: Math.max(0, items.length - MAX_LINKED_ACCOUNTS) };
}
