"""Warm execution environments for the functions moto holds, run by lambdafleet.runtime.

A function's environments run the zip moto stores with the configuration moto stores; when either changes
(UpdateFunctionCode, UpdateFunctionConfiguration), the next invocation gets fresh environments.
"""

import base64
import contextlib
import dataclasses
import functools
import logging
import shutil
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction, lambda_backends
from moto.awslambda.utils import make_function_arn

from lambdafleet.endpoint import cloudwatch, moto_patches
from lambdafleet.endpoint.concurrency import Reservations
from lambdafleet.errors import UserError
from lambdafleet.runtime import FunctionPool, FunctionSpec, InvokeResult, images, task_root
from lambdafleet.runtime.debug import Debugger
from lambdafleet.runtime.pool_host import HostGone, Pending, PoolHost, RemotePool
from lambdafleet.runtime.task_root import Archive

LOG = logging.getLogger("lambdafleet.endpoint")


class RoleSessions(Protocol):
    """Issues credentials of an execution role (lambdafleet.endpoint.iam_enforcement.Sessions)."""

    def issue(self, function_name: str, role_arn: str, account_id: str, region: str) -> dict[str, str]:
        """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN of a session of `role_arn`."""
        ...

    def service_call(
        self, function_name: str, role_arn: str, account_id: str, region: str, action: str, resource: str
    ) -> bool:
        """Whether the role allows Lambda's `action` on `resource` for the function; recorded."""
        ...


class EnvironmentsLost(LambdaClientError):
    """The pool host exited while the invocation ran (the endpoint stopping, or a crash): its environment is gone,
    and so is its answer. Lambda's answer to a failure of its own."""

    code = 500

    def __init__(self, message: str) -> None:
        super().__init__("ServiceException", message)


class NotAnswered(Exception):
    """The function did not answer within the time its caller waits (an HTTP API's integration timeout): it runs
    on, and its logs are written when it ends."""


class _Late(Exception):
    def __init__(self, deployment: "_Deployment", pending: Pending) -> None:
        super().__init__("no answer yet")
        self.deployment = deployment
        self.pending = pending


class UnrunnableFunction(LambdaClientError):
    """The function cannot run on this machine (an image function, or a runtime it lacks)."""

    code = 502

    def __init__(self, message: str) -> None:
        super().__init__("InvalidRuntimeException", message)


def spec_of(function: LambdaFunction) -> FunctionSpec:
    """The runtime-relevant configuration moto holds for `function` (a version's, for a published one)."""
    logging_config = moto_patches.logging_config(function)
    return FunctionSpec(
        name=function.function_name,
        runtime=function.run_time or "",
        architecture=function.architectures[0],
        handler=function.handler or "",
        memory_size=int(function.memory_size),
        timeout=float(function.timeout),
        ephemeral_storage=int(function.ephemeral_storage),
        environment=dict(function.environment_vars or {}),
        logging_format=logging_config.get("LogFormat", "Text"),
        version=str(function.version),
        log_group=log_group_of(function),
    )


def invoked_function_arn(function: LambdaFunction, qualifier: str | None) -> str:
    """The ARN as the caller invoked it: unqualified, or with the version or alias it named. A call that did
    not come through Invoke (an event source, a destination) names the version moto resolved."""
    unqualified = make_function_arn(function.region, function.account_id, function.function_name)
    if qualifier is None and str(function.version) != "$LATEST":
        qualifier = str(function.version)
    return f"{unqualified}:{qualifier}" if qualifier else unqualified


def log_group_of(function: LambdaFunction) -> str:
    """Where the function's logs go: its LoggingConfig's group, else Lambda's default."""
    logging_config = moto_patches.logging_config(function)
    return logging_config.get("LogGroup", f"/aws/lambda/{function.function_name}")


def _fingerprint(function: LambdaFunction, spec: FunctionSpec, debugger: Debugger | None) -> tuple[object, ...]:
    """What a deployment's environments depend on, compared as is: hashing it (JSON and SHA-256) on every
    invocation cost more than the comparison (issue 18)."""
    layers = tuple(layer["Arn"] for layer in function.layers)
    image = None
    if function.package_type == "Image":
        config = function.image_config  # replaced by UpdateFunctionConfiguration: new environments
        overrides = (tuple(config.entry_point or ()), tuple(config.cmd or ()), config.working_directory)
        image = (function.code.get("ImageUri"), overrides)
    return (function.function_arn, function.code_sha_256, spec, function.role, debugger, layers, image)


def _invoke(deployment: "_Deployment", arguments: dict[str, Any], wait_s: float | None) -> InvokeResult:
    pool = deployment.pool
    if wait_s is not None and isinstance(pool, RemotePool):
        return pool.invoke(wait_s=wait_s, **arguments)
    return pool.invoke(**arguments)


@dataclass
class _Deployment:
    fingerprint: tuple[object, ...]
    pool: FunctionPool | RemotePool
    streams_created: set[str] = field(default_factory=set)  # an environment's stream, once per environment


class Fleet:
    """One pool of warm environments per deployed function (and version), replaced when it is redeployed."""

    def __init__(
        self,
        cache_dir: Path,
        *,
        max_environments: int = 4,
        sessions: RoleSessions | None = None,
        debuggers: Mapping[str, Debugger] | None = None,
        pool_host: bool = True,
    ) -> None:
        """`cache_dir` holds the provisioned runtimes (lambdafleet.build.paths.cache_root); `sessions` issues each
        pool the credentials of its function's execution role (without it: placeholder keys); `debuggers` names
        the functions (by FunctionName) whose environments start under a debugger, and its port. With `pool_host`,
        the pools run in a process of their own (pool_host.py), so their work uses another core than the
        endpoint's HTTP serving; a debugged function's pool stays in this process."""
        self._sessions = sessions
        self._host = PoolHost() if pool_host else None
        # Read at each invocation: a change reaches the function's next one (its environments start afresh).
        self.debuggers: dict[str, Debugger] = dict(debuggers or {})
        self.endpoint_url = ""  # what the functions' AWS SDKs call: set once the endpoint listens
        self._cache_dir = cache_dir
        self.cache_dir = cache_dir  # also where the local JWT issuer keeps its key
        self._max_environments = max_environments
        self._deployments: dict[str, _Deployment] = {}
        self._reservations = Reservations()  # reserved concurrency, held while an invocation runs
        self._mutex = threading.Lock()
        self._closed = False
        self._staging = Path(tempfile.mkdtemp(prefix="lambdafleet-local-"))

    def invoke(
        self,
        function: LambdaFunction,
        payload: bytes,
        client_context: Mapping[str, Any] | None = None,
        *,
        invoked_arn: str | None = None,
        request_id: str | None = None,
        trace_id: str | None = None,
        answer_within_s: float | None = None,
    ) -> InvokeResult:
        """Run one synchronous invocation and write its logs to CloudWatch Logs, in the stream of the
        environment that ran it; `trace_id` is its X-Ray trace header (recursion.trace_for), default a new one.
        With `answer_within_s` (for a function where `bounds_waits`), raises NotAnswered when the function has not
        answered by then: it runs on, holding its reserved concurrency, and its logs are written when it ends.

        `invoked_arn` is the ARN the caller named (with its alias or version; default: the function's own,
        qualified with its version when it is a published one),
        `request_id` an id the caller already gave out. Raises UnrunnableFunction when the function cannot run here,
        concurrency.Throttled when its reserved concurrency is all in use, EnvironmentsLost when the pool host
        exited (the endpoint stopping, or a crash) before the function answered.
        """
        deployment = self._deployment(function)  # one that cannot run here says so, whatever its reservation
        arguments: dict[str, Any] = {
            "payload": payload,
            "client_context": client_context,
            "invoked_function_arn": invoked_arn or invoked_function_arn(function, None),
            "request_id": request_id,
            "trace_id": trace_id,
        }
        reservation = contextlib.ExitStack()  # held until the invocation ends, even past answer_within_s
        reservation.enter_context(self._reservations.admitted(function))
        try:
            deployment, result = self._run(function, deployment, arguments, answer_within_s)
        except _Late as late:
            finish = functools.partial(self._finish_late, function, late.deployment, late.pending, reservation)
            threading.Thread(target=finish, name="late-invocation", daemon=True).start()
            raise NotAnswered(f"{function.function_name}: no answer within {answer_within_s:g} s") from None
        except BaseException:
            reservation.close()
            raise
        reservation.close()
        self._record(function, deployment, result)
        return result

    def bounds_waits(self, function_name: str) -> bool:
        """Whether `invoke` can stop waiting at `answer_within_s` (the pool runs in the pool host); otherwise a
        caller with a deadline waits on a thread of its own."""
        return self._host is not None and function_name not in self.debuggers

    def _finish_late(
        self, function: LambdaFunction, deployment: "_Deployment", pending: Pending, reservation: contextlib.ExitStack
    ) -> None:
        """The end of an invocation its caller stopped waiting for: its logs are written all the same."""
        try:
            result: InvokeResult = pending.finish()
        except HostGone as gone:
            self._forget(function.function_arn, deployment)
            LOG.warning("%s: %s", function.function_name, gone)
            return
        except Exception:
            LOG.exception("%s: the invocation failed", function.function_name)
            return
        finally:
            reservation.close()
        self._record(function, deployment, result)

    def _record(self, function: LambdaFunction, deployment: "_Deployment", result: InvokeResult) -> None:
        """Write the invocation's logs to its environment's stream, as Lambda does with the function's role."""
        group = log_group_of(function)
        stream_arn = f"arn:aws:logs:{function.region}:{function.account_id}:log-group:{group}:log-stream:"
        if result.log_stream not in deployment.streams_created:  # Lambda creates the stream with the role
            deployment.streams_created.add(result.log_stream)
            self.service_call(function, "logs:CreateLogStream", stream_arn + result.log_stream)
        self.service_call(function, "logs:PutLogEvents", stream_arn + result.log_stream)
        cloudwatch.write(function.account_id, function.region, group, result.log_stream, result.log_events)
        LOG.info("%s %s %.1f ms", function.function_name, result.status, result.duration_ms)

    def _run(
        self, function: LambdaFunction, deployment: _Deployment, arguments: dict[str, Any], wait_s: float | None
    ) -> tuple[_Deployment, InvokeResult]:
        """The invocation's result, and the deployment that ran it: when the pool host had exited before the event
        reached it, a new host runs it (a cold start). Raises _Late when `wait_s` passed without an answer."""
        try:
            return deployment, _invoke(deployment, arguments, wait_s)
        except Pending as pending:
            raise _Late(deployment, pending) from None
        except HostGone as gone:
            self._forget(function.function_arn, deployment)  # the next invocation opens it again
            if gone.delivered or self._closed:
                raise EnvironmentsLost(f"{function.function_name}: {gone}") from None
        deployment = self._deployment(function)
        try:
            return deployment, _invoke(deployment, arguments, wait_s)
        except Pending as pending:
            raise _Late(deployment, pending) from None
        except HostGone as gone:
            self._forget(function.function_arn, deployment)
            raise EnvironmentsLost(f"{function.function_name}: {gone}") from None

    @property
    def sessions(self) -> RoleSessions | None:
        """The issuer of the functions' role credentials (None: placeholder keys, nothing enforced)."""
        return self._sessions

    def service_call(self, function: LambdaFunction, action: str, resource: str) -> bool:
        """Whether the function's role lets Lambda do `action` on `resource` for it (True without sessions);
        recorded for `build.py access`. The logs are written either way: Lambda would drop them silently."""
        if self._sessions is None:
            return True
        return self._sessions.service_call(
            function.function_name, function.role, function.account_id, function.region, action, resource
        )

    def debugged(self, function_name: str) -> bool:
        """Whether the function runs under a debugger (so callers with a timeout of their own lift it too)."""
        return function_name in self.debuggers

    def _deployment(self, function: LambdaFunction) -> _Deployment:
        spec = spec_of(function)
        debugger = self.debuggers.get(function.function_name)
        fingerprint = _fingerprint(function, spec, debugger)
        key = function.function_arn
        with self._mutex:
            current = self._deployments.get(key)
            if current is not None and current.fingerprint == fingerprint:
                return current
            replacement = _Deployment(fingerprint, self._open(function, spec, debugger))
            self._deployments[key] = replacement
        if current is not None:
            current.pool.close()  # busy environments finish their invocation first
        return replacement

    def _open(
        self, function: LambdaFunction, spec: FunctionSpec, debugger: Debugger | None
    ) -> FunctionPool | RemotePool:
        if function.package_type == "Image":
            zip_path, sha256, spec = self._image(function, spec)
        elif function.code_bytes:
            sha256 = base64.b64decode(function.code_sha_256).hex()
            zip_path = self._stage(function.code_bytes, sha256)
        else:
            raise UnrunnableFunction(f"{function.function_name}: the function has no code")
        credentials = None
        if self._sessions is not None:  # as Lambda does: the environment runs as the function's role
            credentials = self._sessions.issue(
                function.function_name, function.role, function.account_id, function.region
            )
        arguments: dict[str, Any] = {
            "spec": spec,
            "zip_path": zip_path,
            "cache_dir": self._cache_dir,
            "region": function.region,
            "credentials": credentials,
            "extra_env": {"AWS_ENDPOINT_URL": self.endpoint_url},
            "max_environments": self._max_environments,
            "source": f"function {function.function_name}",
            "zip_sha256": sha256,
            "layers": self._layers(function),
        }
        try:
            if self._host is not None and debugger is None:
                return self._host.open(**arguments)
            return FunctionPool(**arguments, debugger=debugger)
        except UserError as error:
            raise UnrunnableFunction(str(error)) from None
        except HostGone as gone:
            raise EnvironmentsLost(f"{function.function_name}: {gone}") from None
        finally:
            for staged in self._staging.iterdir():
                staged.unlink(missing_ok=True)  # the pool unpacked them

    def _stage(self, code: bytes, sha256: str) -> Path:
        """A zip Lambda holds, as a file for the pool; not written when its unpacked copy is already cached."""
        path = self._staging / f"{sha256}.zip"
        if task_root.cached(sha256, self._cache_dir.resolve()) is None:
            path.write_bytes(code)
        return path

    def _layers(self, function: LambdaFunction) -> list[Archive]:
        """The function's layer versions, in the order Lambda extracts them into /opt (moto holds their zips)."""
        backend = lambda_backends[function.account_id][function.region]
        versions = []
        for layer in function.layers:
            version = backend.layers_versions_by_arn(layer["Arn"])
            if version is None or not version.code_bytes:
                raise UnrunnableFunction(f"{function.function_name}: layer version {layer['Arn']} has no content")
            versions.append(version)
        merged = task_root.layers_key([version.code_digest for version in versions])
        if task_root.cached(merged, self._cache_dir.resolve()) is not None:  # nothing to unzip: no zip to write
            return [Archive(self._staging / f"{version.code_digest}.zip", version.code_digest) for version in versions]
        return [
            Archive(self._stage(version.code_bytes, version.code_digest), version.code_digest) for version in versions
        ]

    def _image(self, function: LambdaFunction, spec: FunctionSpec) -> tuple[Path, str | None, FunctionSpec]:
        """An image function's task root and configuration: the build recorded under the ImageUri's tag, run with
        its base image's Python and the image's ENTRYPOINT, CMD and WORKDIR or those ImageConfig overrides
        (images.start: an entrypoint that cannot run here fails every invocation, as on AWS)."""
        uri = str(function.code.get("ImageUri") or "")
        task = images.find(self._cache_dir.resolve(), uri)
        if task is None:
            raise UnrunnableFunction(
                f"{function.function_name}: image {uri} was not built here (no `python build.py` output has its "
                "tag); build the function in a checkout sharing this cache, or use LocalStack for other images"
            )
        zip_path, sha256 = Path(task.task_zip), task.task_sha256
        if sha256 is None or task_root.cached(sha256, self._cache_dir.resolve()) is None:
            found = Archive(zip_path).digest() if zip_path.is_file() else None
            if found is None or (sha256 is not None and found != sha256):
                raise UnrunnableFunction(
                    f"{function.function_name}: {zip_path} no longer holds the task root of image {uri}: rebuild "
                    f"with `python build.py {task.function}`"
                )
            sha256 = found
        config = function.image_config
        handler, failure = images.start(task, config.entry_point or [], config.cmd or [])
        spec = dataclasses.replace(
            spec,
            runtime=task.runtime,
            handler=handler,
            working_directory=config.working_directory or "",
            start_failure=failure,
        )
        return zip_path, sha256, spec

    def _forget(self, key: str, deployment: _Deployment) -> None:
        """Drop `deployment` (its pool went with the host), unless it was replaced meanwhile."""
        with self._mutex:
            if self._deployments.get(key) is deployment:
                del self._deployments[key]

    def discard(self, function_arn: str) -> None:
        """Stop the environments of a deleted function (all its versions when the ARN is unqualified)."""
        with self._mutex:
            keys = [key for key in self._deployments if key == function_arn or key.startswith(function_arn + ":")]
            gone = [self._deployments.pop(key) for key in keys]
        for deployment in gone:
            deployment.pool.close()

    def close(self) -> None:
        """Stop every environment and delete the staging folder."""
        with self._mutex:
            self._closed = True
            deployments, self._deployments = list(self._deployments.values()), {}
        for deployment in deployments:
            deployment.pool.close()
        if self._host is not None:
            self._host.close()
        shutil.rmtree(self._staging, ignore_errors=True)
