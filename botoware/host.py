"""The plugin host: one pluggy ``PluginManager`` per botocore session, and ``install()``."""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import operator
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, final

import boto3
import pluggy

from botoware import _loading, _redaction
from botoware.errors import BotowareWarning, PluginError
from botoware.hooks import bridge, specs
from botoware.hooks.markers import PROJECT_NAME
from botoware.hooks.specs import STEP_OUT

if TYPE_CHECKING:
    from types import TracebackType

    import botocore.session
    from botocore.client import BaseClient
    from pluggy import HookCaller, HookImpl

    from botoware.hooks.call import Call


logger = logging.getLogger("botoware")

_SPEC_NAMES = frozenset(
    name for name, value in vars(specs).items() if name.startswith("botoware_") and callable(value)
)
_LIFECYCLE_ORDER = (
    "botoware_credential_providers",
    "botoware_client_created",
    "botoware_run_start",
    *bridge.CALL_HOOKS,
    "botoware_run_end",
)
_DECISION_HOOKS = frozenset(
    {
        "botoware_credential_providers",
        "botoware_provide_client_params",
        "botoware_before_call",
        "botoware_choose_signer",
        "botoware_before_send",
        "botoware_needs_retry",
    }
)
_CONFIG_ATTRS = frozenset({"botoware_scope", "botoware_name"})
_PLACEMENTS = ("first", "last", "before:", "after:")


@dataclass(frozen=True)
class PluginInfo:
    """What :meth:`Installation.describe` and ``botoware plugins`` report about a plugin.

    :ivar name: the name it is registered (and blocked) under.
    :ivar source: ``"built-in"``, ``"passed in"``, or ``"<distribution> <version>"``.
    :ivar hooks: the hooks it implements, in lifecycle order.
    :ivar scope: the ``botoware_scope`` patterns it is limited to, or None for every call.
    :ivar status: ``"active"``, ``"blocked"`` or ``"failed"``.
    :ivar reason: why it is blocked or failed, else None.
    """

    name: str
    source: str
    hooks: tuple[str, ...] = ()
    scope: tuple[str, ...] | None = None
    status: str = "active"
    reason: str | None = None


# -------------------------------------------------------------------------------------------
# Checking and isolating plugins
# -------------------------------------------------------------------------------------------


def _hook_attrs(plugin: object) -> list[str]:
    return sorted(
        name for name in dir(plugin) if name.startswith("botoware_") and name not in _CONFIG_ATTRS
    )


def _scope_of(name: str, plugin: object, trusted: bool = False) -> tuple[str, ...] | None:
    scope = getattr(plugin, "botoware_scope", None)
    if scope is None:
        return None
    if isinstance(scope, str):
        scope = (scope,)
    try:
        patterns = tuple(scope)
    except TypeError:
        raise PluginError(
            f"plugin {name!r} has botoware_scope = {scope!r}; use a string or a list of "
            "strings such as ['s3.*', 'lambda.GetPolicy']."
        ) from None
    for pattern in patterns:
        service, _, operation = pattern.partition(".") if isinstance(pattern, str) else ("", "", "")
        if (
            not service
            or not service.replace("-", "").isalnum()
            or service != service.lower()
            or ("." in pattern and not (operation == "*" or operation.isalnum()))
        ):
            raise PluginError(
                f"plugin {name!r} has botoware_scope entry {pattern!r}; use 'service', "
                "'service.*' or 'service.Operation' with botocore's hyphenized service id, "
                "e.g. 's3.*' or 'lambda.GetPolicy'."
            )
    if trusted:
        # A built-in's scope is botoware's own, checked by the test suite; checking it against
        # botocore's models here would load them on every autoload install.
        return patterns
    # Checked against botocore's models; a boto3 client name maps to the service id.
    from botoware._names import canonical_key

    return tuple(
        canonical_key(p, f"plugin {name!r} has botoware_scope entry", error=PluginError, star=False)
        for p in patterns
    )


def check_plugin(name: str, source: str, plugin: object) -> tuple[str, ...]:
    """Raise :class:`PluginError` for a hook that could never run right; return the hooks.

    Built-in plugins' signatures and scopes are not inspected at install (that is most of an
    autoload's own time); tests check them as strictly as any other plugin's.
    """
    where = f"plugin {name!r} ({source})"
    hooks = _hook_attrs(plugin)
    trusted = source == _loading.BUILT_IN
    for attr in hooks:
        if attr not in _SPEC_NAMES:
            close = _loading._suggest(attr, _SPEC_NAMES)
            raise PluginError(
                f"{where} defines {attr!r}, which is no botoware hook.{close} "
                "Hook names are listed in botoware.hooks.specs."
            )
        if trusted:
            continue
        function = getattr(plugin, attr)
        if not callable(function):
            raise PluginError(f"{where} has {attr!r}, but it is not callable.")
        required = _required(function)
        _check_shape(where, attr, function, required)
        wanted = _argnames(required)
        offered = _argnames(_required(getattr(specs, attr)))
        unknown = [arg for arg in wanted if arg not in offered]
        if unknown:
            raise PluginError(
                f"{where}: {attr} asks for {', '.join(unknown)}, which the hook does not pass. "
                f"It passes: {', '.join(offered)}."
            )
    if not trusted:
        _check_specnames(where, plugin)
    _scope_of(name, plugin, trusted=trusted)
    return tuple(h for h in _LIFECYCLE_ORDER if h in hooks)


def _check_shape(
    where: str, attr: str, function: Callable[..., Any], required: list[inspect.Parameter]
) -> None:
    """Hooks botocore's synchronous, positional calls would silently never run."""
    opts = getattr(function, f"{PROJECT_NAME}_impl", None) or {}
    if inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function):
        raise PluginError(
            f"{where}: {attr} is async, but botoware calls every hook synchronously, on "
            "botocore and aiobotocore clients alike, so its body would never run. Make it a "
            "plain 'def' (hand slow work to a thread or task of your own)."
        )
    wraps = bool(opts.get("wrapper") or opts.get("hookwrapper"))
    if wraps and not inspect.isgeneratorfunction(function):
        raise PluginError(
            f"{where}: {attr} is marked as a wrapper, so it must be a generator that yields "
            "exactly once (around the other plugins' implementations)."
        )
    if inspect.isgeneratorfunction(function) and not wraps:
        raise PluginError(
            f"{where}: {attr} is a generator, so its body would never run. Return instead "
            "of yielding, or mark it @botoware.hookimpl(wrapper=True) to wrap other plugins."
        )
    keyword_only = [p.name for p in required if p.kind is p.KEYWORD_ONLY]
    if keyword_only:
        raise PluginError(
            f"{where}: {attr} takes {', '.join(keyword_only)} as keyword-only, but hooks "
            "receive their arguments positionally. Drop the '*' from its signature."
        )


def _check_specnames(where: str, plugin: object) -> None:
    """botoware finds hooks by name only; a ``hookimpl(specname=...)`` would be dropped."""
    for attr in dir(plugin):
        if attr.startswith("__"):
            continue
        try:
            opts = getattr(getattr(plugin, attr), f"{PROJECT_NAME}_impl", None)
        except Exception:  # a property that raises is no hook
            continue
        if isinstance(opts, dict) and opts.get("specname"):
            raise PluginError(
                f"{where} marks {attr!r} with hookimpl(specname={opts['specname']!r}), but "
                f"botoware finds hooks by name only. Rename it to {opts['specname']!r}."
            )


def _required(function: Callable[..., Any]) -> list[inspect.Parameter]:
    """The parameters without a default (none for builtins without a signature)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):  # builtins without a signature ask for nothing we know
        return []
    return [p for p in parameters if p.default is p.empty]


def _argnames(required: list[inspect.Parameter]) -> list[str]:
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in required if p.kind in kinds]


class _Manager(pluggy.PluginManager):
    """Accepts unmarked ``botoware_*`` functions as implementations, like pytest does."""

    def __init__(self) -> None:
        super().__init__(PROJECT_NAME)
        self.add_hookspecs(specs)

    def parse_hookspec_opts(self, module_or_class: Any, name: str) -> Any:
        if name not in _SPEC_NAMES:
            return None  # one host per session: skip the specs module's other names quickly
        return super().parse_hookspec_opts(module_or_class, name)

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        if name not in _SPEC_NAMES:
            return None  # the proxy holds hooks only; skip pluggy's static lookup of the rest
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name in _SPEC_NAMES and inspect.isroutine(getattr(plugin, name)):
            return {}
        return opts


# Where an observer's BaseException waits while pluggy runs the other plugins (hooks with
# wrappers only; direct dispatch defers it in _compile).
_DEFERRED: contextvars.ContextVar[list[BaseException] | None] = contextvars.ContextVar(
    "botoware_deferred", default=None
)


def _defer(exc: BaseException) -> None:
    """Hold ``exc`` until the other plugins ran this hook, or raise it if nothing holds it."""
    box = _DEFERRED.get()
    if box is None:
        raise exc
    box.append(exc)


def _isolate(function: Callable[..., Any], report: Callable[[str], None], hook: str) -> Any:
    @functools.wraps(function)
    def isolated(*args: Any) -> Any:
        try:
            return function(*args)
        except Exception:
            report(hook)
            return None
        except BaseException as exc:  # KeyboardInterrupt, CancelledError: the user's, later
            _defer(exc)
            return None

    # What _compile needs to call the plugin's function directly, isolating it itself.
    isolated.botoware_isolates = (function, report, hook)  # type: ignore[attr-defined]
    return isolated


def _isolate_wrapper(function: Callable[..., Any], report: Callable[[str], None], hook: str) -> Any:
    """An observer hook's wrapper whose own exceptions are logged, not raised.

    What the wrapped plugins raise still passes through unchanged, and the wrapper cannot
    replace the result: observer hooks have none that matters.
    """
    old_style = bool((getattr(function, f"{PROJECT_NAME}_impl", None) or {}).get("hookwrapper"))

    @functools.wraps(function)
    def isolated(*args: Any) -> Any:
        try:
            inner = function(*args)
            next(inner)
        except Exception:
            report(hook)
            inner = None
        except BaseException as exc:
            _defer(exc)
            inner = None
        error: BaseException | None = None
        result: Any = None
        try:
            result = yield
        except BaseException as exc:
            error = exc
        if inner is not None:
            try:
                if old_style or error is None:
                    inner.send(result)
                else:
                    inner.throw(error)
            except StopIteration:
                pass
            except Exception as exc:
                if exc is not error:
                    report(hook)
            except BaseException as exc:
                if exc is not error:
                    _defer(exc)
            else:
                report(hook)  # yielded twice
                inner.close()
        if error is not None:
            raise error
        return result

    return isolated


class _Proxy:
    """Holds a plugin's hooks for pluggy. Hashable by identity (``subset_hook_caller`` puts
    plugins in a set), which ``types.SimpleNamespace`` is not."""


def _proxy(name: str, plugin: object, report: Callable[[str, str], None]) -> object:
    """The object registered with pluggy: observer hooks wrapped so they cannot raise."""
    proxy = _Proxy()
    for attr in _hook_attrs(plugin):
        function = getattr(plugin, attr)
        if attr not in _DECISION_HOOKS:
            opts = getattr(function, f"{PROJECT_NAME}_impl", None) or {}
            isolate = (
                _isolate_wrapper if opts.get("wrapper") or opts.get("hookwrapper") else _isolate
            )
            function = isolate(function, functools.partial(report, name), attr)
        setattr(proxy, attr, function)
    return proxy


def _scope_matches(scope: tuple[str, ...] | None, service: str, operation: str) -> bool:
    if scope is None:
        return True
    return any(p in (service, f"{service}.*", f"{service}.{operation}") for p in scope)


# -------------------------------------------------------------------------------------------
# Dispatch: what each call sees of the plugins
# -------------------------------------------------------------------------------------------


@final
class _Plans:
    """The plugins registered at one moment, compiled per (hook, service, operation).

    Every call and run keeps the snapshot it started with, so a plugin uninstalled while a
    call is in flight still sees that call end, and one installed mid-call never sees an
    ending without a start. Plain implementations are called directly, in pluggy's order;
    hooks with wrappers go through pluggy itself.
    """

    __slots__ = (
        "_firstresult",
        "_hookexec",
        "_impls",
        "_plans",
        "_routes",
        "_scopes",
        "_steps",
        "_without",
    )

    def __init__(
        self,
        impls: dict[str, tuple[HookImpl, ...]],
        firstresult: dict[str, bool],
        scopes: dict[str, tuple[str, ...] | None],
        hookexec: Callable[..., Any],
    ) -> None:
        self._impls = impls
        self._firstresult = firstresult
        self._scopes = scopes
        self._hookexec = hookexec
        self._plans: dict[tuple[str, str, str], Callable[..., Any] | None] = {}
        self._routes: dict[tuple[str, str], bridge.Route] = {}
        self._without: dict[tuple[str, ...], _Plans] = {}
        self._steps: dict[tuple[tuple[str, ...], str, str], tuple[_Plans, bridge.Route]] = {}

    @classmethod
    def of(cls, pm: pluggy.PluginManager, plugins: dict[str, _Registered]) -> _Plans:
        callers = {name: getattr(pm.hook, name) for name in _SPEC_NAMES}
        return cls(
            {name: tuple(c.get_hookimpls()) for name, c in callers.items()},
            {name: bool(c.spec and c.spec.opts.get("firstresult")) for name, c in callers.items()},
            {name: reg.scope for name, reg in plugins.items()},
            pm._hookexec,
        )

    def step(
        self, names: tuple[str, ...], service: str, operation: str
    ) -> tuple[_Plans, bridge.Route]:
        """This snapshot less ``names``, and its route for one operation (both cached)."""
        key = (names, service, operation)
        try:
            return self._steps[key]
        except KeyError:
            pass
        derived = self.without(names)
        found = self._steps[key] = (derived, derived.route(service, operation))
        return found

    def without(self, names: tuple[str, ...]) -> _Plans:
        """This snapshot less the plugins that stepped out of one call (cached)."""
        try:
            return self._without[names]
        except KeyError:
            pass
        impls = {
            hook: tuple(i for i in found if i.plugin_name not in names)
            for hook, found in self._impls.items()
        }
        derived = self._without[names] = _Plans(
            impls, self._firstresult, self._scopes, self._hookexec
        )
        return derived

    def plan(self, hook: str, service: str, operation: str) -> Callable[..., Any] | None:
        key = (hook, service, operation)
        try:
            return self._plans[key]
        except KeyError:
            pass
        scopes = self._scopes
        impls = [
            impl
            for impl in self._impls[hook]
            if _scope_matches(scopes[impl.plugin_name], service, operation)
        ]
        found = _compile(hook, impls, self._firstresult[hook], self._hookexec) if impls else None
        self._plans[key] = found  # a race computes the same value twice, harmlessly
        return found

    def route(self, service: str, operation: str) -> bridge.Route:
        key = (service, operation)
        try:
            return self._routes[key]
        except KeyError:
            pass
        found = tuple(self.plan(hook, service, operation) for hook in bridge.CALL_HOOKS)
        if not any(found):
            found = bridge.NO_ROUTE
        self._routes[key] = found
        return found


def _compile(
    hook: str, impls: list[HookImpl], firstresult: bool, hookexec: Callable[..., Any]
) -> Callable[..., Any]:
    """One callable running ``impls`` with keyword arguments, as pluggy's ``_multicall`` would."""
    if any(impl.wrapper or impl.hookwrapper for impl in impls):
        if firstresult:

            def through_pluggy(**kwargs: Any) -> Any:
                return hookexec(hook, impls, kwargs, firstresult)

            return through_pluggy

        def observed_through_pluggy(**kwargs: Any) -> Any:
            box: list[BaseException] = []
            token = _DEFERRED.set(box)
            try:
                hookexec(hook, impls, kwargs, firstresult)
            finally:
                _DEFERRED.reset(token)
            if box:
                raise box[0]
            return None

        return observed_through_pluggy
    order = [(impl.function, impl.argnames, impl.plugin_name) for impl in reversed(impls)]
    if len(order) == 1:
        [(function, argnames, name)] = order
        alone = bridge.StepOut((name,))
        isolates = getattr(function, "botoware_isolates", None)
        if len(argnames) == 1 and isolates is not None:
            # The commonest plan (one observer taking only ``call``) in one frame: the
            # plugin's own function, isolated here rather than by its _isolate wrapper.
            # Alone, nothing else must run first, so a BaseException goes straight up.
            [argname] = argnames
            raw, report, reported = isolates

            def one_observer(**kwargs: Any) -> Any:
                try:
                    result = raw(kwargs[argname])
                except Exception:
                    report(reported)
                    return None
                return alone if result is STEP_OUT else result

            return one_observer
        if len(argnames) == 1:
            [argname] = argnames

            def one_argument(**kwargs: Any) -> Any:
                result = function(kwargs[argname])
                return alone if result is STEP_OUT else result

            return one_argument
        arguments = operator.itemgetter(*argnames) if argnames else None

        def one(**kwargs: Any) -> Any:
            result = function() if arguments is None else function(*arguments(kwargs))
            return alone if result is STEP_OUT else result

        return one

    if firstresult:

        def decide(**kwargs: Any) -> Any:
            leaving: list[str] | None = None
            for function, argnames, name in order:
                result = function(*[kwargs[name] for name in argnames])
                if result is None:
                    continue
                if result is STEP_OUT:
                    leaving = [name] if leaving is None else [*leaving, name]
                else:
                    return result
            return None if leaving is None else bridge.StepOut(tuple(leaving))

        return decide

    def observe(**kwargs: Any) -> Any:
        # A BaseException (KeyboardInterrupt, SystemExit, CancelledError) raised by one
        # plugin reaches the user only after every other plugin ran this hook: a later
        # plugin may hold per-call state (a span, an attached context) that must end.
        leaving: list[str] | None = None
        raised: BaseException | None = None
        for function, argnames, name in order:
            try:
                result = function(*[kwargs[name] for name in argnames])
            except BaseException as exc:
                if raised is None:
                    raised = exc
                continue
            if result is STEP_OUT:
                leaving = [name] if leaving is None else [*leaving, name]
        if raised is not None:
            raise raised
        return None if leaving is None else bridge.StepOut(tuple(leaving))

    return observe


# -------------------------------------------------------------------------------------------
# The per-session host
# -------------------------------------------------------------------------------------------


@dataclass
class _Registered:
    original: object
    proxy: object
    source: str
    hooks: tuple[str, ...]
    scope: tuple[str, ...] | None
    providers: list[str]
    # How many active installations asked for this plugin: it leaves at zero.
    owners: int = 1


@final
class _SessionHost:
    """Everything botoware registered on one botocore session and its clients."""

    def __init__(self, session: botocore.session.Session) -> None:
        self._session_ref = weakref.ref(session)
        self._pm = _Manager()
        self._lock = threading.RLock()
        self._plugins: dict[str, _Registered] = {}
        self._registry = bridge.registry_of(session)
        self._clients: weakref.WeakSet[BaseClient] = weakref.WeakSet()
        # Registered while attached, never taken away before detach: a call in flight keeps
        # every hook of the plugins it started with, its ending included (see _Plans).
        self._handlers: dict[str, tuple[str, bridge.Handler]] = {}
        self.plans = _Plans.of(self._pm, {})
        self.in_flight: set[Call] = set()
        self.draining = False
        # Services whose botocore retry handler botoware holds (None: every service).
        self._retry_services: frozenset[str] | None = frozenset()
        self._retry_handlers: weakref.WeakKeyDictionary[object, bridge.Handler] = (
            weakref.WeakKeyDictionary()
        )
        self._prepared: weakref.WeakSet[BaseClient] = weakref.WeakSet()
        self._reported: set[tuple[str, str]] = set()
        self._attached = False
        self._prefix = f"botoware-{id(self):x}"
        self._late_start_uid = f"{self._prefix}-start-late"
        self._hook_handlers = bridge.make_handlers(self, session)
        # Clients whose _make_api_call something else wraps: their calls start at
        # provide-client-params (see bridge.start_handler), everyone else's before any event.
        self._late: weakref.WeakSet[BaseClient] = weakref.WeakSet()
        self._page_iterator_cls = bridge.make_page_iterator_class(self)

    # ---- what the bridge asks --------------------------------------------------------

    def retry_fallback(self, endpoint: object) -> bridge.Handler | None:
        return self._retry_handlers.get(endpoint)

    def prepare(self, client: BaseClient) -> None:
        """First call of a covered client: botocore has finished setting it up by now."""
        with self._lock:
            self._prepared.add(client)
            self._place_retries(client)

    def drained(self) -> None:
        """The last call in flight returned after the last plugin left: detach now."""
        with self._lock:
            if self.draining and not self.in_flight:
                self._detach()

    def report(self, plugin: str, hook: str) -> None:
        """Log an observer hook's exception: loudly the first time, then at debug level."""
        key = (plugin, hook)
        level = logging.DEBUG if key in self._reported else logging.ERROR
        self._reported.add(key)
        logger.log(
            level,
            "botoware plugin %r raised in %s; the AWS call continues without it",
            plugin,
            hook,
            exc_info=_redaction.loggable(sys.exc_info()[1]),  # no user values in the log
        )

    # ---- plugins --------------------------------------------------------------------

    @property
    def session(self) -> botocore.session.Session | None:
        return self._session_ref()

    def names(self) -> list[str]:
        return list(self._plugins)

    def info(self, name: str) -> PluginInfo:
        reg = self._plugins[name]
        return PluginInfo(name, reg.source, reg.hooks, reg.scope)

    def add(self, loaded: Iterable[tuple[str, str, object]]) -> list[str]:
        """Register the plugins; return the names this installation now owns a share of.

        A plugin already registered (by name, or the same object under another name) is not
        registered twice: the installation shares it, and it stays until every installation
        that asked for it is uninstalled.
        """
        added: list[str] = []
        owned: list[str] = []
        with self._lock:
            for name, source, plugin in loaded:
                found = self._plugins.get(name)
                if found is None:
                    found_name = next(
                        (n for n, reg in self._plugins.items() if reg.original is plugin), None
                    )
                    if found_name is not None:
                        name, found = found_name, self._plugins[found_name]
                if found is not None:
                    if name not in owned:
                        found.owners += 1
                        owned.append(name)
                    continue
                hooks = check_plugin(name, source, plugin)
                proxy = _proxy(name, plugin, self.report)
                try:
                    self._pm.register(proxy, name=name)
                except pluggy.PluginValidationError as exc:
                    self._release(owned)
                    raise PluginError(f"plugin {name!r} ({source}): {exc}") from None
                self._plugins[name] = _Registered(
                    plugin,
                    proxy,
                    source,
                    hooks,
                    _scope_of(name, plugin, source == _loading.BUILT_IN),
                    [],
                )
                added.append(name)
                owned.append(name)
            if not added:
                return owned
            try:
                self._insert_providers(added)
            except BaseException:
                self.remove(owned)
                raise
            self.draining = False
            if not self._attached:
                self._attach()
            else:
                self._changed()
                if self._caller_for_plugins("botoware_client_created", added) is not None:
                    for client in list(self._clients):
                        self._client_created(client, added)
        return owned

    def _release(self, names: Iterable[str]) -> None:
        for name in names:
            self._plugins[name].owners -= 1

    def remove(self, names: Iterable[str]) -> None:
        """Give back one share of each plugin; a plugin nobody owns any more leaves."""
        with self._lock:
            for name in names:
                reg = self._plugins.get(name)
                if reg is None:
                    continue
                reg.owners -= 1
                if reg.owners > 0:
                    continue
                del self._plugins[name]
                self._pm.unregister(name=name)
                self._remove_providers(reg)
            self._changed()
            if not self._plugins and self._attached:
                # Calls in flight end in the plugins they started with; detach after them.
                self.draining = True
                if not self.in_flight:
                    self._detach()

    def _caller_for_plugins(self, hook: str, names: list[str]) -> HookCaller | None:
        hook_caller: HookCaller = getattr(self._pm.hook, hook)
        impls = hook_caller.get_hookimpls()
        others = [i.plugin for i in impls if i.plugin_name not in names]
        if len(others) == len(impls):
            return None
        return self._pm.subset_hook_caller(hook, others) if others else hook_caller

    def _changed(self) -> None:
        """Plugins changed: handlers first, then the snapshot calls from now on start with.

        In that order a call that starts with a new plugin finds every handler in place, so
        the plugin sees the whole call; one that started before never sees it at all.
        """
        plans = _Plans.of(self._pm, self._plugins)
        if self._attached:
            self._sync_handlers()
        self.plans = plans

    # ---- botocore handlers ------------------------------------------------------------

    def _wanted_handlers(self) -> dict[str, tuple[str, bridge.Handler]]:
        """One handler per implemented hook, on the unscoped event (see bridge.event_name)."""
        wanted = dict(self._handlers)
        implemented = {
            hook for hook in bridge.CALL_HOOKS if getattr(self._pm.hook, hook).get_hookimpls()
        }
        if implemented & set(bridge.TERMINAL_HOOKS):
            # Both terminal handlers or none: after-call marks the call ended so that
            # an error raised afterwards (ClientError) is not a second ending.
            implemented |= set(bridge.TERMINAL_HOOKS)
        if bridge.START_HOOK in implemented:
            # Registered on late-starting clients only (see _registers).
            wanted[self._late_start_uid] = (
                bridge.event_name(bridge.START_HOOK),
                bridge.start_handler,
            )
        for hook in implemented - {bridge.START_HOOK}:
            wanted[f"{self._prefix}-{hook}"] = (bridge.event_name(hook), self._hook_handlers[hook])
        return wanted

    def _registers(self, uid: str, client: BaseClient | None) -> bool:
        """Whether handler ``uid`` belongs on ``client``'s emitter (None: the session's)."""
        return uid != self._late_start_uid or (client is not None and client in self._late)

    def _emitters(self) -> list[tuple[Any, BaseClient | None]]:
        """The session's emitter and each client's, with the client (None: the session)."""
        session = self.session
        emitters: list[tuple[Any, BaseClient | None]] = (
            [] if session is None else [(bridge.session_emitter(session), None)]
        )
        return emitters + [(bridge.client_emitter(c), c) for c in list(self._clients)]

    def _sync_handlers(self) -> None:
        wanted = self._wanted_handlers()
        fresh = {uid: pair for uid, pair in wanted.items() if uid not in self._handlers}
        if fresh:
            for emitter, client in self._emitters():
                for uid, (event, handler) in fresh.items():
                    if self._registers(uid, client):
                        bridge.register(emitter, event, handler, uid)
            self._handlers = wanted
        impls = self._pm.hook.botoware_needs_retry.get_hookimpls()
        scopes = [self._plugins[impl.plugin_name].scope for impl in impls]
        if any(scope is None for scope in scopes):
            self._retry_services = None
        else:
            self._retry_services = frozenset(
                pattern.split(".")[0] for scope in scopes for pattern in scope or ()
            )
        for client in list(self._prepared):
            self._place_retries(client)

    def _place_retries(self, client: Any) -> None:
        """Hold botocore's retry handler for services a needs_retry plugin covers."""
        services = self._retry_services
        if services is None or bridge.service_of(client)[0] in services:
            self._take_retries(client)
        else:
            self._give_back_retries(client)

    def _take_retries(self, client: Any) -> None:
        endpoint = bridge.endpoint_of(client)
        if endpoint not in self._retry_handlers:
            handler = bridge.take_retry_handler(client)
            if handler is not None:
                self._retry_handlers[endpoint] = handler

    def _give_back_retries(self, client: Any) -> None:
        handler = self._retry_handlers.pop(bridge.endpoint_of(client), None)
        if handler is not None:
            bridge.give_back_retry_handler(client, handler)

    # ---- clients --------------------------------------------------------------------

    def _attach(self) -> None:
        session = self.session
        if session is None:
            return
        self._attached = True
        self._changed()
        self._registry.listener = self._adopt_new
        for client in list(self._registry.clients):
            self._adopt(client)

    def _detach(self) -> None:
        self._attached = False
        self.draining = False
        self._registry.listener = None
        for emitter, _ in self._emitters():
            for uid, (event, _) in self._handlers.items():
                bridge.unregister(emitter, event, uid)
        for client in list(self._clients):
            self._give_back_retries(client)
            bridge.uncover(client)
        self._handlers = {}
        self._retry_services = frozenset()
        self._clients = weakref.WeakSet()
        self._prepared = weakref.WeakSet()
        self._late = weakref.WeakSet()

    def _adopt_new(self, client: BaseClient) -> None:
        with self._lock:
            if self._attached:
                self._adopt(client)

    def _adopt(self, client: BaseClient) -> None:
        if client in self._clients or bridge.is_covered(client):
            return
        self._clients.add(client)
        late = bridge.starts_late(client)
        if late:
            self._late.add(client)
        for uid, (event, handler) in self._handlers.items():
            if self._registers(uid, client):
                bridge.register(bridge.client_emitter(client), event, handler, uid)
        bridge.cover(self, client, self._page_iterator_cls, not late)
        self._client_created(client, None)

    def _client_created(self, client: BaseClient, names: list[str] | None) -> None:
        if names is None:
            caller: HookCaller | None = self._pm.hook.botoware_client_created
        else:
            caller = self._caller_for_plugins("botoware_client_created", names)
        if caller is not None:
            caller(client=client)

    def clients(self) -> list[BaseClient]:
        return list(self._clients)

    # ---- credentials ----------------------------------------------------------------

    def _insert_providers(self, names: list[str]) -> None:
        session = self.session
        impls = self._pm.hook.botoware_credential_providers.get_hookimpls()
        impls = [impl for impl in impls if impl.plugin_name in names]
        if session is None or not impls:
            return
        for impl in impls:
            reg = self._plugins[impl.plugin_name]
            offered: Any = impl.function(*[{"session": session}[a] for a in impl.argnames])
            for provider, placement in offered or ():
                bridge.place_provider(session, provider, placement, impl.plugin_name)
                reg.providers.append(provider.METHOD)
        bridge.forget_credentials(session)

    def _remove_providers(self, reg: _Registered) -> None:
        session = self.session
        if session is None or not reg.providers:
            return
        bridge.remove_providers(session, reg.providers)
        bridge.forget_credentials(session)


_HOSTS: weakref.WeakKeyDictionary[botocore.session.Session, _SessionHost] = (
    weakref.WeakKeyDictionary()
)
_HOSTS_LOCK = threading.Lock()


def _host_for(session: botocore.session.Session) -> _SessionHost:
    with _HOSTS_LOCK:
        host = _HOSTS.get(session)
        if host is None:
            host = _HOSTS[session] = _SessionHost(session)
        return host


# -------------------------------------------------------------------------------------------
# install() and Installation
# -------------------------------------------------------------------------------------------


@final
class Installation:
    """What one :func:`install` call registered; :meth:`uninstall` takes exactly that away.

    Also a context manager: ``with botoware.install(session, plugins=[p]): ...``.
    """

    def __init__(
        self,
        loaded: list[tuple[str, str, object]],
        skipped: list[PluginInfo],
    ) -> None:
        self._loaded = loaded
        self._skipped = skipped
        # Weak: a session dropped while a process-wide install is active leaves nothing here.
        self._entries: weakref.WeakKeyDictionary[_SessionHost, list[str]] = (
            weakref.WeakKeyDictionary()
        )
        self._initializer: Callable[[botocore.session.Session], None] | None = None
        self._lock = threading.Lock()
        self._active = True

    def _install_into(self, session: botocore.session.Session) -> None:
        host = _host_for(session)
        names = host.add(self._loaded)
        with self._lock:
            if not self._active:  # uninstalled meanwhile (a session made in another thread)
                host.remove(names)
                return
            self._entries.setdefault(host, []).extend(names)

    @property
    def plugins(self) -> list[str]:
        """Names of the plugins this installation registered (or asked for, if present)."""
        return [name for name, _, _ in self._loaded]

    def describe(self) -> list[PluginInfo]:
        """Per plugin: name, source, hooks in lifecycle order, scope, status.

        Active plugins come in the order pluggy calls them (last registered first, unless
        ``tryfirst``/``trylast`` say otherwise), then blocked and failed ones.
        """
        infos = [
            PluginInfo(
                name,
                source,
                check_plugin(name, source, plugin),
                _scope_of(name, plugin, source == _loading.BUILT_IN),
            )
            for name, source, plugin in reversed(self._loaded)
        ]
        return infos + self._skipped

    def uninstall(self) -> None:
        """Remove every plugin and handler this installation added; idempotent."""
        with self._lock:
            if not self._active:
                return
            self._active = False
            entries = list(self._entries.items())
            self._entries = weakref.WeakKeyDictionary()
            if self._initializer is not None:
                bridge.off_new_sessions(self._initializer)
                self._initializer = None
        for host, names in entries:
            host.remove(names)

    def __enter__(self) -> Installation:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "active" if self._active else "uninstalled"
        return f"<botoware.Installation {state} plugins={self.plugins}>"


def _load(
    plugins: Iterable[object], autoload: bool
) -> tuple[list[tuple[str, str, object]], list[PluginInfo]]:
    active, blocked = _loading.candidates(plugins, autoload)
    loaded: list[tuple[str, str, object]] = []
    skipped = [PluginInfo(c.name, c.source, status="blocked", reason=why) for c, why in blocked]
    for cand in active:
        try:
            plugin = cand.load()
            if not check_plugin(cand.name, cand.source, plugin) and cand.entry_point is not None:
                raise PluginError(
                    f"it resolves to {plugin!r}, which has no botoware_* hooks; point the "
                    "entry point at a module, class or instance that defines them (botoware "
                    "does not call factories)"
                )
        except Exception as exc:
            if cand.entry_point is None:
                raise
            reason = f"{type(exc).__name__}: {exc}"
            warnings.warn(
                f"botoware skipped plugin {cand.name!r} from {cand.source} "
                f"(entry point {cand.entry_point.value!r}): {reason}",
                BotowareWarning,
                stacklevel=3,
            )
            skipped.append(PluginInfo(cand.name, cand.source, status="failed", reason=reason))
            continue
        loaded.append((cand.name, cand.source, plugin))
    return loaded, skipped


def install(
    session: boto3.Session | botocore.session.Session | None = None,
    *,
    plugins: Iterable[object] = (),
    autoload: bool = True,
) -> Installation:
    """Install botoware plugins on a session and every client it has or will create.

    :param session: a ``boto3.Session`` or ``botocore.session.Session``; None installs
        process-wide: into boto3's default session (created if needed) and every session
        created afterwards.
    :param plugins: plugin objects (modules, classes, instances with ``botoware_*`` hook
        implementations) and/or names of built-in plugins.
    :param autoload: also load the default built-in plugins and the ``botoware`` entry
        points (``BOTOWARE_DISABLE_PLUGIN_AUTOLOAD=1`` turns this off).
    :raises PluginError: a plugin with an unknown hook, a bad argument name or scope.
    :raises ConfigurationError: a bad environment variable.
    """
    loaded, skipped = _load(plugins, autoload)
    installation = Installation(loaded, skipped)
    if session is not None:
        installation._install_into(bridge.botocore_session(session))
        return installation

    def initializer(new_session: botocore.session.Session) -> None:
        installation._install_into(new_session)

    installation._initializer = initializer
    bridge.on_new_sessions(initializer)
    default = bridge.default_session()
    if default is None:
        bridge.create_default_session()
    else:
        installation._install_into(default)
    return installation


class Session(boto3.Session):
    """A ``boto3.Session`` that can install botoware on itself::

    session = botoware.Session(region_name="eu-west-1")
    with session.install("policies"):
        ...
    """

    def install(self, *plugins: object, autoload: bool = True) -> Installation:
        """Same as ``botoware.install(self, plugins=plugins, autoload=autoload)``."""
        return install(self, plugins=plugins, autoload=autoload)
