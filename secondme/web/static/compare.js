// Compare (compare_ui.py): window.secondme.compare, the scripts of its events. A comparison is saved like any
// conversation (window.secondmeChats, saved.js), as a record of kind "compare" with two sides, each with its
// instance ID, the settings it sets apart from the main ones and its messages; saved.js opens, exports, imports
// and deletes it through openRecord, exportMarkdown, exportJson and deleted. The comparison open in this tab is
// remembered in sessionStorage (a reload opens it again); the main chat's own never is a comparison.
window.secondme = window.secondme || {};
(() => {
  const OPEN = 'secondme.compare', same = {__type__: 'update'};
  const C = () => window.secondmeChats;
  // The side's words, from the catalog (js.compare.*, words.json).
  const NAMES = ['same', 'differ', 'system', 'temperature', 'maxTokens', 'left', 'right', 'you', 'bot', 'with', 'as', 'saved', 'busy'];
  const w = () => Object.fromEntries(NAMES.map((n) => [n, window.secondme.say(`js.compare.${n}`)]));
  const text = (v) => (typeof v === 'string' ? v : '');
  const number = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  // An override's box of text as a number; blank (or not a number): none.
  const typed = (v) => (String(v ?? '').trim() === '' ? null : number(Number(String(v).trim())));
  const shown = (v) => (number(v) === null ? '' : String(v));
  const currentId = () => { try { return sessionStorage.getItem(OPEN); } catch { return null; } };
  const remember = (id) => { try { id ? sessionStorage.setItem(OPEN, id) : sessionStorage.removeItem(OPEN); }
    catch { /* no session storage */ } };
  // The values of the side's fields, in compare_ui.RECORD's order for one side.
  const side = (v) => ({messages: Array.isArray(v[0]) ? v[0] : [], instance_id: text(v[1]),
    settings: {system_prompt: text(v[2]), temperature: typed(v[3]), max_tokens: typed(v[4])}});
  const titleOf = (sides) => C().titleOf([...sides[0].messages, ...sides[1].messages]);
  const M = {
    // Send (or Enter): when there is a message and no side is still replying, it moves to the hidden field both
    // sides read, the box empties, both sides show Stop, and a hidden trigger each starts them (one trigger's
    // events would run one after the other). Otherwise the box keeps it, and a side still replying says so.
    take(message, pending, ...values) {
      const text = String(message ?? ''), sides = [...document.querySelectorAll('.compare-side')];
      if (!text.trim()) return [text, pending];
      if (sides.some((s) => s.classList.contains('busy'))) { M.hint(true); return [text, pending]; }
      const [shared, main] = [values.slice(10, 13), values.slice(13, 16)];
      const passing = ['a', 'b'].filter((_side, n) => M.passes(true, text, values.slice(n * 5, n * 5 + 5), shared, main));
      for (const side of passing) document.querySelector(`#compare-${side}`)?.classList.add('busy');
      setTimeout(() => { for (const s of ['a', 'b']) document.querySelector(`#compare-go-${s}`)?.click(); }, 0);
      // A side whose checks fail is refused, its problem shown at its field: the box keeps the message for it.
      return [passing.length === 2 ? '' : text, text];
    },
    // The browser's side of a side's validator (secondme.chat.ok, with its settings resolved as compare_ui.resolve
    // does): only a side that passes shows Stop (a refused event runs no step after it).
    passes(sending, message, [history, instance, system, temperature, maxTokens], [l0, roleId, endpoint],
           [mainSystem, mainTemperature, mainMaxTokens]) {
      const blank = (v) => String(v ?? '').trim() === '';
      return window.secondme.chat.ok(sending, message, history, instance, blank(system) ? mainSystem : system,
        blank(temperature) ? mainTemperature : Number(String(temperature).trim()),
        blank(maxTokens) ? mainMaxTokens : Number(String(maxTokens).trim()), l0, roleId, endpoint);
    },
    // A side that ended, failed or was stopped hides its Stop; a failure before the message showed in that
    // side's conversation (a refusal, a full queue) gives the message back to an empty box.
    idle(side, message, pending, history) {
      document.querySelector(`#compare-${side}`)?.classList.remove('busy');
      M.hint(false);
      const said = window.secondmeText.said, last = Array.isArray(history)
        ? [...history].reverse().find((m) => m?.role === 'user') : null;
      if (String(message ?? '').trim() || !String(pending ?? '').trim() || (last && said(last) === pending)) {
        return message;
      }
      return pending;
    },
    // Retry on a side shows its Stop, and passes the event's inputs on.
    busy(side, ...inputs) {
      const [history, instance, system, temperature, maxTokens, l0, roleId, endpoint, ...main] = inputs;
      if (M.passes(false, undefined, [history, instance, system, temperature, maxTokens], [l0, roleId, endpoint], main)) {
        document.querySelector(`#compare-${side}`)?.classList.add('busy');
      }
      return inputs;
    },
    // Clearing a side starts a new comparison (the cleared one stays saved).
    cleared(side) { document.querySelector(`#compare-${side}`)?.classList.remove('busy'); M.forget(); },
    focus() { document.querySelector('#compare-message textarea')?.focus(); },
    hint(on) {
      let hint = document.querySelector('#compare-hint');
      if (!on) { if (hint) hint.textContent = ''; return; }
      if (!hint) {
        hint = Object.assign(document.createElement('p'), {id: 'compare-hint', role: 'status'});
        document.querySelector('#compare-composer')?.after(hint);
      }
      hint.textContent = w().busy;
    },
    // The label of a side's "Settings that differ", naming those it sets.
    differ(system, temperature, maxTokens) {
      const words = w(), set = [];
      if (text(system).trim()) set.push(words.system);
      if (text(temperature).trim()) set.push(`${words.temperature} ${temperature.trim()}`);
      if (text(maxTokens).trim()) set.push(`${words.maxTokens} ${maxTokens.trim()}`);
      return {__type__: 'update', label: set.length ? words.differ + set.join(' · ') : words.same};
    },
    forget() { remember(null); },
    // A side's conversation changed: while a side streams, it is saved (#compare-live) at most once a second,
    // and once more a second after its last change.
    tick() {
      if (M.timer || !document.querySelector('.compare-side.busy')) return;
      M.timer = setTimeout(() => { M.timer = null; document.querySelector('#compare-live')?.click(); },
                           Math.max(0, (M.last || 0) + 1000 - Date.now()));
    },
    // A side's reply ended, failed or was stopped; and (live) while a side streams: the comparison is saved.
    save(...v) { return M.store(v, false); },
    live(...v) { return M.store(v, true); },
    // Saves the comparison in the tab (v: compare_ui.RECORD's values); live, only while a side streams.
    // Returns [the list, the note].
    store(v, live) {
      const busy = document.querySelector('.compare-side.busy');
      if (live && !busy) return [same, same];
      const sides = [side(v.slice(0, 5)), side(v.slice(5, 10))];
      if (!sides[0].messages.length && !sides[1].messages.length) return [same, same];
      if (!live) { clearTimeout(M.timer); M.timer = null; }
      M.last = Date.now();
      const id = currentId(), old = id ? C().get(id) : null, now = Date.now();
      const mine = old && old.kind === 'compare' ? old : null;
      const rec = {id: mine ? mine.id : C().newId(), kind: 'compare', title: mine?.title || titleOf(sides), sides,
        created: mine?.created || now, updated: now, rev: (mine?.rev || 0) + 1, app_version: C().version};
      const note = C().put(rec);
      if (C().saved) remember(rec.id);
      return [C().radio(rec.id), note || same];
    },
    // The fields of the comparison picked (compare_ui.OPEN_JS): none picked, the sides as they are.
    open() {
      const r = currentId() ? C().get(currentId()) : null;
      if (r?.kind !== 'compare' || !Array.isArray(r.sides)) {
        remember(null);
        return Array(10).fill(same);
      }
      const out = [];
      for (const s of [r.sides[0], r.sides[1]].map((x) => (x && typeof x === 'object' ? x : {}))) {
        const settings = s.settings && typeof s.settings === 'object' ? s.settings : {};
        out.push(window.secondmeText.guarded(s.messages), text(s.instance_id), text(settings.system_prompt),
                 shown(settings.temperature), shown(settings.max_tokens));
      }
      return out;
    },
    // Opens a saved comparison in the Compare tab (saved_ui's OPEN_JS and IMPORT_JS).
    openRecord(id) {
      remember(id);
      document.querySelector('#compare-tab-button')?.click();
      setTimeout(() => document.querySelector('#compare-open')?.click(), 0);
    },
    // A comparison was deleted from the list: if it is the one open, the sides empty.
    deleted(id) {
      if (id && currentId() !== id) return;
      remember(null);
      for (const s of ['a', 'b']) document.querySelector(`#${s}-conversation button[aria-label='Clear']`)?.click();
    },
    sidesOf(r) {
      return (Array.isArray(r.sides) ? r.sides.slice(0, 2) : []).map((x) => (x && typeof x === 'object' ? x : {}));
    },
    exportMarkdown(r) {
      const words = w(), lines = [`# ${r.title || 'Comparison'}`, ''];
      M.sidesOf(r).forEach((s, n) => {
        const name = n ? words.right : words.left, instance = text(s.instance_id);
        lines.push(`## ${name}${instance ? ` — ${words.with} \`${instance}\`` : ''}`, '');
        const settings = s.settings && typeof s.settings === 'object' ? s.settings : {};
        const set = [[words.system, text(settings.system_prompt)], [words.temperature, number(settings.temperature)],
          [words.maxTokens, number(settings.max_tokens)]].filter(([, v]) => v !== null && v !== '');
        if (set.length) lines.push(set.map(([k, v]) => `- ${k}: ${v}`).join('\n'), '');
        for (const m of Array.isArray(s.messages) ? s.messages : []) {
          const heading = window.secondmeText.written(m?.metadata?.title);
          const said = C().text(m);
          lines.push(heading ? `> **${heading}:** ${said}` : `**${m?.role === 'user' ? words.you : words.bot}:**\n\n${said}`,
                     '');
        }
      });
      C().download(`${(r.title || 'comparison').replace(/[^\w.-]+/g, '_').slice(0, 60)}.md`, 'text/markdown',
                   lines.join('\n'));
    },
    exportJson(r) {
      const doc = {app: 'secondme-chat', app_version: C().version, exported_at: new Date().toISOString(),
        kind: 'compare', title: r.title || 'Comparison',
        created: r.created ? new Date(r.created).toISOString() : null,
        updated: r.updated ? new Date(r.updated).toISOString() : null,
        sides: M.sidesOf(r).map((s) => {
          const settings = s.settings && typeof s.settings === 'object' ? s.settings : {};
          return {instance_id: text(s.instance_id), settings: {system_prompt: text(settings.system_prompt),
            temperature: number(settings.temperature), max_tokens: number(settings.max_tokens)},
          messages: (Array.isArray(s.messages) ? s.messages : []).map((m) => (m?.metadata?.title
            ? {role: m.role, title: window.secondmeText.written(m.metadata.title), content: C().text(m)}
            : {role: m?.role, content: C().text(m)}))};
        })};
      C().download(`${doc.title.replace(/[^\w.-]+/g, '_').slice(0, 60)}.json`, 'application/json',
                   JSON.stringify(doc, null, 2));
    },
  };
  window.secondme.compare = M;
  // Esc in the Compare tab stops every side that streams.
  document.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || !e.target?.closest?.('#compare-tab')) return;
    const busy = [...document.querySelectorAll('.compare-side.busy')];
    if (!busy.length) return;
    for (const s of busy) s.querySelector('.compare-stop')?.click();
    e.preventDefault();
  });
})();
