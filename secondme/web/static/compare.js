// Compare (compare_ui.py): window.secondme.compare, the scripts of its events.
window.secondme = window.secondme || {};
window.secondme.compare = {
  // Moves the message to the hidden field both sides read, and empties the box, when there is one to send.
  take(message) {
    const text = String(message ?? '');
    if (!text.trim()) return [text, ''];
    return ['', text];
  },
};
