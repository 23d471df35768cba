"""Compare: one message to two Second Mes (or to one, with two settings), both replies streaming side by
side at the same time, each with its own stats line, Stop and Retry.

Each side is a conversation of its own, streamed by the same controller path as the main chat
(``pane`` "a" or "b" names it, so that Stop on one side reports that side's reply). A side has its own
instance ID; its system prompt, temperature and max tokens are the main settings' unless the side
overrides them (its "Settings that differ", blank: as in Settings). L0 retrieval, role ID and endpoint
are always the main settings'. Send moves the message to a hidden field, empties the box and clicks a
hidden trigger in the browser; both sides then read it, at once. A side's Stop shows while that side
streams (the ``busy`` class on its column). A comparison is saved in the browser like a conversation
(``static/compare.js``; saved_ui opens, exports, imports and deletes it).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any

import gradio as gr

from ..engine.conversation import Message
from .controller import ChatController, History
from .i18n import t
from .page import Page
from .scripts import call

__all__ = ["create", "create_triggers", "wire", "SIDES", "OVERRIDES", "resolve"]

SIDES = ("a", "b")
OVERRIDES = ("system_prompt", "temperature", "max_tokens")  # what a side may set apart from the main settings


def _number(value: Any) -> Any:
    """A number typed in an override's box as a number (the validator refuses what is not one)."""
    if not isinstance(value, str):
        return value
    try:
        number = float(value.strip())
    except ValueError:
        return value
    return int(number) if number.is_integer() else number


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def resolve(own: Sequence[Any], main: Sequence[Any]) -> list[Any]:
    """A side's system prompt, temperature and max tokens: its own where it set one (not blank), else the main's.
    Its temperature and max tokens are typed in boxes of text (a number box cannot stay blank)."""
    system_prompt, temperature, max_tokens = (m if _blank(o) else o for o, m in zip(own, main, strict=True))
    return [system_prompt, temperature if _blank(own[1]) else _number(temperature),
            max_tokens if _blank(own[2]) else _number(max_tokens)]


def turn(side: str) -> tuple[str, ...]:
    """The names of one side's inputs after the conversation: the controller's TURN with the side's own
    instance and overrides, then the main settings the overrides fall back to."""
    return (f"{side}_instance_id", *(f"{side}_{name}" for name in OVERRIDES), "l0", "role_id", "endpoint",
            *OVERRIDES)


class Side:
    """The controller's handlers and validators for one side: its replies are remembered under its own name,
    and its overrides resolved against the main settings. A validator's answer about a resolved setting is
    shown at the field it came from (the side's override, or the main setting)."""

    def __init__(self, ctl: ChatController, name: str) -> None:
        self.ctl, self.name = ctl, name

    @staticmethod
    def _turn(values: Sequence[Any]) -> tuple[Any, Any, Any, Any, Any, Any, Any]:
        """The controller's TURN from a side's values: its instance, its settings resolved, the shared ones."""
        system_prompt, temperature, max_tokens = resolve(values[1:4], values[7:10])
        return values[0], system_prompt, temperature, max_tokens, values[4], values[5], values[6]

    @staticmethod
    def _placed(answers: list[dict[str, Any]], values: Sequence[Any], before: int) -> list[dict[str, Any]]:
        """The controller's answers for (…before, instance, system, temperature, max tokens, l0, role, endpoint),
        spread over the side's inputs (…before, instance, 3 own, l0, role, endpoint, 3 main)."""
        fine = gr.validate(True, "")
        own = values[before + 1:before + 4]
        resolved = answers[before + 1:before + 4]
        taken = [not _blank(o) for o in own]
        return [*answers[:before + 1], *(a if k else fine for a, k in zip(resolved, taken, strict=True)),
                *answers[before + 4:], *(fine if k else a for a, k in zip(resolved, taken, strict=True))]

    async def validate_send(self, message: Any, history: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                            max_tokens: Any, l0: Any, role_id: Any, endpoint: Any, main_system_prompt: Any,
                            main_temperature: Any, main_max_tokens: Any,
                            request: gr.Request | None = None) -> list[dict[str, Any]]:
        values = [instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint, main_system_prompt,
                  main_temperature, main_max_tokens]
        answers = await self.ctl.validate_send(message, history, *self._turn(values), request=request)
        return self._placed(answers, [message, history, *values], 2)

    async def validate_rerun(self, history: Any, instance_id: Any, system_prompt: Any, temperature: Any,
                             max_tokens: Any, l0: Any, role_id: Any, endpoint: Any, main_system_prompt: Any,
                             main_temperature: Any, main_max_tokens: Any,
                             request: gr.Request | None = None) -> list[dict[str, Any]]:
        values = [instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint, main_system_prompt,
                  main_temperature, main_max_tokens]
        answers = await self.ctl.validate_rerun(history, *self._turn(values), request=request)
        return self._placed(answers, [history, *values], 1)

    async def respond(self, message: str, history: History, instance_id: str, system_prompt: Any, temperature: Any,
                      max_tokens: Any, l0: bool, role_id: str, endpoint: str, main_system_prompt: str,
                      main_temperature: float, main_max_tokens: float,
                      request: gr.Request) -> AsyncGenerator[list[Message], None]:
        values = self._turn([instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint,
                             main_system_prompt, main_temperature, main_max_tokens])
        async for update in self.ctl.respond(message, history, *values, request=request, pane=self.name):
            yield update

    async def retry(self, history: History, instance_id: str, system_prompt: Any, temperature: Any,
                    max_tokens: Any, l0: bool, role_id: str, endpoint: str, main_system_prompt: str,
                    main_temperature: float, main_max_tokens: float,
                    request: gr.Request) -> AsyncGenerator[list[Message], None]:
        values = self._turn([instance_id, system_prompt, temperature, max_tokens, l0, role_id, endpoint,
                             main_system_prompt, main_temperature, main_max_tokens])
        async for update in self.ctl.retry(history, *values, request=request, pane=self.name):
            yield update

    def mark_stopped(self, history: Any, request: gr.Request) -> Any:
        return self.ctl.mark_stopped(history, request, self.name)


# The scripts of the events are static/compare.js's (secondme.compare): Send (or Enter) takes the message when
# no side is still replying and starts both sides (a hidden trigger each); a side that ended, failed or was
# stopped hides its Stop and gives back a message it never showed; retry shows its side's Stop.
def _side_call(name: str, side: str) -> str:
    """An event's ``js=`` that calls ``secondme.compare.<name>`` with the side's name first."""
    return f"(...a) => secondme.compare.{name}('{side}', ...a)"


def create(page: Page) -> None:
    settings = page.settings
    gr.Markdown(t("compare_intro"), elem_id="compare-intro")
    with gr.Row(elem_id="compare-row", equal_height=False):
        for side in SIDES:
            with gr.Column(min_width=300, elem_id=f"compare-{side}", elem_classes=["compare-side"]):
                where = "left" if side == "a" else "right"
                # The side's label is its instance field (or, on a locked page, its name), above the replies.
                gr.Markdown(t(where), visible=page.locked, elem_classes=["compare-label"])
                page.add(f"{side}_instance_id", gr.Textbox(
                    label=t(f"{where}_instance"), value=settings.instance_id, max_lines=1,
                    elem_id=f"{side}-instance-id", elem_classes=["compare-label"], visible=not page.locked))
                with gr.Accordion(t("compare_same"), open=False, elem_id=f"{side}-overrides",
                                  elem_classes=["compare-overrides"]) as overrides:
                    page.add(f"{side}_overrides", overrides)
                    page.add(f"{side}_system_prompt", gr.Textbox(
                        label=t("system_prompt"), value="", placeholder=t("as_in_settings"), lines=1, max_lines=4,
                        elem_id=f"{side}-system-prompt"))
                    with gr.Row():
                        page.add(f"{side}_temperature", gr.Textbox(
                            label=t("temperature"), placeholder=t("as_in_settings"), max_lines=1, min_width=100,
                            elem_id=f"{side}-temperature"))
                        page.add(f"{side}_max_tokens", gr.Textbox(
                            label=t("max_tokens"), placeholder=t("as_in_settings"), max_lines=1, min_width=100,
                            elem_id=f"{side}-max-tokens"))
                page.add(f"{side}_history", gr.Chatbot(
                    label=t(where), show_label=False, elem_id=f"{side}-conversation", height="46vh",
                    min_height=240, buttons=["copy"], sanitize_html=True, allow_tags=False, autoscroll=True,
                    feedback_options=None))
                page.add(f"{side}_stop", gr.Button(t("stop"), variant="stop", size="sm", elem_id=f"{side}-stop",
                                                   elem_classes=["compare-stop"]))
    with gr.Row(elem_id="compare-composer"):
        page.add("cmp_message", gr.Textbox(label=t("message"), placeholder=t("compare_message_placeholder"),
                                           lines=1, max_lines=6, scale=5, min_width=160, elem_id="compare-message"))
        page.add("cmp_send", gr.Button(t("send"), variant="primary", scale=0, min_width=88, elem_id="compare-send"))
    page.add("cmp_pending", gr.Textbox(visible=False))


def create_triggers(page: Page) -> None:
    """Buttons the browser's scripts click: start each side; open the comparison the browser has picked."""
    for side in SIDES:  # one each: the events of one trigger run one after the other
        page.add(f"{side}_go", gr.Button("go", elem_id=f"compare-go-{side}", elem_classes=["hidden-trigger"]))
    page.add("cmp_open", gr.Button("open", elem_id="compare-open", elem_classes=["hidden-trigger"]))
    page.add("cmp_live", gr.Button("live", elem_id="compare-live", elem_classes=["hidden-trigger"]))


def side_names(side: str) -> tuple[str, ...]:
    """What a side's conversation is saved with: its history, instance and overrides."""
    return (f"{side}_history", f"{side}_instance_id", *(f"{side}_{name}" for name in OVERRIDES))


RECORD = (*side_names("a"), *side_names("b"))


def wire(page: Page, demo: Any) -> None:
    ctl, settings = page.ctl, page.settings
    streaming: dict[str, Any] = {
        "concurrency_limit": settings.event_concurrency, "concurrency_id": "secondme-reply", "show_progress": "hidden",
        "api_visibility": "undocumented", "preprocess": False, "postprocess": False,
    }
    js_only: dict[str, Any] = {"queue": False, "api_visibility": "undocumented", "show_progress": "hidden"}
    message, pending = page["cmp_message"], page["cmp_pending"]
    record, saved = page.get(*RECORD), [page["chats"], page["note"]]
    gr.on([message.submit, page["cmp_send"].click], None,
          [message, pending, *record, *page.get("l0", "role_id", "endpoint", *OVERRIDES)], [message, pending],
          js=call("compare.take"), **js_only)
    running: list[Any] = []
    for side in SIDES:
        handlers = Side(ctl, side)
        history = page[f"{side}_history"]
        names = turn(side)
        started = [
            page[f"{side}_go"].click(handlers.respond, [pending, history, *page.get(*names)], history,
                                 validator=handlers.validate_send, **streaming),
            history.retry(handlers.retry, [history, *page.get(*names)], history, validator=handlers.validate_rerun,
                          js=_side_call("busy", side), **streaming),
        ]
        running += started
        idle = _side_call("idle", side)
        for event in started:  # a refused event runs its failure steps only
            for step in (event.then, event.failure):
                step(None, [message, pending, history], message, js=idle, **js_only).then(
                    None, record, saved, js=call("compare.save"), **js_only)
        page[f"{side}_stop"].click(None, None, None, cancels=started, api_visibility="undocumented").then(
            handlers.mark_stopped, history, history, queue=False, api_visibility="undocumented",
            show_progress="hidden").then(None, [message, pending, history], message, js=idle, **js_only).then(
            None, record, saved, js=call("compare.save"), **js_only).then(None, js=call("compare.focus"), **js_only)
        # Each change only asks for a save at most once a second: the save takes both conversations, which
        # Gradio would copy for the script on every streamed update.
        history.change(None, None, None, js=call("compare.tick"), **js_only)
        own = page.get(*(f"{side}_{name}" for name in OVERRIDES))
        for field in own:
            field.change(None, own, page[f"{side}_overrides"], js=call("compare.differ"), **js_only)
    for side in SIDES:  # clearing a side starts a new comparison (the cleared one stays saved)
        page[f"{side}_history"].clear(None, None, None, cancels=running, api_visibility="undocumented").then(
            None, js=_side_call("cleared", side), **js_only)
    page["cmp_live"].click(None, record, saved, js=call("compare.live"), **js_only)
    opened = record
    page["cmp_open"].click(None, None, opened, js=call("compare.open"), cancels=running, **js_only)
    demo.load(None, None, opened, js=call("compare.open"), **js_only)
