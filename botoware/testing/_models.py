"""Which botocore model answers for a call: learnt from the clients botoware covers."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, final

import botocore.session

if TYPE_CHECKING:
    from botocore.model import OperationModel, ServiceModel

    from botoware.hooks.call import Call


@final
class ServiceModels:
    """Operation models by ``(service, operation)``, for plugins that answer at before_send.

    ``before_send`` gets no model, so the plugins remember each client's service model in
    ``botoware_client_created`` (once per client, never per call).
    """

    __slots__ = ("_lock", "_operations", "_services")

    def __init__(self) -> None:
        self._services: dict[str, ServiceModel] = {}
        self._operations: dict[tuple[str, str], OperationModel] = {}
        self._lock = threading.Lock()

    def remember(self, client: Any) -> str:
        """Keep ``client``'s service model; return its hyphenized service id."""
        model: ServiceModel = client.meta.service_model
        service = model.service_id.hyphenize()
        with self._lock:
            if self._services.get(service) is not model:
                self._services[service] = model
                self._operations = {k: v for k, v in self._operations.items() if k[0] != service}
        return service

    def operation(self, call: Call) -> OperationModel:
        """The operation model of ``call``."""
        key = (call.service, call.operation)
        try:
            return self._operations[key]
        except KeyError:
            pass
        service = self._services.get(call.service) or self._load(call.service)
        model = service.operation_model(call.operation)
        self._operations[key] = model
        return model

    def _load(self, service: str) -> ServiceModel:
        # Only for clients botoware saw no creation of; most service names equal their id.
        try:
            model: ServiceModel = botocore.session.get_session().get_service_model(service)
        except Exception as exc:
            raise LookupError(
                f"botoware.testing knows no model for service {service!r}: create the client "
                "after install() so the plugin sees it."
            ) from exc
        with self._lock:
            self._services.setdefault(service, model)
        return model
