// System prompt presets (presets_ui.py): window.secondmePresets, the built-in ones (window.secondmeConfig.presets)
// and the visitor's own, kept in this browser; and window.secondme.presets, the events of the preset controls.
(() => {
  const KEY = 'secondme.presets', {builtIn: BUILT_IN, messages: MESSAGES} = window.secondmeConfig.presets;
  const lang = () => window.secondmeLang?.() ?? 'en';  // page.js
  const P = {
    say(key, name) { return MESSAGES[lang()][key].replace('{name}', name ?? ''); },
    mine() {
      try {
        const v = JSON.parse(localStorage.getItem(KEY) || '[]');
        return Array.isArray(v) ? v.filter(p => typeof p?.name === 'string' && typeof p?.prompt === 'string') : [];
      } catch (e) { return []; }
    },
    save(list) { try { localStorage.setItem(KEY, JSON.stringify(list)); return true; } catch (e) { return false; } },
    choices() {
      return [...BUILT_IN.map(([key, names]) => [names[lang()][0], 'built-in:' + key]),
              ...P.mine().map(p => ['★ ' + p.name, 'mine:' + p.name])];
    },
    update(value) { return {__type__: 'update', choices: P.choices(), value: value ?? null}; },
    prompt(id) {
      if (String(id).startsWith('mine:')) return P.mine().find(p => 'mine:' + p.name === id)?.prompt ?? null;
      const found = BUILT_IN.find(([key]) => 'built-in:' + key === id);
      return found ? found[1][lang()][1] : null;
    },
  };
  window.secondmePresets = P;
})();

window.secondme = window.secondme || {};
window.secondme.presets = {
  load: () => window.secondmePresets.update(null),
  pick: (id, system) => window.secondmePresets.prompt(id) ?? system,
  save(system, id) {
    const P = window.secondmePresets, prompt = String(system ?? '').trim();
    if (!prompt) { alert(P.say('empty')); return P.update(id); }
    const suggested = String(id).startsWith('mine:') ? id.slice(5) : prompt.slice(0, 32);
    const name = (window.prompt(P.say('name'), suggested) ?? '').trim().slice(0, 60);
    if (!name) return P.update(id);
    const mine = P.mine().filter(p => p.name !== name);
    mine.push({name, prompt});
    if (!P.save(mine)) alert(P.say('no_storage'));
    return P.update('mine:' + name);
  },
  remove(id) {
    const P = window.secondmePresets;
    if (!String(id).startsWith('mine:')) { alert(P.say('pick')); return P.update(id); }
    const name = id.slice(5);
    if (!confirm(P.say('delete', name))) return P.update(id);
    P.save(P.mine().filter(p => p.name !== name));
    return P.update(null);
  },
};
