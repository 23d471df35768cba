"""Second Me Chat: a Gradio page that streams replies from a Second Me.

`python app.py` serves it (GRADIO_SERVER_NAME / GRADIO_SERVER_PORT, default 127.0.0.1:7860) against
SECONDME_BASE_URL; `python app.py --demo` chats with a local demo Second Me instead. `demo` is the
Blocks that Hugging Face Spaces and `gradio app.py` look for.
"""

import sys

from secondme.web import Settings, build_app, main

demo = build_app(Settings.from_env())

if __name__ == "__main__":
    main(sys.argv[1:], demo)
