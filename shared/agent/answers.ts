import { formatNumber, groupBy, LINK_WORDS, plural, spikeDays, type Observations } from './analyse.js';
import type { Answer } from './model.js';
import type { Intent } from './question.js';

/**
 * Direct answers to what the question asked, from the same rows the findings use. An answer is
 * not a finding: "voice X was used by 3 accounts" carries no risk by itself, and a clean subject
 * gets an answer that says "no" rather than an invented finding. Ids only, never personal data.
 * Each answer cites the rows it rests on (an answer of "none" cites none).
 */
const LINK_FOR: Partial<Record<Intent, 'card' | 'device' | 'ip'>> = { linked_card: 'card', linked_device: 'device', linked_ip: 'ip' };

export function answerQuestion(intents: readonly Intent[], obs: Observations): Answer[] {
  const out: Answer[] = [];
  if ((intents.includes('voice_users') || intents.includes('impersonation')) && obs.voiceUsers) out.push(...voiceAnswers(obs));
  for (const intent of intents) {
    const type = LINK_FOR[intent];
    if (type && obs.linked) out.push(linkAnswer(obs, type));
  }
  if (intents.includes('linked') && obs.linked) out.push(linkAnswer(obs, null));
  if (intents.includes('usage_spike') && obs.usage) out.push(...spikeAnswers(obs));
  return out;
}

function voiceAnswers(obs: Observations): Answer[] {
  const rows = obs.voiceUsers!.rows;
  const days = obs.usageWindowDays ?? obs.windowDays;
  if (!rows.length) {
    return [{ topic: 'voice_users', text: `No account used the voice(s) in the last ${days} days.`, evidence: [] }];
  }
  return [...groupBy(rows, (r) => r.voice_id)].map(([voiceId, users]) => {
    const owner = users[0]!.owner_user_id;
    const others = users.filter((u) => u.user_id !== owner);
    const list = users
      .slice()
      .sort((a, b) => b.requests - a.requests || a.user_id.localeCompare(b.user_id))
      .slice(0, 10)
      .map((u) => `${u.user_id} (${[u.user_id === owner ? 'owner' : null, u.account_status !== 'active' ? u.account_status : null, plural(u.requests, 'request'), `${formatNumber(u.characters)} characters`].filter(Boolean).join(', ')})`)
      .join('; ');
    const more = users.length > 10 ? ` and ${users.length - 10} more` : '';
    const enforced = others.filter((u) => u.account_status === 'banned' || u.account_status === 'suspended').length;
    return {
      topic: 'voice_users',
      text:
        `Voice ${voiceId}${owner ? ` (owned by ${owner})` : ''} was used by ${plural(users.length, 'account')} in the last ${days} days` +
        `${owner ? ` (${others.length} besides the owner)` : ''}: ${list}${more}.` +
        (enforced ? ` ${plural(enforced, 'of them is', 'of them are')} banned or suspended.` : ''),
      evidence: [obs.voiceUsers!.cite(users.map((u) => `${u.voice_id}|${u.user_id}`))],
    };
  });
}

function linkAnswer(obs: Observations, type: 'card' | 'device' | 'ip' | null): Answer {
  const rows = obs.linked!.rows.filter((r) => type === null || r.link_type === type);
  const what = type ? LINK_WORDS[type] : 'a payment card, login device or IP address';
  const topic = type ? `linked_${type}` : 'linked';
  if (!rows.length) {
    return { topic, text: `No other account shares ${what} with ${obs.accounts.join(', ')} in the last ${obs.historyDays} days.`, evidence: [] };
  }
  const status = new Map(rows.map((r) => [r.linked_user_id, r.linked_status]));
  const ids = [...status.keys()].sort();
  const list = ids.slice(0, 15).map((id) => (status.get(id) === 'active' ? id : `${id} (${status.get(id)})`)).join(', ');
  return {
    topic,
    text: `${plural(ids.length, 'other account')} ${ids.length === 1 ? 'shares' : 'share'} ${what} with ${obs.accounts.join(', ')} in the last ${obs.historyDays} days: ${list}${ids.length > 15 ? ` and ${ids.length - 15} more` : ''}.`,
    evidence: [obs.linked!.cite(rows.map((r) => `${r.subject_user_id}|${r.linked_user_id}|${r.link_type}`))],
  };
}

function spikeAnswers(obs: Observations): Answer[] {
  const since = obs.usageFocusSince;
  const period = since ? `since ${since}` : `in the last ${obs.usageWindowDays ?? obs.windowDays} days`;
  return obs.accounts.map((userId) => {
    const days = obs.usage!.rows.filter((r) => r.user_id === userId);
    const inPeriod = days.filter((d) => !since || d.usage_date >= since);
    const spikes = spikeDays(days).filter((d) => !since || d.usage_date >= since);
    if (spikes.length) {
      const top = spikes.reduce((a, b) => (b.ratio > a.ratio ? b : a));
      return {
        topic: 'usage_spike',
        text: `Yes: ${userId} synthesised ${formatNumber(top.characters)} characters on ${top.usage_date}, ${Math.round(top.ratio)}x its baseline of ${formatNumber(top.baseline)} a day (${plural(spikes.length, 'spike day')} ${period}).`,
        evidence: [obs.usage!.cite(spikes.map((s) => `${userId}|${s.usage_date}`))],
      };
    }
    if (!inPeriod.length) return { topic: 'usage_spike', text: `No: ${userId} has no usage ${period}.`, evidence: [] };
    const peak = inPeriod.reduce((a, b) => (b.characters > a.characters ? b : a));
    return {
      topic: 'usage_spike',
      text: `No: ${userId}'s busiest day ${period} was ${peak.usage_date} with ${formatNumber(peak.characters)} characters, not a spike against its own baseline.`,
      evidence: [obs.usage!.cite([`${userId}|${peak.usage_date}`])],
    };
  });
}
