"""Second Me Chat: placeholder until the web app lands."""
