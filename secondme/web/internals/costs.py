"""What Gradio does per event or per request that this page does not need (issue 20, speed), each measured in
benchmarks/README.md: part of ``secondme.web.internals`` (re-exported there), held to the same pinned Gradio."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["skip_absent_matplotlib", "skip_disconnect_polls", "skip_unused_analytics", "cache_type_hints",
           "cache_signatures", "inline_login_check", "create_generators_inline"]

T = TypeVar("T")


def skip_absent_matplotlib() -> None:
    """Gradio runs every step of every event inside ``utils.MatplotlibBackendMananger``, whose enter and exit
    each ``import matplotlib``. Where matplotlib is not installed, each such import searches the whole of
    ``sys.path`` again (a failed import is not cached): about 120 µs each, so a tenth of the app's CPU
    while many replies stream. ``sys.modules["matplotlib"] = None`` makes that import fail at once, as
    Python documents; nothing changes where matplotlib is installed."""
    if "matplotlib" not in sys.modules and importlib.util.find_spec("matplotlib") is None:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]


def _disconnect_is_listened_for(scope: Any) -> bool:
    """Whether Starlette's ``StreamingResponse`` serving ``scope`` listens for the client's disconnect itself:
    a ``queue/data`` stream under an ASGI spec before 2.4 (uvicorn's is 2.3), where it waits on ``receive`` in
    a task of its own and cancels the stream the moment the disconnect comes."""
    if not str(scope.get("path", "")).endswith("/queue/data"):
        return False
    spec = str(scope.get("asgi", {}).get("spec_version", "2.0"))
    try:
        return tuple(int(part) for part in spec.split(".")) < (2, 4)
    except ValueError:
        return False


def skip_disconnect_polls() -> None:
    """Gradio's ``queue/data`` stream asks ``Request.is_disconnected()`` before each message it sends, and each
    ask opens and cancels an anyio cancel scope around a ``receive`` through every middleware: 7% of the app's
    CPU while many replies stream. The response already listens for the disconnect in a task of its own and
    cancels the stream when it comes (Gradio's stream then cleans the session's events in its ``except``
    branch, as it does today whenever the disconnect comes while it waits for a message). So for that stream
    alone the ask answers what is already known; every other request asks as before."""
    from starlette.requests import Request

    if getattr(Request.is_disconnected, "_secondme", False):
        return
    original = Request.is_disconnected

    async def is_disconnected(self: Request) -> bool:
        if not self._is_disconnected and _disconnect_is_listened_for(self.scope):
            return False
        return await original(self)

    is_disconnected._secondme = True  # type: ignore[attr-defined]
    Request.is_disconnected = is_disconnected  # type: ignore[method-assign, assignment]


def skip_unused_analytics(blocks: Any) -> None:
    """Gradio's queue keeps a record of its last 10,000 events for its monitoring dashboard, and at the end of
    every event rebuilds a summary of them all with pandas, in a worker thread (``compute_analytics_summary``):
    1.8 ms of CPU an event with a hundred records, 8 ms with 10,000, and a thread hop. The page launches with
    monitoring off (``enable_monitoring=False``: its endpoints answer 403), so nothing reads either: the queue
    keeps one record and the summary is not rebuilt, without the thread hop."""
    from gradio import queueing

    if getattr(blocks, "enable_monitoring", True):
        return
    queue = blocks._queue

    def summary(records: Any) -> Any:
        return queue.cached_event_analytics_summary

    summary._inline = True  # type: ignore[attr-defined]
    queue.compute_analytics_summary = summary
    queue.ANALYTICS_MAX_EVENTS = 1
    queue.event_analytics.clear()
    if getattr(queueing.run_sync, "_secondme", False):
        return
    run_in_thread = queueing.run_sync

    async def run_sync(fn: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(fn, "_inline", False):
            return fn(*args)
        return await run_in_thread(fn, *args, **kwargs)

    run_sync._secondme = True  # type: ignore[attr-defined]
    queueing.run_sync = run_sync  # type: ignore[assignment]


def _kept(known: Any, key: Any, work_out: Callable[[], T]) -> T:
    """What ``known`` (a WeakKeyDictionary) keeps for ``key``, worked out and kept the first time; for a key that
    cannot be weakly referred to, worked out each time."""
    try:
        value = known.get(key)
    except TypeError:
        return work_out()
    if value is None:
        value = known[key] = work_out()
    return value


def cache_type_hints() -> None:
    """Gradio asks ``typing.get_type_hints`` of an event's function on every call (``helpers.special_args``, for
    a ``gr.Request`` parameter), and with ``from __future__ import annotations`` that compiles and evaluates every
    annotation again: a tenth of a reply's start while a hundred arrive. A function's hints do not change once
    it is defined, so they are kept per function (weakly: a function that goes takes its hints with it); each
    caller gets its own copy."""
    import weakref

    from gradio import utils

    if getattr(utils.get_type_hints, "_secondme", False):
        return
    uncached = utils.get_type_hints
    known: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()

    def get_type_hints(fn: Any) -> dict[str, Any]:
        # A bound method's hints are its function's.
        return dict(_kept(known, getattr(fn, "__func__", fn), lambda: uncached(fn)))

    get_type_hints._secondme = True  # type: ignore[attr-defined]
    utils.get_type_hints = get_type_hints


class _KnownSignatures:
    """``inspect`` for ``gradio.helpers``, but for ``signature(fn)``, kept per function: bound methods by their
    function (any instance's bound signature is the same), others by themselves, weakly."""

    _secondme = True

    def __init__(self, module: Any) -> None:
        import weakref

        self._module = module
        self._known: dict[bool, weakref.WeakKeyDictionary[Any, inspect.Signature]] = {
            True: weakref.WeakKeyDictionary(), False: weakref.WeakKeyDictionary()}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def signature(self, fn: Any, *args: Any, **kwargs: Any) -> inspect.Signature:
        if args or kwargs:
            return self._module.signature(fn, *args, **kwargs)
        func = getattr(fn, "__func__", None)
        bound = func is not None and getattr(fn, "__self__", None) is not None
        # A ValueError (no signature) is raised as before, and nothing kept.
        return _kept(self._known[bound], func if bound else fn, lambda: self._module.signature(fn))


def cache_signatures() -> None:
    """Gradio asks ``inspect.signature`` of an event's function at every call (``helpers.special_args``, to find
    a ``gr.Request`` or progress parameter), twice a reply (the join's validator, then the event): 3% of a reply's
    start. A function's signature does not change once it is defined, so ``gradio.helpers`` (and nothing else)
    is given an ``inspect`` whose ``signature`` keeps it per function; a Signature is immutable, so callers can
    share it."""
    from gradio import helpers

    if getattr(helpers.inspect, "_secondme", False):
        return
    helpers.inspect = _KnownSignatures(inspect)  # type: ignore[assignment]


def inline_login_check(app: Any) -> None:
    """Gradio guards its routes with ``login_check``, a plain function, so FastAPI runs it in a worker thread for
    every request (the queue's ``join`` and ``data`` for each reply): a thread hop, and while the app is busy a wait
    for the GIL and for the event loop's next turn. It only compares a user with the app's auth, so each route is
    given a coroutine that does the same in its place: in the route's ``dependencies`` (from which FastAPI builds
    what serves an included router's routes), in its dependant, and in what FastAPI already built for an included
    router. Called before the server serves (``uvicorn_options``). (Not through FastAPI's ``dependency_overrides``:
    with any override there, FastAPI builds every dependency of every request anew.)"""
    from dataclasses import replace

    from fastapi.routing import APIRoute

    inline: dict[Any, Any] = {}

    def coroutine(check: Any) -> Any:
        if check not in inline:
            inline[check] = _inline(check)
        return inline[check]

    def sync_check(call: Any) -> bool:
        return getattr(call, "__name__", "") == "login_check" and not inspect.iscoroutinefunction(call)

    def swap(dependant: Any) -> None:
        for dependency in dependant.dependencies:
            if sync_check(dependency.call):
                dependency.call = coroutine(dependency.call)
            swap(dependency)

    def walk(routes: Any) -> None:
        for route in routes:
            if isinstance(route, APIRoute):
                route.dependencies = [replace(d, dependency=coroutine(d.dependency)) if sync_check(d.dependency) else d
                                      for d in route.dependencies]
                swap(route.dependant)
            included = getattr(route, "original_router", None)  # an included router (FastAPI's _IncludedRouter)
            if included is not None:
                walk(included.routes)
                for context in getattr(route, "_effective_candidates", None) or ():  # what serves its routes
                    if getattr(context, "dependant", None) is not None:
                        swap(context.dependant)

    walk(app.router.routes)


def _inline(check: Any) -> Any:
    """``check`` as a coroutine with the same parameter (the user, ``Depends(get_current_user)``)."""
    signature = inspect.signature(check)

    async def login_check(user: Any = None) -> None:
        return check(user)

    # What FastAPI reads to find the parameter's own dependency (annotations left out: nothing to evaluate).
    login_check.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()],
        return_annotation=inspect.Signature.empty)
    return login_check


def create_generators_inline() -> None:
    """Gradio starts an event whose function is not a coroutine function in a worker thread
    (``Blocks.call_function``: ``anyio.to_thread.run_sync(fn, ...)``), and an async generator function is not one,
    so each reply's start took a thread hop (and, while the app is busy, a wait for the GIL and for the event loop's
    next turn) only to create its generator: calling an async generator function runs none of its code. anyio's
    ``run_sync`` is given that case inline; everything else still goes to a worker thread."""
    import anyio.to_thread

    if getattr(anyio.to_thread.run_sync, "_secondme", False):
        return
    in_thread = anyio.to_thread.run_sync

    async def run_sync(func: Any, *args: Any, **kwargs: Any) -> Any:
        if inspect.isasyncgenfunction(func):
            return func(*args)  # the generator object: nothing of it has run yet
        return await in_thread(func, *args, **kwargs)

    run_sync._secondme = True  # type: ignore[attr-defined]
    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]
