// The settings panel (settings_ui.py, directory_ui.py): window.secondme.settings and window.secondme.directory, the
// scripts of their events.
window.secondme = window.secondme || {};
window.secondme.settings = {
  // Copies the address that opens a chat with the instance in the field: this page's address with ?instance=ID and
  // nothing else.
  copyLink(instance) {
    const link = new URL(location.origin + location.pathname);
    const id = String(instance ?? '').trim();
    if (id) link.searchParams.set('instance', id);
    const said = id ? `Link copied: ${link}` : `Link copied (no instance in it): ${link}`;
    (navigator.clipboard?.writeText(link.toString()) ?? Promise.reject()).catch(() => {});
    return said;
  },
  // ?q=TEXT puts TEXT in the message box (when it is empty), and never sends it: the visitor reads it first. The
  // address then loses q, so a reload does not put it back after it was sent. Run by the page's load step
  // (secondme.saved.load), with the draft a reload brings back.
  linkMessage(message) {
    const address = new URL(location.href), q = address.searchParams.get('q');
    if (q === null) return message;
    address.searchParams.delete('q');
    window.history.replaceState(window.history.state, '', address);
    return String(message ?? '').trim() ? message : q;
  },
};
window.secondme.directory = {
  // Browse is a picker: a pick goes to the Instance ID field and Browse is emptied; no pick changes nothing.
  pick: (picked) => (picked ? [picked, null] : [{__type__: 'update'}, {__type__: 'update'}]),
};
