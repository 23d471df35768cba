// The Roundtable tab (roundtable_ui.py): window.secondme.roundtable, the scripts of its events.
window.secondme = window.secondme || {};
window.secondme.roundtable = {
  // A roundtable is saved with the conversations (saved.js's store, in the browser) when it ends or is stopped: an
  // entry of kind "roundtable" with its settings. Opening it fills this tab in again; the Chat tab shows it too,
  // which is how it is exported (Markdown or JSON) like any conversation.
  save(history, id, instances, topic, rounds, host) {
    const C = window.secondmeChats;
    if (!C || !Array.isArray(history) || history.length < 2) return id;
    const old = id ? C.get(id) : null, now = Date.now();
    const about = String(topic ?? '').trim().replace(/\s+/g, ' ');
    const rec = {id: id || C.newId(), kind: 'roundtable',
      title: old?.title || `Roundtable: ${about.length > 36 ? about.slice(0, 35) + '…' : about}`,
      instance_id: null, settings: {}, roundtable: {instances, topic, rounds, host}, messages: history,
      created: old?.created ?? now, updated: now, app_version: C.version};
    C.put(rec);
    document.querySelector('#refresh-chats')?.click();
    return rec.id;
  },
  open(picked, history, id, instances, topic, rounds, host) {
    const r = window.secondmeChats?.get(picked);
    if (r?.kind !== 'roundtable') return [history, id, instances, topic, rounds, host];
    const saved = r.roundtable || {};
    document.querySelector('#roundtable-tab-button')?.click();
    return [r.messages || [], r.id, saved.instances ?? '', saved.topic ?? '', saved.rounds ?? rounds, saved.host ?? ''];
  },
  // An instance picked in Browse joins the list (once), and Browse is emptied.
  add(picked, current) {
    if (!picked) return [current, null];
    const ids = String(current ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (!ids.includes(picked)) ids.push(picked);
    return [ids.join(', '), null];
  },
};
