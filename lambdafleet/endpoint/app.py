"""The embedded endpoint: moto on one loopback port, with the data plane in front of it."""

import functools
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lambdafleet.endpoint import (
    destinations,
    emulator,
    function_urls,
    http_api,
    iam_enforcement,
    lambda_invoke,
    moto_patches,
    recursion,
    s3_notification_check,
)
from lambdafleet.endpoint.async_invoke import AsyncInvoker
from lambdafleet.endpoint.event_sources import EventSources
from lambdafleet.endpoint.fleet import Fleet
from lambdafleet.endpoint.http_server import BodyLimit, Limits, WsgiApp
from lambdafleet.endpoint.schedules import Scheduler
from lambdafleet.runtime.debug import Debugger


@dataclass
class LocalEndpoint:
    """A running endpoint; `url` is what AWS_ENDPOINT_URL should be."""

    server: emulator.Emulator
    fleet: Fleet
    invoker: AsyncInvoker
    event_sources: EventSources
    scheduler: Scheduler
    sessions: iam_enforcement.Sessions

    @property
    def url(self) -> str:
        """The endpoint's base URL."""
        return self.server.url

    def drain(self, timeout_s: float, interrupted: threading.Event | None = None) -> int:
        """Wait for the queued asynchronous invocations (their retries and destinations included) to finish, while
        still serving (their functions call the endpoint), `timeout_s` at most or until `interrupted` is set;
        returns how many had not finished."""
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = self.invoker.drain(max(0.0, min(0.2, deadline - time.monotonic())))
            if not remaining or time.monotonic() >= deadline or (interrupted is not None and interrupted.is_set()):
                return remaining

    def stop(self) -> None:
        """Stop serving, then stop every execution environment; queued asynchronous invocations are dropped
        (`drain` first to run them)."""
        self.scheduler.stop()
        self.event_sources.stop()
        self.server.stop()
        self.invoker.close()
        self.fleet.close()


def start(
    cache_dir: Path,
    *,
    port: int = emulator.DEFAULT_PORT,
    host: str = emulator.HOST,
    retry_delay_s: float = 1.0,
    debuggers: Mapping[str, Debugger] | None = None,
) -> LocalEndpoint:
    """Serve moto plus the Lambda, HTTP API, S3-notification and event-source data planes on `host:port`.

    `cache_dir` holds the provisioned Lambda runtimes; `debuggers` the functions (by name) that run under a
    debugger (also `fleet.debuggers`, later). moto's state is per process, so one endpoint per process.
    Raises OSError when the port cannot be bound.
    """
    sessions = iam_enforcement.Sessions()
    fleet = Fleet(cache_dir, sessions=sessions, debuggers=debuggers)
    invoker = AsyncInvoker(fleet, retry_delay_s=retry_delay_s)
    plane = moto_patches.DataPlane(
        invoke=functools.partial(lambda_invoke.invoke, fleet, invoker.submit),
        invoke_async=invoker.submit,
        discard=fleet.discard,
        endpoint_url=lambda: fleet.endpoint_url,
    )
    moto_patches.apply_all(plane)
    gateway = http_api.HttpApiGateway(fleet, cache_dir)
    urls = function_urls.FunctionUrls(fleet)

    def layers(app: WsgiApp) -> WsgiApp:
        enforced = iam_enforcement.wrap(s3_notification_check.wrap(lambda_invoke.wrap(app)), sessions)
        return function_urls.wrap(recursion.wrap(http_api.wrap(enforced, gateway)), urls)

    try:
        server = emulator.start(port, host, wrap=layers, limits=Limits(_body_limit))
    except OSError:
        invoker.close()
        fleet.close()
        raise
    # Functions run on this machine: loopback reaches the endpoint whatever address it listens on.
    fleet.endpoint_url = f"http://127.0.0.1:{server.server.port}"
    # Queues, streams and schedules: pollers and timers that invoke what terraform apply wired up.
    event_sources = EventSources(
        fleet.invoke,
        lambda target, record: destinations.send(target, record, invoker.submit),
        retry_delay_s=retry_delay_s,
        role_call=fleet.service_call,
    )
    event_sources.start()
    scheduler = Scheduler(invoker.submit)
    scheduler.start()
    return LocalEndpoint(server, fleet, invoker, event_sources, scheduler, sessions)


def _body_limit(method: str, path: str, host: str) -> BodyLimit | None:
    """Invoke, HTTP API and function URL bodies are bounded by what Lambda takes; other APIs by the server's limit."""
    return (
        lambda_invoke.body_limit(method, path, host)
        or http_api.body_limit(method, path, host)
        or function_urls.body_limit(method, path, host)
    )
