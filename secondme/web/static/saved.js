// Saved conversations, in the visitor's browser and nowhere else (saved_ui.py): window.secondmeChats, the store, and
// window.secondme.saved, the scripts of the events saved_ui.wire sets up. Limits from window.secondmeConfig.saved.
(() => {
  const CONFIG = window.secondmeConfig.saved;
  const PREFIX = 'secondme.chat.', CURRENT = 'secondme.current', DRAFT = 'secondme.draft', MAX = CONFIG.maxChats,
    MAX_CHARS = CONFIG.maxChars;
  // The page's storage, or null where the browser keeps nothing (a full one, with something in it, is there).
  const store = () => { try { const s = window.localStorage;
    try { s.setItem('secondme.probe', '1'); s.removeItem('secondme.probe'); } catch (e) { if (!s.length) return null; }
    return s; } catch (e) { return null; } };
  const C = {
    version: CONFIG.version,
    all() {
      const s = store(); if (!s) return [];
      const found = [];
      for (let i = 0; i < s.length; i++) {
        const key = s.key(i);
        if (!key || !key.startsWith(PREFIX)) continue;
        try { const r = JSON.parse(s.getItem(key)); if (r && r.id) found.push(r); } catch (e) { /* skip */ }
      }
      return found.sort((a, b) => (b.updated || 0) - (a.updated || 0));
    },
    get(id) { const s = store(); if (!s || !id) return null;
      try { return JSON.parse(s.getItem(PREFIX + id)); } catch (e) { return null; } },
    radio(value) { return {__type__: 'update', choices: C.all().map(r => [r.title || 'Untitled', r.id]),
      value: value || null}; },
    newId() { return Date.now().toString(36) + Math.random().toString(36).slice(2, 8); },
    text(m) { return window.secondmeText.said(m); },
    titleOf(history) { const first = history.find(m => m?.role === 'user');
      const t = first ? C.text(first).trim().replace(/\s+/g, ' ') : '';
      return t ? (t.length > 48 ? t.slice(0, 47) + '…' : t) : 'Untitled'; },
    current(id) { try { id ? sessionStorage.setItem(CURRENT, id) : sessionStorage.removeItem(CURRENT); }
      catch (e) { /* no session storage */ } },
    currentId() { try { return sessionStorage.getItem(CURRENT); } catch (e) { return null; } },
    // Markdown-safe text for the page's notes (a title is the visitor's own words).
    md(t) { const bs = String.fromCharCode(92), special = bs + '`*_{}[]()#+-.!<>&|~';
      return [...String(t ?? '')].map(c => (special.includes(c) ? bs + c : c)).join(''); },
    // Saves one conversation. Past the limits, or when the browser's storage is full, the oldest others go,
    // one at a time and only until it fits; if it still does not fit, they are all put back. Returns a note or ''.
    put(rec) {
      const s = store();
      C.saved = false;
      if (!s) return 'This browser does not let the page keep conversations (private mode?): this one is not saved.';
      const text = JSON.stringify(rec), others = C.all().filter(r => r.id !== rec.id);  // newest first
      const evicted = [];
      let count = others.length + 1;
      let chars = others.reduce((n, r) => n + (s.getItem(PREFIX + r.id) || '').length, text.length);
      const evict = () => {
        const r = others.pop(), raw = s.getItem(PREFIX + r.id) || '';
        s.removeItem(PREFIX + r.id); evicted.push([r, raw]); count--; chars -= raw.length;
      };
      while (others.length && (count > MAX || (chars > MAX_CHARS && text.length <= MAX_CHARS))) evict();
      for (;;) {
        try { s.setItem(PREFIX + rec.id, text); C.saved = true; break; }
        catch (e) {
          if (others.length) { evict(); continue; }
          for (const [r, raw] of evicted) { try { s.setItem(PREFIX + r.id, raw); } catch (e2) { /* as it was */ } }
          return "The browser's storage is full: this conversation is not saved, and no other was removed. "
            + 'Export it (⬇ JSON) to keep it, or delete conversations you no longer need.';
        }
      }
      if (!evicted.length) return '';
      const titles = evicted.map(([r]) => `“${C.md(r.title || 'Untitled')}”`).join(', ');
      return `Older conversations were removed to make room in this browser (it keeps the newest ${MAX}, `
        + `${MAX_CHARS.toLocaleString('en')} characters in all, as far as its storage allows): ${titles}.`;
    },
    seen: Object.create(null),  // id -> the rev of it this tab last opened or saved
    forked: Object.create(null),  // id -> the conversation this tab's turns went to instead (another tab changed it)
    // Saves this tab's conversation. When another tab saved it since this tab last opened or saved it, and
    // this tab's messages do not simply continue that version, this tab's is saved as a new conversation
    // instead: neither tab's turns are lost. Returns [record, note].
    save(history, id, title, instance, settings) {
      clearTimeout(C.timer); C.timer = null;
      id = id || C.currentId() || '';  // the box for the id may not have its first save's id yet
      id = C.forked[id] || id;
      const old = id ? C.get(id) : null, now = Date.now();
      const name = (title || '').trim() || old?.title || C.titleOf(history);
      const fork = old && id in C.seen && (old.rev || 0) !== C.seen[id] && !C.continues(history, old.messages || []);
      const rec = {id: fork || !id ? C.newId() : id, title: fork ? `${name} (copy)` : name, instance_id: instance ?? '',
        settings, messages: history, created: (!fork && old?.created) || now, updated: now,
        rev: fork ? 1 : (old?.rev || 0) + 1, app_version: C.version};
      let note = C.put(rec);
      if (C.saved) C.seen[rec.id] = rec.rev;
      if (fork) {
        C.forked[id] = rec.id;
        note = `Another tab changed “${C.md(name)}” meanwhile: this tab's conversation is saved as a new one, `
          + `“${C.md(rec.title)}”, and the other tab's stays as it was. ${note}`.trim();
      }
      C.current(rec.id);
      return [rec, note];
    },
    continues(history, older) {
      return older.length <= history.length && older.every((m, i) => JSON.stringify(m) === JSON.stringify(history[i]));
    },
    // While a reply streams (or waits), the conversation is saved at most once a second, and once more a second
    // after its last change: a restart of the server, a reload or a closed tab loses none of it.
    live(args) {
      const wait = (C.lastLive || 0) + 1000 - Date.now(), id = args[1];
      if (id && wait > 0) {
        clearTimeout(C.timer);
        C.timer = setTimeout(() => {
          C.timer = null;
          if (C.currentId() !== (C.forked[id] || id)) return;  // another conversation is open now
          C.lastLive = Date.now();
          C.liveNote = C.save(...args)[1] || C.liveNote;
        }, wait);
        return null;
      }
      C.lastLive = Date.now();
      const [rec, note] = C.save(...args);
      C.liveNote = note || C.liveNote;
      return rec;
    },
    // What was typed in the message box and not sent survives a reload of this tab (sessionStorage).
    draft() { try { const d = sessionStorage.getItem(DRAFT); sessionStorage.removeItem(DRAFT); return d; }
      catch (e) { return null; } },
    remove(id) { const s = store(); if (s && id) s.removeItem(PREFIX + id); },
    clear() { const s = store(); if (!s) return;
      Object.keys(s).filter(k => k.startsWith(PREFIX)).forEach(k => s.removeItem(k)); },
    download(name, type, text) {
      const url = URL.createObjectURL(new Blob([text], {type}));
      const a = Object.assign(document.createElement('a'), {href: url, download: name});
      document.body.appendChild(a); a.click(); a.remove(); setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  };
  window.secondmeChats = C;
  window.addEventListener('pagehide', () => {
    const text = document.querySelector('#message textarea')?.value;
    try { if (text?.trim()) sessionStorage.setItem(DRAFT, text); } catch (e) { /* no session storage */ }
  });
  window.addEventListener('storage', (e) => {
    if (e.key === null || e.key.startsWith(PREFIX)) document.querySelector('#refresh-chats')?.click();
  });
})();

window.secondme = window.secondme || {};
(() => {
  const CONFIG = window.secondmeConfig.saved, C = window.secondmeChats;
  // What a conversation is saved with (saved_ui.SETTINGS), from the events' inputs in saved_ui.RECORD's order.
  const settingsOf = (system, temperature, maxTokens, l0, roleId, endpoint) =>
    ({system_prompt: system, temperature, max_tokens: maxTokens, l0, role_id: roleId, endpoint});
  // A saved conversation shown: its messages, its instance ID and its settings (missing ones stay as they are);
  // `missing` is the note when there is none.
  const opened = (r, missing, history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint) => {
    if (!r) return [C.radio(id), history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint,
                    missing];
    const s = r.settings || {}, or = (v, d) => (v === undefined || v === null ? d : v);
    C.current(r.id); C.seen[r.id] = r.rev || 0;
    return [C.radio(r.id), window.secondmeText.guarded(r.messages), r.id, r.title || '', or(r.instance_id, instance),
            or(s.system_prompt, system), or(s.temperature, temperature), or(s.max_tokens, maxTokens), or(s.l0, l0),
            or(s.role_id, roleId), or(s.endpoint, endpoint), ''];
  };
  const S = {
    // A reply ended, was stopped or failed: the conversation is saved.
    save(history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint) {
      const live = C.liveNote || '';
      C.liveNote = '';
      if (!Array.isArray(history) || !history.length) return [C.radio(id), id, title, live];
      const [rec, note] = C.save(history, id, title, instance,
        settingsOf(system, temperature, maxTokens, l0, roleId, endpoint));
      return [C.radio(rec.id), rec.id, rec.title, [live, note].filter(Boolean).join(' ')];
    },
    // Each change of the conversation while a reply streams or waits (C.live: at most once a second).
    live(history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint) {
      const same = {__type__: 'update'};
      if (!document.querySelector('#composer')?.classList.contains('busy') || !Array.isArray(history)
          || !history.length) {
        return [same, same, same, same];
      }
      const rec = C.live([history, id, title, instance,
        settingsOf(system, temperature, maxTokens, l0, roleId, endpoint)]);
      return rec ? [C.radio(rec.id), rec.id, rec.title, C.liveNote || same] : [same, same, same, same];
    },
    // Opens a saved conversation picked in the list.
    open(picked, ...record) {
      return opened(C.get(picked), 'That conversation is no longer saved in this browser.', ...record);
    },
    // On load: this tab's open conversation again (a reload keeps it), and the list.
    restore(_, ...record) { return opened(C.get(C.currentId()), '', ...record); },
    // On load, also what was typed in this tab and not sent before it reloaded (C.draft), else a link's message
    // (secondme.settings.linkMessage): one step, so that neither overwrites the other.
    load(_, history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint, message) {
      const out = S.restore(_, history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint);
      const draft = C.draft();
      return [...out, window.secondme.settings.linkMessage(draft && !String(message ?? '').trim() ? draft : message)];
    },
    newChat() { C.current(null); return [C.radio(null), [], '', '', '']; },
    rename(title, id) {
      const r = C.get(id), t = String(title ?? '').trim();
      if (!r || !t) return [C.radio(id), r?.title ?? title, ''];
      r.title = t.slice(0, 120); r.updated = Date.now();
      const note = C.put(r);
      return [C.radio(id), r.title, note];
    },
    remove(id, history, title) {
      if (!id || !confirm('Delete this conversation from this browser?')) return [C.radio(id), history, id, title, ''];
      C.remove(id); C.current(null);
      return [C.radio(null), [], '', '', 'Conversation deleted.'];
    },
    removeAll(id, history, title) {
      if (!confirm('Delete all conversations saved in this browser?')) return [C.radio(id), history, id, title, ''];
      C.clear(); C.current(null);
      return [C.radio(null), [], '', '', 'All saved conversations were deleted from this browser.'];
    },
    refresh(id) { return C.radio(id); },
    forgetCurrent() { C.current(null); return ['', '']; },
    exportMarkdown(history, title, instance) {
      const lines = [`# ${title || C.titleOf(history || [])}`, ''];
      if (instance) lines.push(`With the Second Me \`${instance}\`, exported ${new Date().toISOString()}.`, '');
      for (const m of history || []) {
        const who = m.role === 'user' ? 'You' : 'Second Me';
        const heading = window.secondmeText.written(m.metadata?.title);
        lines.push(heading ? `> **${heading}:** ${C.text(m)}` : `**${who}:**\n\n${C.text(m)}`, '');
      }
      C.download(`${(title || 'conversation').replace(/[^\w.-]+/g, '_').slice(0, 60)}.md`, 'text/markdown',
                   lines.join('\n'));
    },
    exportJson(history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint) {
      const old = id ? C.get(id) : null;
      const doc = {app: 'secondme-chat', app_version: C.version, exported_at: new Date().toISOString(),
        title: title || C.titleOf(history || []), instance_id: instance ?? '',
        settings: settingsOf(system, temperature, maxTokens, l0, roleId, endpoint),
        created: old?.created ? new Date(old.created).toISOString() : null,
        updated: old?.updated ? new Date(old.updated).toISOString() : null,
        messages: (history || []).map(m => m.metadata?.title
          ? {role: m.role, title: window.secondmeText.written(m.metadata.title), content: C.text(m)}
          : {role: m.role, content: C.text(m)})};
      C.download(`${(doc.title).replace(/[^\w.-]+/g, '_').slice(0, 60)}.json`, 'application/json',
                   JSON.stringify(doc, null, 2));
    },
    // Asks the visitor for a file and hands its text to the server's check (saved_ui.read_import) through a hidden
    // box: a file over the limit is not read, and CONFIG.tooLarge says so instead.
    pickFile() {
      return new Promise((resolve) => {
        const input = Object.assign(document.createElement('input'), {type: 'file', accept: '.json,application/json'});
        input.addEventListener('cancel', () => resolve(''));
        input.addEventListener('change', () => {
          const file = input.files?.[0];
          if (!file) return resolve('');
          if (file.size > CONFIG.maxImportBytes) return resolve(CONFIG.tooLarge + file.size);
          file.text().then(resolve, () => resolve(''));
        });
        input.click();
      });
    },
    importFile(imported, history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint) {
      let r; try { r = JSON.parse(imported || 'null'); } catch (e) { r = null; }
      if (!r) return [C.radio(id), history, id, title, instance, system, temperature, maxTokens, l0, roleId, endpoint,
                      {__type__: 'update'}];  // nothing imported: the note keeps what the check said
      // A copy beside its original (or beside an earlier import) is told apart by its title.
      const titles = new Set(C.all().map(x => x.title));
      for (let n = 1, base = r.title; titles.has(r.title); n++) r.title = `${base} (imported${n > 1 ? ' ' + n : ''})`;
      r.id = C.newId(); r.created = r.updated = Date.now(); r.app_version = C.version;
      r.rev = 1;
      const note = C.put(r); C.current(r.id);
      if (C.saved) C.seen[r.id] = r.rev;
      const s = r.settings;
      return [C.radio(r.id), r.messages, r.id, r.title, r.instance_id, s.system_prompt, s.temperature, s.max_tokens,
              s.l0, s.role_id, s.endpoint, note
              || `Imported “${window.secondmeText.literal(r.title)}” as a new conversation.`];
    },
  };
  window.secondme.saved = S;
})();
