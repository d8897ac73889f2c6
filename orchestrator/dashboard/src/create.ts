// New rollout (#/new-rollout, operators only): release, target, waves and thresholds, then a
// confirmation showing the dry run before anything is written or notified.
//
// The preview is POST /v1/rollouts/preview (writes nothing): wave sizes, devices excluded and
// why, the estimate and the blast-radius bound, planned under an id. "Start" creates the rollout
// under that id (so with exactly the previewed members) and starts it; "Discard" only goes back.
import type { RolloutSpecInput } from '../../rollouts/spec.js';
import type { RolloutView } from '../../rollouts/model.js';
import type { RolloutPreview } from '../../rollouts/plan-rollout.js';
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
  const inFlight = value('maxInFlight');
  if (inFlight && !(Number.isInteger(Number(inFlight)) && Number(inFlight) >= 1)) return 'devices in flight is a whole number of at least 1, or empty';
  return {
    ...(inFlight ? { maxInFlight: Number(inFlight) } : {}),
    releaseId,
    target,
    waves: percents.map((percent) => ({ percent, successThreshold: success / 100, failureThreshold: failure / 100, bakeSeconds: bake, promotion })),
    failureAction: value('failureAction') === 'abort' ? 'abort' : 'pause',
    start: false,
  };
}

let draft: { spec: RolloutSpecInput; preview: RolloutPreview } | null = null;

function showStep(step: 'form' | 'confirm'): void {
  el('create-form').hidden = step !== 'form';
  el('create-confirm').hidden = step !== 'confirm';
}

function renderPreview(spec: RolloutSpecInput, p: RolloutPreview): void {
  el('preview-id').textContent = p.id;
  el('preview-summary').textContent = `${p.targets} devices in the rollout; release ${p.releaseId}; on failure: ${spec.failureAction ?? 'pause'}. Nothing is written or notified until you start it.`;
  let cumulative = 0;
  fillRows('preview-waves', p.waves.map((w) => {
    cumulative += w.size;
    const wave = spec.waves?.[w.index];
    return h('tr', null, { 'data-testid': `preview-wave-${w.index}` },
      td(`Wave ${w.index + 1}`),
      td(w.size, { class: 'num', 'data-testid': `preview-wave-size-${w.index}` }),
      td(cumulative, { class: 'num' }),
      td(wave?.successThreshold !== undefined ? `${Math.round(wave.successThreshold * 100)} %` : '', { class: 'num' }),
      td(`${Math.round(w.failureThreshold * 100)} %`, { class: 'num' }),
      td(wave?.bakeSeconds !== undefined ? `${wave.bakeSeconds} s` : '', { class: 'num' }),
      td(wave?.promotion ?? ''));
  }));
  const excluded = Object.entries(p.excluded).filter(([, list]) => list.count > 0);
  fillRows('preview-excluded', excluded.length === 0
    ? [h('tr', null, undefined, td('none', { colspan: '3' }))]
    : excluded.map(([reason, list]) => h('tr', null, { 'data-testid': `preview-excluded-${reason}` },
      td(reason.replace('_', ' ')), td(list.count, { class: 'num' }), td(`${list.ids.join(', ')}${list.truncated ? ', …' : ''}`))));
  el('preview-blast').textContent = `At most ${p.blastRadius.bound} devices can install a failing release before the rollout stops (${p.blastRadius.basis}).`;
  el('preview-estimate').textContent = `Estimated duration: at least ${p.estimatedSeconds} s (${p.estimateBasis}).`;
  const refused = p.refusal !== undefined;
  el('preview-refusal').textContent = refused ? `Creating it would be refused: ${p.refusal!.message}` : '';
  el('preview-refusal').hidden = !refused;
  el<HTMLButtonElement>('create-start').disabled = p.targets === 0 || refused;
  el('preview-empty').hidden = p.targets > 0;
}

async function preview(form: HTMLFormElement): Promise<void> {
  const spec = specFromForm(form);
  const error = el('create-error');
  error.textContent = typeof spec === 'string' ? spec : '';
  error.hidden = typeof spec !== 'string';
  if (typeof spec === 'string') return;
  const result = await api<RolloutPreview>('/v1/rollouts/preview', { method: 'POST', body: spec }).catch(failed('Rollout preview'));
  if (!result) return;
  draft = { spec, preview: result };
  renderPreview(spec, result);
  showStep('confirm');
}

async function start(): Promise<void> {
  const current = draft;
  if (!current) return;
  const { spec, preview: p } = current;
  if (!confirmAction(`Start rollout ${p.id} of ${p.releaseId} to ${p.targets} devices? Wave 1 (${p.waves[0]?.size ?? 0} devices) is notified now.`)) return;
  // The previewed id: the same members as the preview (waves are planned from the id).
  const created = await api<RolloutView>('/v1/rollouts', { method: 'POST', body: { ...spec, id: p.id, start: true } }).catch(failed('Start'));
  if (!created) return;
  draft = null;
  location.hash = `#/rollouts/${enc(created.id)}`;
}

function discard(): void {
  if (!draft) return;
  // Nothing was written: going back is all there is to do.
  banner(`Rollout ${draft.preview.id} was not created; nothing was written or notified.`);
  draft = null;
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
  el('create-discard').addEventListener('click', () => discard());
}
