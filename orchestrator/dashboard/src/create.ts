// New rollout (#/new-rollout, operators only): release, target, waves and thresholds, then a
// confirmation that shows the computed wave sizes before anything is notified.
//
// The API has no dry run. The preview is the rollout itself, created with `start: false`
// (POST /v1/rollouts resolves the target and plans the waves, notifying nobody); "Start" sends
// POST /v1/rollouts/:id/start, and "Discard" aborts it, so it stays listed as aborted.
import type { RolloutSpecInput } from '../../rollouts/spec.js';
import type { RolloutView } from '../../rollouts/model.js';
import type { ReleaseSummary } from '../../releases/release-store.js';
import { api, banner, confirmAction, el, enc, failed, fillRows, h, session, td } from './core.js';

/** Cumulative percentages, comma-separated, as the operator types them. */
function parsePercents(text: string): number[] | string {
  const parts = text.split(',').map((p) => p.trim()).filter(Boolean);
  if (parts.length === 0) return 'give at least one wave, e.g. 10, 50, 100';
  const values = parts.map(Number);
  if (values.some((v) => !Number.isFinite(v) || v <= 0 || v > 100)) return 'each wave is a percentage above 0 and at most 100';
  if (values.some((v, i) => i > 0 && v <= values[i - 1]!)) return 'waves are cumulative: each percentage above the one before';
  if (values.at(-1) !== 100) return 'the last wave reaches 100 %';
  return values;
}

const list = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);

/** The spec from the form, or a message saying what to fix. */
function specFromForm(form: HTMLFormElement): RolloutSpecInput | string {
  const value = (name: string) => ((form.elements.namedItem(name) as HTMLInputElement | HTMLSelectElement | null)?.value ?? '').trim();
  const releaseId = value('releaseId');
  if (!releaseId) return 'choose a release';
  const percents = parsePercents(value('waves'));
  if (typeof percents === 'string') return percents;
  const success = Number(value('successThreshold'));
  const failure = Number(value('failureThreshold'));
  const bake = Number(value('bakeSeconds'));
  if (!(success >= 0 && success <= 100) || !(failure >= 0 && failure <= 100)) return 'thresholds are percentages from 0 to 100';
  if (!Number.isInteger(bake) || bake < 0) return 'bake time is a whole number of seconds';
  const promotion = value('promotion') === 'manual' ? 'manual' : 'auto';
  const target: NonNullable<RolloutSpecInput['target']> = {};
  if (list(value('groups')).length) target.groups = list(value('groups'));
  if (list(value('tags')).length) target.tags = list(value('tags'));
  if (value('installedReleaseId')) target.installedReleaseId = value('installedReleaseId');
  if (list(value('deviceIds')).length) target.deviceIds = list(value('deviceIds'));
  // The API never reads an empty target as the whole fleet: that is said with the checkbox.
  const all = (form.elements.namedItem('all') as HTMLInputElement | null)?.checked === true;
  if (all && Object.keys(target).length > 0) return 'untick "every device" or clear groups, tags, installed release and device ids';
  if (all) target.all = true;
  if (Object.keys(target).length === 0) return 'choose a target: groups, tags, installed release or device ids, or tick "every device"';
  return {
    releaseId,
    target,
    waves: percents.map((percent) => ({ percent, successThreshold: success / 100, failureThreshold: failure / 100, bakeSeconds: bake, promotion })),
    failureAction: value('failureAction') === 'abort' ? 'abort' : 'pause',
    start: false,
  };
}

let draft: RolloutView | null = null;

function showStep(step: 'form' | 'confirm'): void {
  el('create-form').hidden = step !== 'form';
  el('create-confirm').hidden = step !== 'confirm';
}

function renderPreview(view: RolloutView): void {
  el('preview-id').textContent = view.id;
  el('preview-summary').textContent = `${view.total} devices match the target; release ${view.releaseId}; on failure: ${view.spec.failureAction}.`;
  let cumulative = 0;
  fillRows('preview-waves', view.waves.map((w) => {
    cumulative += w.size;
    const spec = view.spec.waves[w.index];
    return h('tr', null, { 'data-testid': `preview-wave-${w.index}` },
      td(`Wave ${w.index + 1}`),
      td(w.size, { class: 'num', 'data-testid': `preview-wave-size-${w.index}` }),
      td(cumulative, { class: 'num' }),
      td(spec ? `${Math.round(spec.successThreshold * 100)} %` : '', { class: 'num' }),
      td(spec ? `${Math.round(spec.failureThreshold * 100)} %` : '', { class: 'num' }),
      td(spec ? `${spec.bakeSeconds} s` : '', { class: 'num' }),
      td(spec?.promotion ?? ''));
  }));
  el<HTMLButtonElement>('create-start').disabled = view.total === 0;
  el('preview-empty').hidden = view.total > 0;
}

async function preview(form: HTMLFormElement): Promise<void> {
  const spec = specFromForm(form);
  const error = el('create-error');
  error.textContent = typeof spec === 'string' ? spec : '';
  error.hidden = typeof spec !== 'string';
  if (typeof spec === 'string') return;
  const view = await api<RolloutView>('/v1/rollouts', { method: 'POST', body: spec }).catch(failed('Rollout preview'));
  if (!view) return;
  draft = view;
  renderPreview(view);
  showStep('confirm');
}

async function start(): Promise<void> {
  const view = draft;
  if (!view || !confirmAction(`Start rollout ${view.id} of ${view.releaseId} to ${view.total} devices? Wave 1 (${view.waves[0]?.size ?? 0} devices) is notified now.`)) return;
  const started = await api<RolloutView>(`/v1/rollouts/${enc(view.id)}/start`, { method: 'POST', body: {} }).catch(failed('Start'));
  if (!started) return;
  draft = null;
  location.hash = `#/rollouts/${enc(started.id)}`;
}

async function discard(): Promise<void> {
  const view = draft;
  if (!view) return;
  // Nothing was notified: aborting the unstarted rollout only marks it aborted.
  const done = await api<RolloutView>(`/v1/rollouts/${enc(view.id)}/abort`, { method: 'POST', body: { reason: 'discarded at confirmation' } }).catch(failed('Discard'));
  if (!done) return;
  draft = null;
  banner(`Rollout ${view.id} was discarded (it stays listed as aborted; nothing was notified).`);
  showStep('form');
}

export async function showCreate(params: URLSearchParams): Promise<void> {
  el('crumb').textContent = '/ new rollout';
  draft = null;
  showStep('form');
  el('create-error').hidden = true;
  el('create-readonly').hidden = session.operator;
  el<HTMLButtonElement>('create-preview').disabled = !session.operator;
  const releases = await api<{ releases: ReleaseSummary[] }>('/v1/releases?limit=100').catch(failed('Releases'));
  if (!releases) return;
  const select = el<HTMLSelectElement>('create-release');
  const wanted = params.get('release') ?? select.value;
  select.replaceChildren(h('option', 'choose a release', { value: '' }), ...releases.releases.map((r) => h('option', `${r.releaseId} · ${r.version} · ${r.vendorId}/${r.classId}`, { value: r.releaseId })));
  select.value = releases.releases.some((r) => r.releaseId === wanted) ? wanted : '';
}

export function initCreate(): void {
  const form = el<HTMLFormElement>('create-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    if (session.operator) void preview(form);
  });
  // A message about the previous attempt goes once the operator edits the form.
  form.addEventListener('input', () => {
    el('create-error').hidden = true;
  });
  el('create-start').addEventListener('click', () => void start());
  el('create-discard').addEventListener('click', () => void discard());
}
