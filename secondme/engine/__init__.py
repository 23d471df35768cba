"""What decides a reply, with no Gradio in it: the line per instance and the app's own (lines), the pacing of
updates (streaming), the metrics, the conversation's shape and the words the page says (conversation, texts).
The web page (``secondme.web``) only adapts it."""
